//! Holding under hostile input and load, as an attacker would try it: connection caps and
//! idle timeouts, slow and stalled bodies, decompression bombs and huge outputs, memory
//! admission, a flood of sampler planning beside frame requests, uploads named like
//! frameflow's own records, oversized JSON, and keys checked before routes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use frameflow_testkit::http_client::{get, request, Body, HttpResponse};
use frameflow_testkit::pattern::{pattern_video, video_with_audio};
use crate::server::{Backend, ServerProcess, ServerSetup, JOBS_ROUTES};
use serde_json::{json, Value};

fn assert_error(r: &HttpResponse, status: u16, code: &str) {
    assert_eq!(r.status, status, "body: {}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.error_code(), code, "body: {}", String::from_utf8_lossy(&r.body));
}

fn upload(addr: SocketAddr, name: &str, bytes: &[u8]) -> HttpResponse {
    request(addr, "POST", &format!("/v1/videos?name={name}"), &[], Body::Sized(bytes))
}

fn video_count(addr: SocketAddr) -> usize {
    get(addr, "/v1/videos").json()["videos"].as_array().unwrap().len()
}

/// Reads until the server closes the connection (or `limit` passes); returns what came.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(all),
            Ok(n) => all.extend_from_slice(&buf[..n]),
            // Reset by the server counts as closed too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(all),
            Err(_) => return None,
        }
    }
}

#[test]
fn idle_connections_are_closed_and_extra_ones_refused_gracefully() {
    let server = ServerProcess::start(
        "limits-connections",
        ServerSetup { settings: "max_connections = 4\nheader_timeout_ms = 1500\n", ..ServerSetup::default() },
    );
    let addr = server.addr;
    // Four connections that never send a header fill the server's connections.
    let mut idle: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut fifth = TcpStream::connect(addr).unwrap();
    let refused = read_until_closed(&mut fifth, Duration::from_secs(5)).expect("the fifth connection is answered and closed");
    let text = String::from_utf8_lossy(&refused);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.to_ascii_lowercase().contains("retry-after: 1"), "{text}");
    // The idle ones are closed by the header timeout, and the server serves again.
    let started = Instant::now();
    for stream in &mut idle {
        assert!(read_until_closed(stream, Duration::from_secs(10)).is_some(), "an idle connection was left open");
    }
    assert!(started.elapsed() < Duration::from_secs(5), "idle connections closed after {:?}", started.elapsed());
    assert_eq!(get(addr, "/v1/videos").status, 200);

    // A keep-alive connection that goes quiet after a request is closed too.
    let mut kept = TcpStream::connect(addr).unwrap();
    kept.write_all(format!("GET /v1/videos HTTP/1.1\r\nhost: {addr}\r\n\r\n").as_bytes()).unwrap();
    let started = Instant::now();
    let answered = read_until_closed(&mut kept, Duration::from_secs(10)).expect("closed after going idle");
    assert!(String::from_utf8_lossy(&answered).starts_with("HTTP/1.1 200"));
    assert!(started.elapsed() < Duration::from_secs(5), "kept-alive connection closed after {:?}", started.elapsed());
}

#[test]
fn a_slow_upload_is_not_cut_by_the_component_deadline_but_a_stalled_one_is_timed_out() {
    let server = ServerProcess::start(
        "limits-slow-body",
        ServerSetup { settings: "deadline_ms = 1000\nbody_idle_timeout_ms = 1500\nbody_min_rate = 0\n", ..ServerSetup::default() },
    );
    let addr = server.addr;
    let bytes = std::fs::read(pattern_video("h264_bframes_gop250.mp4").path).unwrap();
    // Sent over ~3 s: three times the component's deadline.
    let mut stream = TcpStream::connect(addr).unwrap();
    let head = format!("POST /v1/videos?name=slow.mp4 HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n", bytes.len());
    stream.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    for chunk in bytes.chunks(bytes.len().div_ceil(30)) {
        stream.write_all(chunk).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    let reply = read_until_closed(&mut stream, Duration::from_secs(30)).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(2500));
    let text = String::from_utf8_lossy(&reply);
    assert!(text.starts_with("HTTP/1.1 201"), "a slow upload succeeds: {text}");
    assert_eq!(video_count(addr), 1);

    // A body that stops arriving gets a 408 once the idle timeout passes, and holds nothing.
    let mut stalled = TcpStream::connect(addr).unwrap();
    stalled
        .write_all(format!("POST /v1/videos?name=stall.mp4 HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 100000\r\n\r\n0123456789").as_bytes())
        .unwrap();
    let started = Instant::now();
    let reply = read_until_closed(&mut stalled, Duration::from_secs(10)).expect("answered and closed");
    assert!(String::from_utf8_lossy(&reply).starts_with("HTTP/1.1 408"), "{}", String::from_utf8_lossy(&reply));
    assert!(started.elapsed() < Duration::from_secs(4), "stalled body timed out after {:?}", started.elapsed());
    assert_eq!(video_count(addr), 1);
}

fn bombs_huge_outputs_and_memory_are_refused_with_clear_errors(backend: Backend) {
    let server = ServerProcess::start(
        "limits-bombs",
        ServerSetup {
            // 320×240 pictures at most; outputs up to 1000 px a side; flow on at most 0.01 MP.
            settings: "max_source_pixels = 76800\nmax_output_side = 1000\nmax_flow_pixels = 10000\n",
            backend,
            ..ServerSetup::default()
        },
    );
    let addr = server.addr;
    // Bigger than the source limit: 422 at upload, and nothing is kept.
    let big = std::fs::read(video_with_audio()).unwrap();
    let r = upload(addr, "big.mp4", &big);
    assert_error(&r, 422, "over_limit");
    let message = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("640x360") && message.contains("limit"), "{message}");
    assert_eq!(video_count(addr), 0);
    let kept = server.store().keys("");
    assert!(kept.iter().all(|p| !p.contains("uploads/")), "nothing of the bomb is kept: {kept:?}");

    let ok = upload(addr, "ok.mp4", &std::fs::read(pattern_video("h264_bframes_gop250.mp4").path).unwrap());
    assert_eq!(ok.status, 201, "{}", String::from_utf8_lossy(&ok.body));
    let id = ok.json()["id"].as_str().unwrap().to_string();
    // Validation before budgets: a crop outside the picture is a 400, however large.
    assert_error(&get(addr, &format!("/v1/videos/{id}/frame?index=0&crop=0,0,99999,99999")), 400, "bad_request");
    // An output over the side limit is a 413 naming the limit.
    let r = get(addr, &format!("/v1/videos/{id}/frame?index=0&width=2000&height=2000"));
    assert_error(&r, 413, "too_large");
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("1000x1000"));
    // Width alone on a tall crop: the other side is derived, and still checked.
    assert_error(&get(addr, &format!("/v1/videos/{id}/frame?index=0&crop=0,0,1,240&width=900")), 413, "too_large");
    // Flow over its pixel limit: 413 before anything is computed.
    let r = get(addr, &format!("/v1/videos/{id}/flow?index=0"));
    assert_error(&r, 413, "too_large");
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("optical flow"));
    assert_eq!(get(addr, &format!("/v1/videos/{id}/flow?index=0&width=80&height=60")).status, 200);
    assert_eq!(get(addr, &format!("/v1/videos/{id}/frame?index=3")).status, 200);

    // A memory pool too small for one decode: refused at once, not queued forever.
    drop(server);
    let tiny = ServerProcess::start("limits-memory", ServerSetup { settings: "media_memory_mib = 1\n", backend, ..ServerSetup::default() });
    let ok = upload(tiny.addr, "ok.mp4", &std::fs::read(pattern_video("h264_bframes_gop250.mp4").path).unwrap());
    let id = ok.json()["id"].as_str().unwrap().to_string();
    let r = get(tiny.addr, &format!("/v1/videos/{id}/frame?index=0"));
    assert_error(&r, 413, "too_large");
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("media_memory_mib"), "{}", String::from_utf8_lossy(&r.body));
}

fn uploads_named_like_records_and_oversized_json_cannot_hurt_anything(backend: Backend) {
    let server = ServerProcess::start("limits-names", ServerSetup { backend, ..ServerSetup::default() });
    let addr = server.addr;
    let bytes = std::fs::read(pattern_video("h264_bframes_gop250.mp4").path).unwrap();
    for name in ["video.json", "video.json.index.json", "..%2Fvideo.json"] {
        let r = upload(addr, name, &bytes);
        assert_eq!(r.status, 201, "{name}: {}", String::from_utf8_lossy(&r.body));
        let id = r.json()["id"].as_str().unwrap().to_string();
        let frame = get(addr, &format!("/v1/videos/{id}/frame?index=5"));
        assert_eq!(frame.status, 200, "{name}: the video still serves frames: {}", String::from_utf8_lossy(&frame.body));
        assert_eq!(get(addr, &format!("/v1/videos/{id}")).json()["frame_count"], 300, "{name}");
    }
    // Keys in frameflow's own namespaces cannot be registered (here: an upload's bytes).
    let key = get(addr, "/v1/videos").json()["videos"][0]["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("uploads/"), "{key}");
    let body = json!({"key": key}).to_string();
    let r = request(addr, "POST", "/v1/videos", &[("content-type", "application/json")], Body::Sized(body.as_bytes()));
    assert_error(&r, 400, "bad_request");
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("frameflow keeps"));
    // A JSON body over 1 MiB is a 413, not an out-of-memory 500.
    let huge = format!("{{\"key\": \"{}\"}}", "a".repeat(3 << 20));
    let r = request(addr, "POST", "/v1/videos", &[("content-type", "application/json")], Body::Sized(huge.as_bytes()));
    assert_error(&r, 413, "too_large");
    assert_eq!(video_count(addr), 3);
}

#[test]
fn keys_are_checked_before_routes() {
    let server = ServerProcess::start(
        "limits-keys",
        ServerSetup { settings: "[api_keys]\n\"key-a\" = \"alice\"\n", ..ServerSetup::default() },
    );
    // Health probes carry no key.
    assert_eq!(get(server.addr, "/healthz").status, 200);
    let ready = get(server.addr, "/readyz");
    assert_eq!((ready.status, ready.json()["status"].as_str()), (200, Some("ready")));
    assert_error(&get(server.addr, "/nowhere"), 401, "unauthorized");
    assert_error(&get(server.addr, "/admin/secret"), 401, "unauthorized");
    assert_error(&request(server.addr, "GET", "/nowhere", &[("x-api-key", "key-a")], Body::None), 404, "not_found");
}

#[test]
fn a_flood_of_sampler_planning_leaves_frame_requests_served() {
    let settings = "max_instances = 4\n";
    let server = ServerProcess::start(
        "limits-planning-flood",
        ServerSetup { extra_manifest: JOBS_ROUTES, settings, ..ServerSetup::default() },
    );
    let addr = server.addr;
    let ok = upload(addr, "ok.mp4", &std::fs::read(pattern_video("h264_bframes_gop250.mp4").path).unwrap());
    assert_eq!(ok.status, 201);
    let (id, key) = (ok.json()["id"].as_str().unwrap().to_string(), ok.json()["key"].as_str().unwrap().to_string());
    // Planning that the sampler refuses (too many frames), from many clients at once.
    let spec: Value = json!({"videos": [{"key": key}], "sampler": "random-clip", "modality": "rgb",
        "params": {"num_clips": 10000, "frames_per_clip": 101}});
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let planners: Vec<_> = (0..8)
        .map(|_| {
            let (stop, body) = (stop.clone(), serde_json::to_vec(&spec).unwrap());
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    statuses.push(request(addr, "POST", "/v1/jobs", &[("content-type", "application/json")], Body::Sized(&body)).status);
                }
                statuses
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut frames = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(6) {
        let index = frames.len() % 300;
        frames.push(get(addr, &format!("/v1/videos/{id}/frame?index={index}&width=64")).status);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let planned: Vec<u16> = planners.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let served = frames.iter().filter(|&&s| s == 200).count();
    // Each frame request waits its turn behind planners (one fair queue), so how many finish
    // depends on the build; what matters is that they are served, not refused or failed.
    assert!(frames.len() >= 3, "only {} frame requests finished in 6 s", frames.len());
    assert!(served * 100 >= frames.len() * 95, "{served} of {} frame requests served: {frames:?}", frames.len());
    assert!(!planned.is_empty() && planned.iter().all(|&s| s == 400 || s == 503), "planning answers: {planned:?}");
}

crate::on_both_stores!(bombs_huge_outputs_and_memory_are_refused_with_clear_errors, uploads_named_like_records_and_oversized_json_cannot_hurt_anything);

/// The S3 server goes down under a running host: requests that need the store fail fast
/// with 503 and a message naming the store, `/readyz` says not ready, the host keeps
/// running; when the server is back, the host serves again (moto comes back empty).
#[test]
fn an_s3_outage_is_a_clear_503_and_the_host_recovers() {
    let Some(mut s3) = frameflow_testkit::s3::S3Server::start_private() else { return };
    let bucket = s3.bucket("outage");
    // This test's own S3 server, named on the command line (it overrides the runtime config).
    let url = format!("s3://{bucket}/deployment");
    let env: Vec<(String, String)> = s3.env().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let mut server = ServerProcess::start("limits-s3-outage", ServerSetup { args: &["--store", &url], env: &env, ..ServerSetup::default() });
    let addr = server.addr;
    let bytes = std::fs::read(pattern_video("h264_bframes_gop250.mp4").path).unwrap();
    let up = upload(addr, "a.mp4", &bytes);
    assert_eq!(up.status, 201, "{}", String::from_utf8_lossy(&up.body));
    let id = up.json()["id"].as_str().unwrap().to_string();
    assert_eq!(get(addr, &format!("/v1/videos/{id}/frame?index=3")).status, 200);

    s3.stop();
    let started = Instant::now();
    let r = get(addr, "/v1/videos");
    assert_error(&r, 503, "store_unavailable");
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("object store"), "{}", String::from_utf8_lossy(&r.body));
    assert!(started.elapsed() < Duration::from_secs(20), "failed fast: {:?}", started.elapsed());
    let frame = get(addr, &format!("/v1/videos/{id}/frame?index=200"));
    assert_eq!(frame.status, 503, "a frame while the store is down: {}", String::from_utf8_lossy(&frame.body));
    assert!(String::from_utf8_lossy(&frame.body).contains("store"), "{}", String::from_utf8_lossy(&frame.body));
    let ready = get(addr, "/readyz");
    assert_error(&ready, 503, "store_unavailable");
    assert!(server.alive(), "the host keeps running");

    s3.restart();
    // moto came back empty: recreate the deployment's bucket, then the host serves again.
    let recreated = frameflow_testkit::http_client::request(s3_addr(&s3), "PUT", &format!("/{bucket}"), &[], Body::None);
    assert_eq!(recreated.status, 200);
    assert_eq!(get(addr, "/readyz").status, 200);
    let again = upload(addr, "b.mp4", &bytes);
    assert_eq!(again.status, 201, "{}", String::from_utf8_lossy(&again.body));
    assert_eq!(video_count(addr), 1);
}

fn s3_addr(s3: &frameflow_testkit::s3::S3Server) -> SocketAddr {
    s3.endpoint.trim_start_matches("http://").parse().unwrap()
}
