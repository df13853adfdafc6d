//! `frameflow-lambda` under cargo-lambda's emulator of the Lambda Runtime API (`cargo lambda
//! watch --only-lambda-apis`; the function is the binary cargo built, started with the
//! environment the emulator names), on a moto S3 bucket, invoked with the event files in
//! `tests/lambda/` (`cargo lambda invoke --data-file`): an S3 put registers the video and
//! runs its job's chunks before the invocation returns, outputs byte-identical to
//! `frameflow serve`'s for the same event; an SQS batch reports only its malformed message
//! as a failure (`SqsBatchResponse`); a second invocation of the same S3 event does nothing
//! twice; a function URL request (payload 2.0) for a frame is answered by the frames
//! component with the server's PNG, bit for bit. Cold and warm invocation times are printed.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use frameflow_testkit::pattern::pattern_video;
use frameflow_testkit::{python_tool, scratch_dir, workspace_root};
use serde_json::Value;

use crate::events::wait_until;
use crate::queue::Sqs;
use crate::server::{Backend, ServerProcess, ServerSetup, JOBS_ROUTES};

/// The bucket the shipped event files name.
const BUCKET: &str = "frameflow-lambda-e2e";

/// Registers each new video under incoming/ and starts a 4-clip job for it.
const EVENT_MANIFEST: &str = "[[trigger.object]]\nprefix = \"incoming/\"\nsuffix = \".mp4\"\ncomponent = \"jobs\"\n\
    [trigger.object.job]\nsampler = \"random-clip\"\nparams = { num_clips = 4, frames_per_clip = 4 }\nmodality = \"rgb+flow\"\nseed = 11\nchunk_clips = 1\n";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

fn invoke(cargo_lambda: &Path, port: u16, event: &str) -> (Value, Duration) {
    let started = Instant::now();
    let out = Command::new(cargo_lambda)
        .args(["lambda", "invoke", "--invoke-address", "127.0.0.1", "--invoke-port", &port.to_string(), "--data-file"])
        .arg(workspace_root().join("tests/lambda").join(event))
        .output()
        .expect("run cargo lambda invoke");
    let took = started.elapsed();
    assert!(out.status.success(), "invoke {event}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let answer = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("invoke {event} answered no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (answer, took)
}

/// Every file under `dir`, by path relative to it.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.insert(e.path().strip_prefix(dir).unwrap().display().to_string(), std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

/// The one job folder under `jobs/` of a dumped tenant, and its clips.
fn job_clips(tenant: &Path) -> (String, BTreeMap<String, Vec<u8>>) {
    let jobs: Vec<PathBuf> = std::fs::read_dir(tenant.join("jobs")).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    assert_eq!(jobs.len(), 1, "one job: {jobs:?}");
    let id = jobs[0].file_name().unwrap().to_string_lossy().to_string();
    (id, files(&jobs[0].join("clips")))
}

#[test]
fn a_lambda_function_handles_s3_and_sqs_events_as_the_server_does() {
    let cargo_lambda = python_tool("cargo-lambda");
    if !cargo_lambda.exists() {
        eprintln!("SKIP: no cargo-lambda at {} (run scripts/setup.sh)", cargo_lambda.display());
        return;
    }
    let Some(sqs) = Sqs::new() else { return };
    let s3 = frameflow_testkit::s3::server().expect("Sqs::new checked");
    let function = crate::frameflow_bin().with_file_name("frameflow-lambda");
    assert!(function.is_file(), "{} is missing: build every binary first (cargo build --workspace --bins)", function.display());

    sqs.run(&["mkbucket", BUCKET]);
    let video = pattern_video("h264_bframes_gop250.mp4").path;
    for name in ["lambda.mp4", "second.mp4"] {
        sqs.run(&["put", BUCKET, &format!("deployment/tenants/default/incoming/{name}"), video.to_str().unwrap()]);
    }
    let dir = scratch_dir("lambda");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let components = frameflow_test_components::dir().display().to_string();
    let frames_routes = format!(
        "[[trigger.http]]\nroute = \"/v1/videos/...\"\ncomponent = \"frames\"\n[component.frames]\nsource = \"{}\"\n",
        frameflow_test_components::frames().display()
    );
    std::fs::write(dir.join("frameflow.toml"), format!("spin_manifest_version = 2\n{frames_routes}{}{EVENT_MANIFEST}", JOBS_ROUTES.replace("{components}", &components))).unwrap();
    std::fs::write(dir.join("runtime-config.toml"), format!("store = \"s3://{BUCKET}/deployment\"\ncache_dir = \"{}\"\n", dir.join("cache").display())).unwrap();

    // The emulator (it reads the workspace's Cargo.toml), then the function against it.
    let port = free_port();
    let emulator_log = dir.join("emulator.log");
    let _emulator = Killed(
        Command::new(&cargo_lambda)
            .args(["lambda", "watch", "--only-lambda-apis", "--timeout", "300", "--invoke-address", "127.0.0.1", "--invoke-port", &port.to_string()])
            .current_dir(workspace_root())
            .stdout(std::fs::File::create(&emulator_log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("start cargo lambda watch"),
    );
    wait_until("the emulator to listen", Duration::from_secs(60), || std::net::TcpStream::connect(("127.0.0.1", port)).ok());
    let function_log = dir.join("function.log");
    let started = Instant::now();
    let _function = Killed(
        Command::new(&function)
            .envs(s3.env())
            .env("AWS_LAMBDA_RUNTIME_API", format!("http://127.0.0.1:{port}/.rt"))
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "4096")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("FRAMEFLOW_CONFIG", dir.join("frameflow.toml"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&function_log).unwrap())
            .spawn()
            .expect("start frameflow-lambda"),
    );
    let log = || std::fs::read_to_string(&function_log).unwrap_or_default();

    // The S3 put: registered, its job's 4 chunks run in the same invocation.
    let (answer, took) = invoke(&cargo_lambda, port, "s3-put.json");
    let cold = started.elapsed();
    assert_eq!(answer["delivered"], 1, "{answer}; {}", log());
    assert!(answer["job_steps"].as_u64().unwrap() >= 4, "the job's chunks ran in the invocation: {answer}; {}", log());
    eprintln!("lambda: cold start to the S3 event's answer {:.2} s (invoke {:.2} s)", cold.as_secs_f64(), took.as_secs_f64());
    let lambda_dump = dir.join("dump-lambda");
    sqs.run(&["dump", BUCKET, "deployment/tenants/default", lambda_dump.to_str().unwrap()]);
    let (lambda_job, lambda_clips) = job_clips(&lambda_dump);
    assert!(lambda_clips.len() >= 4 * 4 * 3, "4 clips of 4 frames, RGB and flow x/y: {}", lambda_clips.len());
    let job: Value = serde_json::from_slice(&std::fs::read(lambda_dump.join(format!("jobs/{lambda_job}/job.json"))).expect("the job record")).unwrap();
    assert_eq!(job["state"], "succeeded", "{job}");

    // The same event again (Lambda retries): nothing runs twice.
    let (again, warm) = invoke(&cargo_lambda, port, "s3-put.json");
    assert_eq!(again["job_steps"], 0, "{again}");
    eprintln!("lambda: warm invocation of an event already handled {:.3} s", warm.as_secs_f64());
    let again_dump = dir.join("dump-again");
    sqs.run(&["dump", BUCKET, "deployment/tenants/default", again_dump.to_str().unwrap()]);
    assert_eq!(job_clips(&again_dump).1.len(), lambda_clips.len(), "no output twice");

    // An SQS batch: the S3 event and the test event taken, the malformed message failed alone.
    let (batch, _) = invoke(&cargo_lambda, port, "sqs-batch.json");
    let failures: Vec<&str> = batch["batchItemFailures"].as_array().unwrap_or_else(|| panic!("{batch}")).iter().map(|f| f["itemIdentifier"].as_str().unwrap()).collect();
    assert_eq!(failures, ["bad-1"], "{batch}; {}", log());
    let registry = dir.join("dump-batch");
    sqs.run(&["dump", BUCKET, "deployment/tenants/default/videos", registry.to_str().unwrap()]);
    let records: Vec<Value> = files(&registry).into_iter().filter(|(k, _)| k.ends_with("video.json")).map(|(_, v)| serde_json::from_slice(&v).unwrap()).collect();
    let mut keys: Vec<&str> = records.iter().map(|r| r["key"].as_str().unwrap()).collect();
    keys.sort();
    assert_eq!(keys, ["incoming/lambda.mp4", "incoming/second.mp4"]);

    // A function URL request: the frames component answers, the PNG base64-encoded; an
    // unknown route is the listener's 404.
    let (frame, _) = invoke(&cargo_lambda, port, "http-frame.json");
    assert_eq!((frame["statusCode"].as_u64(), frame["isBase64Encoded"].as_bool()), (Some(200), Some(true)), "{}", frame.to_string().chars().take(400).collect::<String>());
    assert_eq!(frame["headers"]["content-type"], "image/png");
    let png = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, frame["body"].as_str().unwrap()).unwrap();
    let (missing, _) = invoke(&cargo_lambda, port, "http-unknown.json");
    assert_eq!(missing["statusCode"], 404, "{missing}");
    assert_eq!(serde_json::from_str::<Value>(missing["body"].as_str().unwrap()).unwrap()["code"], "not_found");

    // frameflow serve, handed the same S3 event for the same video: the same outputs.
    let server = ServerProcess::start("lambda-peer", ServerSetup { extra_manifest: &format!("{JOBS_ROUTES}{EVENT_MANIFEST}"), backend: Backend::S3, ..ServerSetup::default() });
    let peer_bucket = std::fs::read_to_string(server.dir.join("bucket")).unwrap();
    server.store().write("tenants/default/incoming/lambda.mp4", &std::fs::read(&video).unwrap());
    let event = std::fs::read_to_string(workspace_root().join("tests/lambda/s3-put.json")).unwrap().replace(BUCKET, &peer_bucket);
    let posted = frameflow_testkit::http_client::request(server.addr, "POST", "/v1/events/s3", &[], frameflow_testkit::http_client::Body::Sized(event.as_bytes()));
    assert_eq!(posted.status, 202, "{}", String::from_utf8_lossy(&posted.body));
    let id = wait_until("the server's job", Duration::from_secs(60), || {
        frameflow_testkit::http_client::get(server.addr, "/v1/jobs").json()["jobs"].as_array().and_then(|j| j.first()).and_then(|j| j["id"].as_str().map(str::to_string))
    });
    wait_until("the server's job to finish", Duration::from_secs(180), || {
        (frameflow_testkit::http_client::get(server.addr, &format!("/v1/jobs/{id}")).json()["state"] == "succeeded").then_some(())
    });
    // The same frame from the server, bit for bit (video ids come from the key).
    let served_png = frameflow_testkit::http_client::get(server.addr, "/v1/videos/6819741b426d5351/frame?index=100&format=png");
    assert_eq!(served_png.status, 200, "the event file's video id is the key's: {}", String::from_utf8_lossy(&served_png.body));
    assert!(served_png.body == png, "the function URL's frame differs from the server's");
    let served = dir.join("dump-serve");
    sqs.run(&["dump", &peer_bucket, "deployment/tenants/default", served.to_str().unwrap()]);
    let (_, served_clips) = job_clips(&served);
    assert_eq!(served_clips.keys().collect::<Vec<_>>(), lambda_clips.keys().collect::<Vec<_>>(), "the same outputs");
    for (key, bytes) in &lambda_clips {
        assert!(served_clips[key] == *bytes, "{key} differs between frameflow-lambda and frameflow serve");
    }
}
