//! Tenant samplers (and event handlers, through the same upload path) through `frameflow
//! serve`, as an author meets them: the template
//! uploaded with `PUT /v1/samplers/{name}`, listed, dry-run, used in a job, replaced and
//! removed; junk, truncated, core-module, wrong-world, impure, over-size and misnamed
//! uploads refused with a 4xx that says why; another tenant sees none of it; two uploads of
//! one name at once leave one whole component; and a sampler that loops or hoards memory
//! fails its job within the deadline while another tenant keeps being served.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use frameflow_testkit::http_client::{request, Body, HttpResponse};
use frameflow_testkit::pattern::pattern_video;
use serde_json::{json, Value};
use sha2::Digest;

use crate::on_both_stores;
use crate::server::{Backend, ServerProcess, ServerSetup, JOBS_ROUTES};

const ALICE: &str = "key-of-alice-0123";
const BOB: &str = "key-of-bob-0123";
const KEYS: &str = "[api_keys]\n\"key-of-alice-0123\" = \"alice\"\n\"key-of-bob-0123\" = \"bob\"\n";

fn put(addr: SocketAddr, key: &str, name: &str, bytes: &[u8]) -> HttpResponse {
    request(addr, "PUT", &format!("/v1/samplers/{name}"), &[("x-api-key", key), ("content-type", "application/wasm")], Body::Sized(bytes))
}

fn call(addr: SocketAddr, key: &str, method: &str, path: &str, body: Option<Value>) -> HttpResponse {
    match body {
        Some(b) => request(addr, method, path, &[("x-api-key", key), ("content-type", "application/json")], Body::Sized(&serde_json::to_vec(&b).unwrap())),
        None => request(addr, method, path, &[("x-api-key", key)], Body::None),
    }
}

fn upload_video(addr: SocketAddr, key: &str, name: &str) -> String {
    let bytes = std::fs::read(pattern_video(name).path).unwrap();
    let r = request(addr, "POST", &format!("/v1/videos?name={name}"), &[("x-api-key", key)], Body::Sized(&bytes));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()["key"].as_str().unwrap().to_string()
}

fn refused(r: &HttpResponse, status: u16, code: &str, says: &str) {
    let body = String::from_utf8_lossy(&r.body);
    assert_eq!(r.status, status, "{code}: {body}");
    assert_eq!(r.error_code(), code, "{body}");
    let message = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains(says), "{code}: '{message}' should say '{says}'");
}

fn wait_for_job(addr: SocketAddr, key: &str, id: &str, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let job = call(addr, key, "GET", &format!("/v1/jobs/{id}"), None).json();
        if matches!(job["state"].as_str(), Some("succeeded" | "failed" | "stopped")) {
            return job;
        }
        assert!(started.elapsed() < limit, "job not finished after {limit:?}: {job}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

on_both_stores!(a_sampler_is_uploaded_checked_dry_run_used_and_removed);

fn a_sampler_is_uploaded_checked_dry_run_used_and_removed(backend: Backend) {
    let server = ServerProcess::start("samplers", ServerSetup { extra_manifest: JOBS_ROUTES, settings: KEYS, backend, ..ServerSetup::default() });
    let addr = server.addr;
    let template = std::fs::read(frameflow_test_components::sampler_template()).unwrap();
    let video = upload_video(addr, ALICE, "h264_bframes_gop250.mp4");

    // Upload, replace, list, describe.
    let created = put(addr, ALICE, "every-nth", &template);
    assert_eq!(created.status, 201, "{}", String::from_utf8_lossy(&created.body));
    assert_eq!(created.header("location"), Some("/v1/samplers/every-nth"));
    assert_eq!(put(addr, ALICE, "every-nth", &template).status, 200, "a second upload replaces");
    let listed = call(addr, ALICE, "GET", "/v1/samplers", None).json();
    let entry = |name: &str| listed["samplers"].as_array().unwrap().iter().find(|s| s["name"] == name).cloned();
    let mine = entry("every-nth").expect("the upload is listed");
    assert_eq!(mine["builtin"], false);
    assert_eq!(mine["size"], template.len());
    assert_eq!(mine["sha256"].as_str().unwrap(), hex::encode(sha2::Sha256::digest(&template)));
    assert_eq!(entry("random-clip").expect("built-ins are listed")["builtin"], true);
    assert_eq!(call(addr, ALICE, "GET", "/v1/samplers/every-nth", None).json()["sha256"], mine["sha256"]);

    // Dry run: the plan without a job.
    let dry = call(addr, ALICE, "POST", "/v1/samplers/every-nth/plan", Some(json!({"video": video, "params": {"every": 100, "frames_per_clip": 2}, "seed": 3})));
    assert_eq!(dry.status, 200, "{}", String::from_utf8_lossy(&dry.body));
    let clips = dry.json()["clips"].clone();
    assert_eq!(clips, json!([{"frames": [{"index": 0}, {"index": 1}], "flow_to": []}, {"frames": [{"index": 100}, {"index": 101}], "flow_to": []}, {"frames": [{"index": 200}, {"index": 201}], "flow_to": []}]));
    let bad_param = call(addr, ALICE, "POST", "/v1/samplers/every-nth/plan", Some(json!({"video": video, "params": {"every": 0}})));
    refused(&bad_param, 422, "plan_failed", "'every'");
    refused(&call(addr, ALICE, "POST", "/v1/samplers/every-nth/plan", Some(json!({"params": {}}))), 400, "bad_request", "'video'");

    // Used in a job, as any built-in.
    let job = call(addr, ALICE, "POST", "/v1/jobs", Some(json!({"videos": [video], "sampler": "every-nth", "modality": "rgb", "params": {"every": 100}})));
    assert_eq!(job.status, 201, "{}", String::from_utf8_lossy(&job.body));
    let done = wait_for_job(addr, ALICE, job.json()["id"].as_str().unwrap(), Duration::from_secs(60));
    assert_eq!((done["state"].as_str(), done["progress"]["clips_total"].as_u64()), (Some("succeeded"), Some(3)), "{done}");

    // Another tenant sees none of it, and has its own namespace.
    assert!(call(addr, BOB, "GET", "/v1/samplers", None).json()["samplers"].as_array().unwrap().iter().all(|s| s["name"] != "every-nth"));
    assert_eq!(call(addr, BOB, "GET", "/v1/samplers/every-nth", None).status, 404);
    assert_eq!(call(addr, BOB, "DELETE", "/v1/samplers/every-nth", None).status, 404);
    assert_eq!(call(addr, BOB, "POST", "/v1/samplers/every-nth/plan", Some(json!({"video": video}))).status, 404);
    let alices_job = done["id"].as_str().unwrap();
    for (method, path) in [("GET", format!("/v1/jobs/{alices_job}")), ("GET", format!("/v1/jobs/{alices_job}/results")), ("GET", format!("/v1/jobs/{alices_job}/outputs/manifest.jsonl")), ("POST", format!("/v1/jobs/{alices_job}/stop")), ("DELETE", format!("/v1/jobs/{alices_job}"))] {
        assert_eq!(call(addr, BOB, method, &path, None).status, 404, "{method} {path} as bob");
    }
    assert_eq!(call(addr, BOB, "GET", "/v1/jobs", None).json()["jobs"].as_array().map(Vec::len), Some(0), "bob lists no jobs of alice");
    let bobs_job = call(addr, BOB, "POST", "/v1/jobs", Some(json!({"videos": [video], "sampler": "every-nth"})));
    assert!(bobs_job.status == 400 || bobs_job.status == 404, "bob cannot use alice's sampler or video: {}", bobs_job.status);

    // Uploads that are refused, each saying why.
    refused(&put(addr, ALICE, "junk", b"this is not wasm at all"), 400, "not_a_component", "not a WebAssembly component");
    refused(&put(addr, ALICE, "half", &template[..template.len() / 2]), 400, "not_a_component", "truncated");
    refused(&put(addr, ALICE, "core", b"\0asm\x01\0\0\0"), 400, "not_a_component", "core WebAssembly module");
    let frames = std::fs::read(frameflow_test_components::frames()).unwrap();
    refused(&put(addr, ALICE, "handler", &frames), 422, "wrong_world", "frameflow:sampler/plan");
    let impure = std::fs::read(frameflow_test_components::impure_sampler()).unwrap();
    refused(&put(addr, ALICE, "impure", &impure), 422, "forbidden_imports", "wasi:clocks");
    refused(&put(addr, ALICE, "Bad.Name", &template), 400, "bad_name", "lowercase");
    refused(&put(addr, ALICE, "uniform", &template), 409, "builtin", "built in");
    let text = request(addr, "PUT", "/v1/samplers/t", &[("x-api-key", ALICE), ("content-type", "text/plain")], Body::Sized(&template));
    refused(&text, 415, "unsupported_media_type", "application/wasm");
    refused(&put(addr, ALICE, "big", &vec![0u8; (16 << 20) + 1]), 413, "too_large", "16777216");
    // A 1 GB body is refused from its Content-Length, before any of it is read.
    let started = Instant::now();
    let huge = request(addr, "PUT", "/v1/samplers/huge", &[("x-api-key", ALICE), ("content-length", "1073741824")], Body::None);
    assert_eq!(huge.status, 413);
    assert!(started.elapsed() < Duration::from_secs(5));
    let names: Vec<String> = call(addr, ALICE, "GET", "/v1/samplers", None).json()["samplers"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_string()).collect();
    for refused_name in ["junk", "half", "core", "handler", "impure", "big", "huge"] {
        assert!(!names.contains(&refused_name.to_string()), "{refused_name} was kept: {names:?}");
    }

    // Two uploads of one name at once: one wins, whole.
    let hostile = std::fs::read(frameflow_test_components::hostile_sampler()).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| assert!(put(addr, ALICE, "race", &template).status < 300));
        s.spawn(|| assert!(put(addr, ALICE, "race", &hostile).status < 300));
    });
    let race = call(addr, ALICE, "GET", "/v1/samplers/race", None).json();
    let winner = if race["size"] == template.len() { &template } else { &hostile };
    assert_eq!(race["sha256"].as_str().unwrap(), hex::encode(sha2::Sha256::digest(winner)));
    let ran = call(addr, ALICE, "POST", "/v1/samplers/race/plan", Some(json!({"video": video, "params": {"every": 150}})));
    assert_eq!(ran.status, 200, "the winner runs: {}", String::from_utf8_lossy(&ran.body));

    // Removed: gone from the list, and jobs can no longer name it.
    assert_eq!(call(addr, ALICE, "DELETE", "/v1/samplers/every-nth", None).status, 200);
    assert_eq!(call(addr, ALICE, "GET", "/v1/samplers/every-nth", None).status, 404);
    assert_eq!(call(addr, ALICE, "DELETE", "/v1/samplers/every-nth", None).status, 404);
    assert_eq!(call(addr, ALICE, "DELETE", "/v1/samplers/uniform", None).status, 409, "built-ins stay");
    let gone = call(addr, ALICE, "POST", "/v1/jobs", Some(json!({"videos": [video], "sampler": "every-nth"})));
    assert_eq!(gone.status, 400, "{}", String::from_utf8_lossy(&gone.body));

    // Event handlers go through the same upload path and check: the jobs component exports
    // frameflow:events/handler (its ingest); a sampler is the wrong world for it.
    let jobs = std::fs::read(frameflow_test_components::jobs()).unwrap();
    let handler = request(addr, "PUT", "/v1/event-handlers/my-ingest", &[("x-api-key", ALICE), ("content-type", "application/wasm")], Body::Sized(&jobs));
    assert_eq!(handler.status, 201, "{}", String::from_utf8_lossy(&handler.body));
    let wrong = request(addr, "PUT", "/v1/event-handlers/nope", &[("x-api-key", ALICE), ("content-type", "application/wasm")], Body::Sized(&template));
    refused(&wrong, 422, "wrong_world", "frameflow:events/handler");
    let listed = call(addr, ALICE, "GET", "/v1/event-handlers", None).json();
    assert_eq!(listed["event_handlers"].as_array().unwrap().iter().map(|h| h["name"].as_str().unwrap()).collect::<Vec<_>>(), ["my-ingest"]);
    assert_eq!(call(addr, BOB, "GET", "/v1/event-handlers/my-ingest", None).status, 404);
    assert_eq!(call(addr, ALICE, "DELETE", "/v1/event-handlers/my-ingest", None).status, 200);
    assert_eq!(call(addr, ALICE, "GET", "/v1/event-handlers/my-ingest", None).status, 404);
}

#[test]
fn a_looping_or_hoarding_sampler_fails_its_job_while_another_tenant_is_served() {
    let server = ServerProcess::start("samplers-hostile", ServerSetup { extra_manifest: JOBS_ROUTES, settings: KEYS, ..ServerSetup::default() });
    let addr = server.addr;
    let hostile = std::fs::read(frameflow_test_components::hostile_sampler()).unwrap();
    assert_eq!(put(addr, ALICE, "evil", &hostile).status, 201);
    // The short video plans fine when the job is created; the long one misbehaves later.
    let short = upload_video(addr, ALICE, "vp8.webm");
    let long = upload_video(addr, ALICE, "h264_bframes_gop250.mp4");
    let bobs = upload_video(addr, BOB, "h264_bframes_gop250.mp4");
    let bobs_id = call(addr, BOB, "GET", "/v1/videos", None).json()["videos"][0]["id"].as_str().unwrap().to_string();
    assert!(bobs.ends_with(".mp4"));

    for (mode, reason) in [("loop", "deadline"), ("alloc", "memory limit")] {
        let started = Instant::now();
        let job = call(addr, ALICE, "POST", "/v1/jobs", Some(json!({"videos": [short, long], "sampler": "evil", "params": {"mode": mode, "min_frames": 200}})));
        assert_eq!(job.status, 201, "{mode}: {}", String::from_utf8_lossy(&job.body));
        let id = job.json()["id"].as_str().unwrap().to_string();
        // Bob keeps getting frames while alice's sampler runs.
        let mut bob_ms = Vec::new();
        let failed = loop {
            let t = Instant::now();
            let frame = call(addr, BOB, "GET", &format!("/v1/videos/{bobs_id}/frame?index={}", bob_ms.len() % 300), None);
            assert_eq!(frame.status, 200, "bob is served while alice's sampler misbehaves");
            bob_ms.push(t.elapsed().as_millis());
            let j = call(addr, ALICE, "GET", &format!("/v1/jobs/{id}"), None).json();
            if j["state"] == "failed" {
                break j;
            }
            assert_ne!(j["state"], "succeeded", "{mode}: {j}");
            assert!(started.elapsed() < Duration::from_secs(30), "{mode}: not failed after 30 s: {j}");
        };
        let error = failed["error"].as_str().unwrap_or_default();
        assert!(error.contains("evil") && error.contains(reason), "{mode}: the job says why: {error}");
        assert!(started.elapsed() < Duration::from_secs(20), "{mode}: stopped within its 5 s deadline (+ the job step): {:?}", started.elapsed());
        bob_ms.sort();
        eprintln!("{mode}: alice's job failed in {:?}; bob's {} frames meanwhile, median {} ms, max {} ms", started.elapsed(), bob_ms.len(), bob_ms[bob_ms.len() / 2], bob_ms[bob_ms.len() - 1]);
        assert!(server.stderr().lines().all(|l| !l.contains("panicked")), "no panic in the server");
    }
}
