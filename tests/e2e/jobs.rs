//! Sampling jobs through `frameflow serve`: an rgb+flow job's outputs equal the media
//! core's frames and the flow module's fields, its manifest lists every output once, a
//! SIGKILLed server resumes its job without gaps or duplicates, stop and delete do what
//! they say, result pages and deletes are bounded and exact, and seed 000's routes work as
//! the seed writes them.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use frameflow_flow::{Algorithm, FlowEngine, GrayImage};
use frameflow_media::{ImageFormat, RenderOptions, Video};
use frameflow_testkit::http_client::{get, request, Body, HttpResponse};
use frameflow_testkit::pattern::{decode_pattern, pattern_video};
use crate::server::{Backend, ServerProcess, ServerSetup, JOBS_ROUTES};
use serde_json::{json, Value};

fn setup(backend: Backend) -> ServerSetup<'static> {
    ServerSetup { extra_manifest: JOBS_ROUTES, backend, ..ServerSetup::default() }
}

fn send_json(addr: SocketAddr, method: &str, path: &str, body: &Value) -> HttpResponse {
    let bytes = serde_json::to_vec(body).unwrap();
    request(addr, method, path, &[("content-type", "application/json")], Body::Sized(&bytes))
}

/// Uploads the 300-frame B-frame pattern video; returns its store key.
fn upload_pattern(addr: SocketAddr) -> String {
    let pv = pattern_video("h264_bframes_gop250.mp4");
    let bytes = std::fs::read(&pv.path).unwrap();
    let r = request(addr, "POST", "/v1/videos?name=pattern.mp4", &[], Body::Sized(&bytes));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()["key"].as_str().unwrap().to_string()
}

pub(crate) fn create_job(addr: SocketAddr, body: Value) -> String {
    let r = send_json(addr, "POST", "/v1/jobs", &body);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()["id"].as_str().unwrap().to_string()
}

pub(crate) fn job(addr: SocketAddr, id: &str) -> Value {
    let r = get(addr, &format!("/v1/jobs/{id}"));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

pub(crate) fn wait_for(addr: SocketAddr, id: &str, state: &str, limit: Duration) -> Value {
    let start = Instant::now();
    loop {
        let j = job(addr, id);
        if j["state"] == state {
            return j;
        }
        assert!(j["state"] != "failed", "job failed: {}", j["error"]);
        assert!(start.elapsed() < limit, "job not {state} after {limit:?}: {j}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn manifest(addr: SocketAddr, id: &str) -> Vec<Value> {
    let r = get(addr, &format!("/v1/jobs/{id}/outputs/manifest.jsonl"));
    assert_eq!(r.status, 200);
    r.body.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect()
}

/// Every (clip, k, kind) once, for `clips` clips of `frames` frames and these kinds.
pub(crate) fn assert_complete(lines: &[Value], clips: u64, frames: u64, kinds: &[&str]) {
    let ids: BTreeSet<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), lines.len(), "an output is listed twice");
    let got: BTreeSet<(u64, u64, String)> =
        lines.iter().map(|l| (l["clip"].as_u64().unwrap(), l["k"].as_u64().unwrap(), l["kind"].as_str().unwrap().to_string())).collect();
    let mut want = BTreeSet::new();
    for c in 0..clips {
        for k in 0..frames {
            for kind in kinds {
                want.insert((c, k, kind.to_string()));
            }
        }
    }
    assert_eq!(got, want, "the manifest has gaps or extra outputs");
}

fn an_rgb_flow_job_writes_the_media_cores_frames_and_flows_once_each(backend: Backend) {
    let server = ServerProcess::start("jobs-exact", setup(backend));
    let key = upload_pattern(server.addr);
    let spec = json!({"videos": [{"key": key, "label": 3}], "sampler": "random-clip", "modality": "rgb+flow", "seed": 7,
        "params": {"num_clips": 5, "frames_per_clip": 4, "frame_step": 2}, "chunk_clips": 2, "quality": 90});
    let id = create_job(server.addr, spec.clone());
    let done = wait_for(server.addr, &id, "succeeded", Duration::from_secs(120));
    assert_eq!(done["progress"]["done"], 60);
    assert_eq!(done["progress"]["total"], 60);
    let lines = manifest(server.addr, &id);
    assert_complete(&lines, 5, 4, &["rgb", "flow_x", "flow_y"]);

    let pv = pattern_video("h264_bframes_gop250.mp4");
    let mut core = Video::open(&pv.path).unwrap();
    let plain = RenderOptions::default();
    let engine = FlowEngine::new(Algorithm::DisMedium);
    let mut needed = BTreeSet::new();
    for line in &lines {
        let index = line["index"].as_u64().unwrap() as usize;
        needed.insert(index);
        assert_eq!(line["label"], 3);
        let bytes = get(server.addr, line["url"].as_str().unwrap());
        assert_eq!(bytes.status, 200);
        assert_eq!(server.store().read(&format!("tenants/default/{}", line["path"].as_str().unwrap())).unwrap(), bytes.body);
        let frame = core.frame(index, &plain).unwrap();
        assert_eq!(decode_pattern(&frame.image.data, 320, 240), index as u32);
        if line["kind"] == "rgb" {
            assert!(bytes.body == frame.encode(ImageFormat::Jpeg, 90).unwrap(), "img of frame {index} differs from the media core");
            continue;
        }
        let to = line["to_index"].as_u64().unwrap() as usize;
        needed.insert(to);
        assert_eq!(to, (index + 2).min(299), "flow k goes from frame k to the frame a step later");
        let gray = |f: &frameflow_media::Frame| GrayImage::from_rgb(&f.image.data, 320, 240).unwrap();
        let field = engine.compute(&gray(&frame), &gray(&core.frame(to, &plain).unwrap())).unwrap();
        let want = field.to_jpeg_plane(20.0, line["kind"] == "flow_x").unwrap();
        assert!(bytes.body == want, "{} of {index}->{to} differs from the flow module", line["kind"]);
    }
    // Each distinct frame was converted once; decoding from key frames is counted apart.
    assert_eq!(done["stats"]["frames_needed"].as_u64().unwrap(), needed.len() as u64);
    assert_eq!(done["stats"]["flows_computed"].as_u64().unwrap(), 20);

    // The same spec and seed plan the same clips.
    let again = create_job(server.addr, spec);
    wait_for(server.addr, &again, "succeeded", Duration::from_secs(120));
    let plan = |lines: &[Value]| -> Vec<(Value, Value, Value, Value)> {
        lines.iter().map(|l| (l["clip"].clone(), l["k"].clone(), l["kind"].clone(), l["index"].clone())).collect()
    };
    assert_eq!(plan(&manifest(server.addr, &again)), plan(&lines));

    // Pages: count 1..100, every result exactly once.
    for bad in ["count=0", "count=101", "count=x", "from=-1"] {
        let r = get(server.addr, &format!("/v1/jobs/{id}/results?{bad}"));
        assert_eq!(r.status, 400, "{bad}: {}", String::from_utf8_lossy(&r.body));
    }
    let (mut from, mut seen) = (Some(0u64), Vec::new());
    while let Some(f) = from {
        let page = get(server.addr, &format!("/v1/jobs/{id}/results?from={f}&count=7")).json();
        seen.extend(page["results"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()));
        from = page["next"].as_u64();
    }
    assert_eq!(seen, lines.iter().map(|l| l["id"].as_str().unwrap().to_string()).collect::<Vec<_>>());
    assert!(get(server.addr, &format!("/v1/jobs/{id}/results?from=1000&count=5")).json()["results"].as_array().unwrap().is_empty());

    // Deleting two ids removes exactly those two objects.
    let before = server.store().keys("");
    let victims = [lines[0]["id"].as_str().unwrap(), lines[7]["id"].as_str().unwrap()];
    let r = send_json(server.addr, "DELETE", &format!("/v1/jobs/{id}/results"), &json!({"id": victims}));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["deleted"].as_array().unwrap().len(), 2);
    let after = server.store().keys("");
    let gone: BTreeSet<_> = before.difference(&after).cloned().collect();
    let want_gone: BTreeSet<_> = [&lines[0], &lines[7]].iter().map(|l| format!("tenants/default/{}", l["path"].as_str().unwrap())).collect();
    assert_eq!(gone, want_gone, "exactly the two outputs are gone");
    assert_eq!(after.difference(&before).filter(|f| !f.contains("/deleted/")).count(), 0);
    let page = get(server.addr, &format!("/v1/jobs/{id}/results?count=100")).json();
    assert_eq!(page["total"], 58);
    let r = send_json(server.addr, "DELETE", &format!("/v1/jobs/{id}/results"), &json!({"id": victims}));
    assert_eq!(r.json()["missing"].as_array().unwrap().len(), 2, "deleting again finds nothing");
    for bad in [json!({"id": ["../../etc/passwd"]}), json!({"id": [format!("{again}:00000/img_00000")]}), json!({"ids": []}), json!([1])] {
        assert_eq!(send_json(server.addr, "DELETE", &format!("/v1/jobs/{id}/results"), &bad).status, 400, "{bad}");
    }

    // Bad specs are refused before anything is stored, naming the parameter.
    let bad = |body: Value, needle: &str| {
        let r = send_json(server.addr, "POST", "/v1/jobs", &body);
        assert_eq!(r.status, 400, "{body}: {}", String::from_utf8_lossy(&r.body));
        let message = r.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains(needle), "{body}: '{message}' does not name {needle}");
    };
    bad(json!({"videos": [key], "params": {"frames_per_clip": 0}}), "frames_per_clip");
    bad(json!({"videos": [key], "params": {"num_clips": 5, "frame_stepp": 2}}), "frame_stepp");
    bad(json!({"videos": [key], "sampler": "nope"}), "sampler");
    bad(json!({"videos": [key], "modality": "depth"}), "modality");
    bad(json!({"videos": [key], "quality": 0}), "quality");
    bad(json!({"videos": [key], "flow": {"bound": -1}}), "flow.bound");
    bad(json!({"videos": []}), "videos");
    assert_eq!(send_json(server.addr, "POST", "/v1/jobs", &json!({"videos": ["no/such.mp4"]})).status, 404);
    assert_eq!(request(server.addr, "POST", "/v1/jobs", &[], Body::Sized(b"{not json")).status, 400);
}

fn a_killed_server_resumes_its_job_without_gaps_or_duplicates(backend: Backend) {
    let mut server = ServerProcess::start("jobs-resume", setup(backend));
    let key = upload_pattern(server.addr);
    let id = create_job(
        server.addr,
        json!({"videos": [key], "modality": "rgb+flow", "seed": 11, "chunk_clips": 1,
               "params": {"num_clips": 40, "frames_per_clip": 8}}),
    );
    let start = Instant::now();
    loop {
        let j = job(server.addr, &id);
        let done = j["progress"]["clips_done"].as_u64().unwrap();
        if j["state"] == "running" && done >= 2 {
            assert!(done < 40, "the job finished before it could be interrupted");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "the job did not start: {j}");
        std::thread::sleep(Duration::from_millis(10));
    }
    server.kill();
    let interrupted_at = {
        let record: Value = serde_json::from_slice(&server.store().read(&format!("tenants/default/jobs/{id}/job.json")).unwrap()).unwrap();
        record["progress"]["clips_done"].as_u64().unwrap()
    };
    assert!(interrupted_at < 40, "killed mid-job");

    let (dir, cache) = (server.dir.clone(), frameflow_testkit::scratch_dir("component-cache"));
    drop(server);
    let server = ServerProcess::start_in(dir, &cache, setup(backend));
    assert_finished_once(&server, &id, 40, 8, Duration::from_secs(180));
}

fn stop_and_delete_do_what_they_say(backend: Backend) {
    let server = ServerProcess::start("jobs-stop", setup(backend));
    let key = upload_pattern(server.addr);
    let id = create_job(server.addr, json!({"videos": [key], "modality": "flow", "chunk_clips": 1, "params": {"num_clips": 200, "frames_per_clip": 8}}));
    let r = request(server.addr, "POST", &format!("/v1/jobs/{id}/stop"), &[], Body::None);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["state"], "stopped");
    std::thread::sleep(Duration::from_millis(1500));
    let first = job(server.addr, &id);
    std::thread::sleep(Duration::from_millis(1500));
    let second = job(server.addr, &id);
    assert_eq!(second["state"], "stopped");
    assert_eq!(first["progress"], second["progress"], "a stopped job makes no progress");
    assert!(second["progress"]["clips_done"].as_u64().unwrap() < 200);
    assert_eq!(request(server.addr, "POST", &format!("/v1/jobs/{id}/stop"), &[], Body::None).status, 200);

    let listed = get(server.addr, "/v1/jobs").json();
    assert!(listed["jobs"].as_array().unwrap().iter().any(|j| j["id"] == id.as_str()), "history lists the job");

    let r = request(server.addr, "DELETE", &format!("/v1/jobs/{id}"), &[], Body::None);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(get(server.addr, &format!("/v1/jobs/{id}")).status, 404);
    assert!(server.store().keys(&format!("tenants/default/jobs/{id}")).is_empty(), "the job's objects are gone");
    let left = server.store().keys("tenants/default");
    assert!(left.iter().all(|f| !f.contains(&id)), "no marker of the job is left");
    assert!(left.iter().any(|f| f.starts_with("uploads/")), "the video is untouched");
    for bad in ["/v1/jobs/nope", "/v1/jobs/j0000000000000000", "/v1/jobs/..%2F..%2Fvideos"] {
        assert_eq!(get(server.addr, bad).status, 404, "{bad}");
    }
}

fn seed_000_routes_work_as_the_seed_writes_them(backend: Backend) {
    let server = ServerProcess::start("jobs-seed000", setup(backend));
    upload_pattern(server.addr);
    let message = |r: &HttpResponse, status: u16| {
        assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
        assert!(r.json()["message"].is_string(), "seed 000 errors are {{\"message\"}}: {}", String::from_utf8_lossy(&r.body));
    };
    let start = send_json(server.addr, "POST", "/frame", &json!({"pattern": "random", "op": "start", "params": {"duration": 200, "interval": 100}}));
    message(&start, 200);
    let frame_job = start.json()["job"].as_str().unwrap().to_string();
    let start = send_json(server.addr, "POST", "/flow", &json!({"pattern": "sample", "op": "start", "params": {"duration": 120, "interval": 4000}}));
    message(&start, 200);
    let flow_job = start.json()["job"].as_str().unwrap().to_string();
    for bad in [
        json!({"pattern": "often", "op": "start", "params": {"duration": 100}}),
        json!({"pattern": "random", "op": "pause", "params": {"duration": 100}}),
        json!({"pattern": "random", "op": "start", "params": {"duration": -5}}),
        json!({"pattern": "sample", "op": "start", "params": {"duration": 100}}),
        json!({"pattern": "random", "op": "start", "params": {"duration": 1e12}}),
    ] {
        message(&send_json(server.addr, "POST", "/frame", &bad), 400);
    }
    message(&request(server.addr, "POST", "/frame", &[], Body::Sized(b"{")), 400);

    wait_for(server.addr, &frame_job, "succeeded", Duration::from_secs(60));
    wait_for(server.addr, &flow_job, "succeeded", Duration::from_secs(60));
    // 200 ms at 25 fps: 5 consecutive frames.
    let frames = get(server.addr, "/frame?pattern=random&from=0&count=100").json();
    let list = frames["frames"].as_array().unwrap();
    assert_eq!(list.len(), 5);
    let first = list[0]["idx"].as_u64().unwrap();
    for (k, f) in list.iter().enumerate() {
        assert_eq!(f["idx"].as_u64().unwrap(), first + k as u64);
        let img = get(server.addr, f["image_path"].as_str().unwrap());
        assert_eq!(img.header("content-type"), Some("image/jpeg"));
        assert!(f["label"].is_null() && f["id"].is_string());
    }
    // GET with the JSON body the seed shows; flows pair their x and y planes.
    let body = serde_json::to_vec(&json!({"pattern": "sample", "from": 0, "count": 2})).unwrap();
    let flows = request(server.addr, "GET", "/flow", &[], Body::Sized(&body)).json();
    let flows = flows["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 2);
    assert_eq!(flows[0]["to_idx"].as_u64().unwrap(), flows[0]["idx"].as_u64().unwrap() + 1);
    for plane in ["x_path", "y_path"] {
        assert_eq!(get(server.addr, flows[0][plane].as_str().unwrap()).status, 200);
    }
    message(&get(server.addr, "/frame?pattern=random&count=101"), 400);
    message(&get(server.addr, "/frame?pattern=random&count=0"), 400);
    message(&get(server.addr, "/flow?pattern=random&count=1"), 400);

    let gone = send_json(server.addr, "DELETE", "/frame", &json!({"id": [list[0]["id"], list[1]["id"]]}));
    assert_eq!(gone.status, 200);
    assert_eq!(gone.json()["deleted"].as_array().unwrap().len(), 2);
    assert_eq!(get(server.addr, "/frame?pattern=random&count=100").json()["frames"].as_array().unwrap().len(), 3);
    assert_eq!(get(server.addr, list[0]["image_path"].as_str().unwrap()).status, 404);
    let gone = send_json(server.addr, "DELETE", "/flow", &json!({"id": [flows[0]["id"]]}));
    assert_eq!(gone.json()["deleted"].as_array().unwrap().len(), 1);
    for plane in ["x_path", "y_path"] {
        assert_eq!(get(server.addr, flows[0][plane].as_str().unwrap()).status, 404);
    }
    message(&send_json(server.addr, "DELETE", "/frame", &json!({"id": [flows[1]["id"]]})), 400);

    let stop = send_json(server.addr, "POST", "/frame", &json!({"pattern": "random", "op": "stop"}));
    assert_eq!(stop.status, 409, "a finished job is not stopped again: {}", String::from_utf8_lossy(&stop.body));
}

/// Waits until the job is under way on two hosts sharing a store, then kills (SIGKILL) the
/// host holding one of its chunk claims; returns the other. `clips`: the job's size.
pub(crate) fn kill_a_claim_holder<'a>(a: &'a mut ServerProcess, b: &'a mut ServerProcess, id: &str, clips: u64) -> &'a ServerProcess {
    let start = Instant::now();
    let owner = loop {
        let record: Value = serde_json::from_slice(&a.store().read(&format!("tenants/default/jobs/{id}/job.json")).unwrap()).unwrap();
        let done = record["progress"]["clips_done"].as_u64().unwrap_or(0);
        assert!(done < clips, "the job finished before a host could be killed");
        if record["state"] == "running" && done >= 1 {
            if let Some(owner) = claim_owner(a.store(), id) {
                break owner;
            }
        }
        assert!(start.elapsed() < Duration::from_secs(120), "the job did not start: {record}");
        std::thread::sleep(Duration::from_millis(10));
    };
    match owner.as_str() {
        "host-a" => {
            a.kill();
            b
        }
        "host-b" => {
            b.kill();
            a
        }
        other => panic!("the claim names an unknown host: {other}"),
    }
}

/// Waits for the job to succeed on `server`, then checks it wrote everything once: `clips`
/// clips of `frames` frames (RGB and both flow planes), every listed output in the store,
/// nothing else under its clips.
pub(crate) fn assert_finished_once(server: &ServerProcess, id: &str, clips: u64, frames: u64, limit: Duration) {
    let done = wait_for(server.addr, id, "succeeded", limit);
    assert_eq!(done["progress"]["clips_done"], clips);
    assert_eq!(done["progress"]["done"], clips * frames * 3);
    let lines = manifest(server.addr, id);
    assert_complete(&lines, clips, frames, &["rgb", "flow_x", "flow_y"]);
    for line in &lines {
        assert!(server.store().exists(&format!("tenants/default/{}", line["path"].as_str().unwrap())), "{} is listed but missing", line["path"]);
    }
    let written = server.store().keys(&format!("tenants/default/jobs/{id}/clips"));
    assert_eq!(written.len(), lines.len(), "no output twice, none stray");
}

/// The host holding one of the job's chunk claims, if any is held now.
pub(crate) fn claim_owner(store: &crate::server::StoreView, id: &str) -> Option<String> {
    let prefix = format!("tenants/default/jobs/{id}/claims");
    store.keys(&prefix).into_iter().find_map(|k| {
        let claim: Value = serde_json::from_slice(&store.read(&format!("{prefix}/{k}"))?).ok()?;
        claim["owner"].as_str().map(str::to_string)
    })
}

/// Many hosts on one bucket: two `frameflow serve` processes (distinct host ids, 3 s
/// leases) work one job's chunks side by side; a host holding a chunk is killed with SIGKILL
/// mid-job, the other takes that chunk over when its claim runs out and finishes the job,
/// and the manifest has every output once.
#[test]
fn two_hosts_on_one_bucket_share_a_job_and_one_takes_over_from_a_killed_one() {
    if frameflow_testkit::s3::server().is_none() {
        return;
    }
    let host = |host_id: &'static str| ServerSetup {
        extra_manifest: JOBS_ROUTES,
        settings: host_id,
        backend: Backend::S3,
        ..ServerSetup::default()
    };
    let mut a = ServerProcess::start("jobs-two-hosts-a", host("host_id = \"host-a\"\njob_lease_ms = 3000\n"));
    let mut b = ServerProcess::start_sharing("jobs-two-hosts-b", &a, host("host_id = \"host-b\"\njob_lease_ms = 3000\n"));
    // A 640x360 video, so 24 chunks of flow take long enough to kill a host in the middle.
    let bytes = std::fs::read(frameflow_testkit::pattern::video_with_audio()).unwrap();
    let r = request(a.addr, "POST", "/v1/videos?name=wide.mp4", &[], Body::Sized(&bytes));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let key = r.json()["key"].as_str().unwrap().to_string();
    // Created through one host, visible through both.
    let id = create_job(
        b.addr,
        json!({"videos": [key], "modality": "rgb+flow", "seed": 11, "chunk_clips": 1,
               "params": {"num_clips": 24, "frames_per_clip": 8}}),
    );
    assert_eq!(job(a.addr, &id)["id"], id.as_str());
    let survivor = kill_a_claim_holder(&mut a, &mut b, &id, 24);
    assert_finished_once(survivor, &id, 24, 8, Duration::from_secs(240));
    // The survivor counted the chunk it took over from the killed host.
    let metrics = String::from_utf8(get(survivor.addr, "/metrics").body).unwrap();
    let takeovers = metrics.lines().find_map(|l| l.strip_prefix("frameflow_chunk_takeovers_total ")).and_then(|v| v.parse::<f64>().ok());
    assert!(takeovers.is_some_and(|n| n >= 1.0), "no takeover counted:\n{metrics}");
    // Posting the same job again is a second job, not a changed one: ids are per request.
    assert_ne!(create_job(survivor.addr, json!({"videos": [key], "seed": 11})), id);
}

crate::on_both_stores!(
    an_rgb_flow_job_writes_the_media_cores_frames_and_flows_once_each,
    a_killed_server_resumes_its_job_without_gaps_or_duplicates,
    stop_and_delete_do_what_they_say,
    seed_000_routes_work_as_the_seed_writes_them,
);
