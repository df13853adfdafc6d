//! The API's description against the running server: `/v1/openapi.json` validates as OpenAPI
//! 3.1 (openapi-spec-validator), every operation it names is answered by a route (never
//! "no route" or 405), `/docs` renders it, and schemathesis, driving the server from the
//! document, finds no 5xx and no status or content type the document does not list. The
//! Python checks say SKIP when the tools venv lacks them (`scripts/setup.sh` installs them).

use frameflow_testkit::http_client::{request, Body};
use frameflow_testkit::pattern::pattern_video;
use serde_json::Value;

use crate::server::{ServerProcess, ServerSetup, JOBS_ROUTES};

/// The document's and the reference's routes, beside the jobs routes.
fn routes() -> String {
    format!("{JOBS_ROUTES}[[trigger.http]]\nroute = \"/v1/openapi.json\"\ncomponent = \"frames\"\n[[trigger.http]]\nroute = \"/docs\"\ncomponent = \"frames\"\n")
}

#[test]
fn the_document_is_openapi_3_1_and_every_operation_is_answered() {
    let extra = routes();
    let server = ServerProcess::start("openapi", ServerSetup { extra_manifest: &extra, ..ServerSetup::default() });
    let addr = server.addr;
    let r = request(addr, "GET", "/v1/openapi.json", &[], Body::None);
    assert_eq!((r.status, r.header("content-type")), (200, Some("application/json")));
    let doc: Value = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let docs = request(addr, "GET", "/docs", &[], Body::None);
    assert!(docs.status == 200 && String::from_utf8_lossy(&docs.body).contains("/v1/openapi.json"));

    match frameflow_testkit::python_with("openapi_spec_validator") {
        Some(python) => {
            let file = frameflow_testkit::scratch_dir("openapi").join("openapi.json");
            std::fs::write(&file, &r.body).unwrap();
            let check = "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))";
            let out = std::process::Command::new(python).args(["-c", check]).arg(&file).output().unwrap();
            assert!(out.status.success(), "not valid OpenAPI 3.1:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        None => eprintln!("SKIP: openapi-spec-validator is not in the tools venv (scripts/setup.sh)"),
    }

    // Every documented operation reaches a route, with real ids in its path.
    let bytes = std::fs::read(pattern_video("h264_bframes_gop250.mp4").path).unwrap();
    let video = request(addr, "POST", "/v1/videos?name=p.mp4", &[], Body::Sized(&bytes)).json();
    let (id, key) = (video["id"].as_str().unwrap().to_string(), video["key"].as_str().unwrap().to_string());
    let spec = serde_json::json!({"videos": [key], "params": {"num_clips": 1, "frames_per_clip": 2}});
    let job = crate::jobs::create_job(addr, spec);
    let mut operations: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            // The host's admin and S3-notification routes exist only with a system key or
            // object triggers configured: tests/e2e/tenants.rs and events.rs call them.
            if operation["tags"][0] == "admin" || path.starts_with("/v1/events/") {
                continue;
            }
            operations.push((method.to_uppercase(), path.clone()));
        }
    }
    // Destructive ones last, so the others find the video and the job.
    operations.sort_by_key(|(m, _)| m == "DELETE");
    assert!(operations.len() >= 35, "{} operations", operations.len());
    for (method, path) in operations {
        let concrete = path
            .replace("{id}", &id)
            .replace("{job}", &job)
            .replace("{name}", "random-clip")
            .replace("{segment}", "0.ts")
            .replace("{clip}", "00000")
            .replace("{file}", "img_00000.jpg")
            .replace("{trace_id}", "1")
            .replace("{chunk_id}", "chunk_1")
            .replace("{a}", "someone")
            .replace("{b}", "someone-else");
        let r = request(addr, &method, &concrete, &[], Body::None);
        let says = String::from_utf8_lossy(&r.body).to_string();
        assert!(r.status != 405 && !(r.status == 404 && says.contains("no route")), "{method} {path}: {} {says}", r.status);
        assert!(r.status < 500, "{method} {path}: {} {says}", r.status);
    }
}

#[test]
fn schemathesis_finds_no_server_error_and_nothing_undocumented() {
    let Some(python) = frameflow_testkit::python_with("schemathesis") else {
        eprintln!("SKIP: schemathesis is not in the tools venv (scripts/setup.sh)");
        return;
    };
    let extra = routes();
    let server = ServerProcess::start("openapi-schemathesis", ServerSetup { extra_manifest: &extra, ..ServerSetup::default() });
    let bytes = std::fs::read(pattern_video("h264_bframes_gop250.mp4").path).unwrap();
    assert_eq!(request(server.addr, "POST", "/v1/videos?name=p.mp4", &[], Body::Sized(&bytes)).status, 201);
    let base = format!("http://{}", server.addr);
    let out = std::process::Command::new(python)
        .args(["-m", "schemathesis.cli", "run", &format!("{base}/v1/openapi.json"), "--base-url", &base])
        .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance"])
        .args(["--hypothesis-max-examples", "12", "--hypothesis-seed", "7", "--hypothesis-deadline", "None"])
        .args(["--request-timeout", "60000", "--no-color", "--experimental=openapi-3.1", "--generation-allow-x00", "false"])
        // Credentials are tested on their own (tests/e2e/tenants.rs); random ones would only
        // exercise hyper's refusal of header bytes that are not HTTP.
        .args(["--generation-with-security-parameters", "false"])
        // The media proxy fetches URLs from the network, which this machine may not reach;
        // tests/e2e/analytics.rs calls it against a loopback server.
        .args(["--exclude-path", "/api/v1/media-proxy"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis failed:\n{report}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(server.stderr().lines().all(|l| !l.contains("panicked")));
}
