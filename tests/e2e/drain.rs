//! SIGTERM drains the server (as Kubernetes stops a pod): `/readyz` answers 503 at once on
//! the probe address, the main listener stops accepting, a request in flight (an upload
//! half sent) is still answered in full, and the process exits 0 within the grace; what the
//! request stored is there after a restart.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use frameflow_testkit::http_client::{get, parse};
use frameflow_testkit::pattern::pattern_video;

use crate::server::{ServerProcess, ServerSetup};

#[test]
fn sigterm_finishes_the_upload_in_flight_refuses_new_work_and_exits_zero() {
    let settings = "metrics_listen = \"127.0.0.1:0\"\nshutdown_grace_ms = 20000\n";
    let mut server = ServerProcess::start("drain-upload", ServerSetup { settings, ..ServerSetup::default() });
    let addr = server.addr;
    let probes = server.probe_addr();
    assert_eq!(get(probes, "/readyz").status, 200, "ready before the drain");
    assert_eq!(get(probes, "/healthz").status, 200);

    // An upload whose body is half sent when the host is told to stop.
    let video = std::fs::read(pattern_video("h264_bframes_gop250.mp4").path).unwrap();
    let mut upload = TcpStream::connect(addr).unwrap();
    upload.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    // `Expect: 100-continue`: the server's 100 says it has taken the request and reads its
    // body, so SIGTERM surely finds it in flight (not still in the kernel's accept queue).
    let head = format!("POST /v1/videos?name=drained.mp4 HTTP/1.1\r\nhost: {addr}\r\nexpect: 100-continue\r\ncontent-length: {}\r\n\r\n", video.len());
    upload.write_all(head.as_bytes()).unwrap();
    let mut interim = Vec::new();
    while !interim.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(upload.read(&mut byte).unwrap(), 1, "the server closed before its 100 Continue");
        interim.push(byte[0]);
    }
    assert!(interim.starts_with(b"HTTP/1.1 100"), "{}", String::from_utf8_lossy(&interim));
    let half = video.len() / 2;
    upload.write_all(&video[..half]).unwrap();
    std::thread::sleep(Duration::from_millis(100));

    server.signal_term();
    let start = Instant::now();
    // Readiness fails as soon as the drain starts (the probe address stays up until exit).
    let not_ready = loop {
        let r = get(probes, "/readyz");
        if r.status == 503 {
            break r;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "/readyz still {} after SIGTERM", r.status);
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(not_ready.error_code(), "draining");
    // No new connections on the main address.
    let refused = loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Err(_) => break true,
            Ok(_) if start.elapsed() > Duration::from_secs(5) => break false,
            Ok(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    assert!(refused, "the listener still accepts 5 s after SIGTERM");
    assert!(server.alive(), "the upload in flight holds the drain open");

    // The rest of the body: the upload is answered in full.
    upload.write_all(&video[half..]).unwrap();
    let mut raw = Vec::new();
    let _ = upload.read_to_end(&mut raw);
    let answer = parse(&raw);
    assert_eq!(answer.status, 201, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.header("connection"), Some("close"), "a draining host closes the connection after the answer");
    let id = answer.json()["id"].as_str().unwrap().to_string();

    let status = server.wait_exit(Duration::from_secs(15)).unwrap_or_else(|| panic!("no exit within 15 s of the upload's end"));
    assert!(status.success(), "exit status {status:?}; stderr: {}", server.stderr());
    let log = server.stderr();
    assert!(log.contains("SIGTERM received") && log.contains("drained"), "{log}");

    // Nothing lost: the upload is there after a restart on the same store.
    let dir = server.dir.clone();
    drop(server);
    let server = ServerProcess::start_in(dir, &frameflow_testkit::scratch_dir("component-cache"), ServerSetup::default());
    let r = get(server.addr, &format!("/v1/videos/{id}"));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["frame_count"], 300);
}

#[test]
fn an_idle_server_exits_zero_at_once_on_sigterm() {
    let mut server = ServerProcess::start("drain-idle", ServerSetup::default());
    assert_eq!(get(server.addr, "/readyz").status, 200);
    let start = Instant::now();
    let status = server.terminate(Duration::from_secs(10)).expect("exits after SIGTERM");
    assert!(status.success(), "exit status {status:?}; stderr: {}", server.stderr());
    assert!(start.elapsed() < Duration::from_secs(5), "an idle host took {:?} to drain", start.elapsed());
}
