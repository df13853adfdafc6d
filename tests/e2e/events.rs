//! Object events (`[[trigger.object]]`): an S3 event notification posted to
//! `POST /v1/events/s3` registers the new video and starts the trigger's job, once however
//! often it is delivered; malformed notifications are refused, foreign ones ignored; an
//! event whose object is gone lands in the dead-letter list and can be retried; on the
//! embedded file store an upload itself is the event.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use frameflow_testkit::http_client::{get, request, Body, HttpResponse};
use frameflow_testkit::pattern::pattern_video;
use serde_json::{json, Value};

use crate::server::{Backend, ServerProcess, ServerSetup, JOBS_ROUTES};

/// Jobs routes, the built-in samplers and an object trigger on `incoming/*.mp4` that
/// registers each new video and starts a 3-clip job for it.
const EVENT_MANIFEST: &str = "[[trigger.object]]\nprefix = \"incoming/\"\nsuffix = \".mp4\"\ncomponent = \"jobs\"\n\
    [trigger.object.job]\nsampler = \"random-clip\"\nparams = { num_clips = 3, frames_per_clip = 4 }\nmodality = \"rgb\"\nseed = 11\nchunk_clips = 1\n";

fn post(addr: SocketAddr, path: &str, body: &[u8]) -> HttpResponse {
    request(addr, "POST", path, &[("content-type", "application/json")], Body::Sized(body))
}

/// An S3 notification for one object, as S3 sends it (key URL-encoded).
fn notification(bucket: &str, key: &str, size: usize, etag: &str) -> Vec<u8> {
    let encoded = key.replace(' ', "+");
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-30T12:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:EXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "frameflow",
               "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
               "object": {"key": encoded, "size": size, "eTag": etag, "sequencer": "0055AED6DCD90281E5"}}
    }]})
    .to_string()
    .into_bytes()
}

/// Polls `probe` every 100 ms until it gives a value (or panics after `limit`).
pub(crate) fn wait_until<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn jobs(addr: SocketAddr) -> Vec<Value> {
    get(addr, "/v1/jobs").json()["jobs"].as_array().cloned().unwrap_or_default()
}

fn a_notification_registers_the_video_and_starts_its_job_once(backend: Backend) {
    let server = ServerProcess::start(
        "events-notification",
        ServerSetup { extra_manifest: &format!("{JOBS_ROUTES}{EVENT_MANIFEST}"), backend, ..ServerSetup::default() },
    );
    let addr = server.addr;
    // The store's bucket and prefix as a notification names them (any bucket for file://).
    let (bucket, root) = match backend {
        Backend::S3 => (std::fs::read_to_string(server.dir.join("bucket")).unwrap(), "deployment/"),
        Backend::File => ("local".to_string(), ""),
    };
    let video = std::fs::read(pattern_video("h264_bframes_gop250.mp4").path).unwrap();
    // Put by an ordinary client, not through frameflow.
    server.store().write("tenants/default/incoming/my clip.mp4", &video);
    let note = notification(&bucket, &format!("{root}tenants/default/incoming/my clip.mp4"), video.len(), "\"e1\"");
    let r = post(addr, "/v1/events/s3", &note);
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json(), json!({"accepted": 1, "ignored": 0}));

    let listed = wait_until("the video to be registered", Duration::from_secs(60), || {
        get(addr, "/v1/videos").json()["videos"].as_array().filter(|v| !v.is_empty()).cloned()
    });
    assert_eq!(listed[0]["key"], "incoming/my clip.mp4");
    let job = wait_until("the trigger's job", Duration::from_secs(60), || jobs(addr).into_iter().next());
    let id = job["id"].as_str().unwrap().to_string();
    let done = wait_until("the job to finish", Duration::from_secs(120), || {
        let j = get(addr, &format!("/v1/jobs/{id}")).json();
        (j["state"] == "succeeded").then_some(j)
    });
    assert_eq!(done["progress"]["done"], 3 * 4, "3 clips of 4 RGB frames");

    // Delivered again (S3 retries, a second host): one video, one job.
    for _ in 0..2 {
        assert_eq!(post(addr, "/v1/events/s3", &note).status, 202);
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(jobs(addr).len(), 1, "a repeated event starts no second job");
    assert_eq!(get(addr, "/v1/videos").json()["videos"].as_array().unwrap().len(), 1);

    // Malformed or foreign notifications.
    let bad = post(addr, "/v1/events/s3", b"{\"Records\": [{\"s3\": 5}]}");
    assert_eq!(bad.status, 400, "{}", String::from_utf8_lossy(&bad.body));
    assert_eq!(post(addr, "/v1/events/s3", b"{not json").status, 400);
    if backend == Backend::S3 {
        let other = post(addr, "/v1/events/s3", &notification("another-bucket", "deployment/tenants/default/incoming/x.mp4", 1, "\"e\""));
        assert_eq!(other.json(), json!({"accepted": 0, "ignored": 1}));
    }
    let tricky = post(addr, "/v1/events/s3", &notification(&bucket, &format!("{root}tenants/default/../evil/x.mp4"), 1, "\"e\""));
    assert_eq!(tricky.json(), json!({"accepted": 0, "ignored": 1}), "keys with .. name nothing");
    let unwatched = post(addr, "/v1/events/s3", &notification(&bucket, &format!("{root}tenants/default/elsewhere/x.mp4"), 1, "\"e\""));
    assert_eq!(unwatched.json(), json!({"accepted": 0, "ignored": 1}));
    let huge = vec![b' '; 2 << 20];
    assert_eq!(post(addr, "/v1/events/s3", &huge).status, 413);

    // The object is gone before its event is handled: a dead letter, retried once it exists.
    let gone = post(addr, "/v1/events/s3", &notification(&bucket, &format!("{root}tenants/default/incoming/late.mp4"), video.len(), "\"e2\""));
    assert_eq!(gone.json()["accepted"], 1);
    let letter = wait_until("the dead letter", Duration::from_secs(60), || {
        get(addr, "/v1/events/failed").json()["failed"].as_array().and_then(|l| l.first().cloned())
    });
    assert_eq!(letter["event"]["key"], "incoming/late.mp4");
    assert!(letter["error"].as_str().unwrap().contains("late.mp4"), "{letter}");
    server.store().write("tenants/default/incoming/late.mp4", &video);
    let retried = post(addr, &format!("/v1/events/failed/{}/retry", letter["id"].as_str().unwrap()), b"");
    assert_eq!(retried.status, 200, "{}", String::from_utf8_lossy(&retried.body));
    assert!(retried.json()["result"].as_str().unwrap().contains("started job"), "{}", String::from_utf8_lossy(&retried.body));
    assert!(get(addr, "/v1/events/failed").json()["failed"].as_array().unwrap().is_empty());
    assert_eq!(post(addr, "/v1/events/failed/nope/retry", b"").status, 404);

    // A truncated upload is no video: its event goes to the dead-letter list, named, and
    // nothing is registered for it.
    server.store().write("tenants/default/incoming/cut.mp4", &video[..2000]);
    let cut = post(addr, "/v1/events/s3", &notification(&bucket, &format!("{root}tenants/default/incoming/cut.mp4"), 2000, "\"e3\""));
    assert_eq!(cut.json()["accepted"], 1);
    let letter = wait_until("the truncated upload's dead letter", Duration::from_secs(60), || {
        get(addr, "/v1/events/failed").json()["failed"].as_array().and_then(|l| l.iter().find(|l| l["event"]["key"] == "incoming/cut.mp4").cloned())
    });
    assert!(letter["error"].as_str().unwrap().contains("cut.mp4"), "{letter}");
    assert_eq!(get(addr, "/v1/videos").json()["videos"].as_array().unwrap().len(), 2, "the two good videos only");
}

crate::on_both_stores!(a_notification_registers_the_video_and_starts_its_job_once);

/// The walkthrough a new user would do: two hosts on one bucket; a video PUT with an
/// ordinary S3 client; its notification posted to one host; the video is registered and
/// the trigger's job runs; the host holding the job is killed with SIGKILL and the other
/// finishes it; every manifest row (24 clips × 8 RGB frames and their flows) is in the
/// bucket, none twice; posting the same notification again starts no second job.
#[test]
fn two_hosts_finish_an_event_started_job_when_the_busy_one_is_killed() {
    if frameflow_testkit::s3::server().is_none() {
        return;
    }
    let manifest = format!(
        "{JOBS_ROUTES}[[trigger.object]]\nprefix = \"incoming/\"\nsuffix = \".mp4\"\ncomponent = \"jobs\"\n\
         [trigger.object.job]\nsampler = \"random-clip\"\nparams = {{ num_clips = 24, frames_per_clip = 8, frame_step = 1 }}\n\
         modality = \"rgb+flow\"\nseed = 11\nchunk_clips = 1\n"
    );
    let host = |settings: &'static str| ServerSetup { extra_manifest: Box::leak(manifest.clone().into_boxed_str()), settings, backend: Backend::S3, ..ServerSetup::default() };
    let mut a = ServerProcess::start("events-walkthrough-a", host("host_id = \"host-a\"\njob_lease_ms = 3000\n"));
    let mut b = ServerProcess::start_sharing("events-walkthrough-b", &a, host("host_id = \"host-b\"\njob_lease_ms = 3000\n"));
    let bucket = std::fs::read_to_string(a.dir.join("bucket")).unwrap();
    // 640x360, so the 24 chunks take long enough to kill a host in the middle.
    let video = std::fs::read(frameflow_testkit::pattern::video_with_audio()).unwrap();
    a.store().write("tenants/default/incoming/walk.mp4", &video);
    let note = notification(&bucket, "deployment/tenants/default/incoming/walk.mp4", video.len(), "\"walk-1\"");
    assert_eq!(post(a.addr, "/v1/events/s3", &note).json(), json!({"accepted": 1, "ignored": 0}));

    let id = wait_until("the trigger's job, seen from the other host", Duration::from_secs(60), || {
        jobs(b.addr).into_iter().next().and_then(|j| j["id"].as_str().map(str::to_string))
    });
    assert_eq!(get(b.addr, "/v1/videos").json()["videos"][0]["key"], "incoming/walk.mp4");
    let survivor = crate::jobs::kill_a_claim_holder(&mut a, &mut b, &id, 24);
    crate::jobs::assert_finished_once(survivor, &id, 24, 8, Duration::from_secs(240));

    assert_eq!(post(survivor.addr, "/v1/events/s3", &note).status, 202);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(jobs(survivor.addr).len(), 1, "the same notification again starts no second job");
}

/// The embedded file store has no notifications: its own writes are the events, so an
/// upload under a watched prefix starts the trigger's job with no S3 at all.
#[test]
fn on_the_file_store_an_upload_is_the_event() {
    let manifest = format!(
        "{JOBS_ROUTES}[[trigger.object]]\nprefix = \"uploads/\"\ncomponent = \"jobs\"\n\
         [trigger.object.job]\nsampler = \"uniform\"\nparams = {{ num_segments = 2 }}\nseed = 3\n"
    );
    let server = ServerProcess::start("events-file-store", ServerSetup { extra_manifest: &manifest, ..ServerSetup::default() });
    let video = std::fs::read(pattern_video("h264_bframes_gop250.mp4").path).unwrap();
    let up = request(server.addr, "POST", "/v1/videos?name=a.mp4", &[], Body::Sized(&video));
    assert_eq!(up.status, 201, "{}", String::from_utf8_lossy(&up.body));
    let job = wait_until("the upload's job", Duration::from_secs(60), || jobs(server.addr).into_iter().next());
    let id = job["id"].as_str().unwrap();
    wait_until("the job to finish", Duration::from_secs(120), || (get(server.addr, &format!("/v1/jobs/{id}")).json()["state"] == "succeeded").then_some(()));
    assert_eq!(get(server.addr, "/v1/videos").json()["videos"].as_array().unwrap().len(), 1, "the upload is listed once");
}

/// A store that cannot push: with `event_poll_ms`, the host lists the trigger's prefix and
/// objects put there by anyone become events (each once, whatever the number of polls).
fn the_poller_turns_new_objects_into_events(backend: Backend) {
    let manifest = format!("{JOBS_ROUTES}[[trigger.object]]\nprefix = \"incoming/\"\nsuffix = \".mp4\"\ncomponent = \"jobs\"\n");
    let server = ServerProcess::start(
        "events-poller",
        ServerSetup { extra_manifest: &manifest, settings: "event_poll_ms = 300\n", backend, ..ServerSetup::default() },
    );
    let video = std::fs::read(pattern_video("vp8.webm").path).unwrap();
    // Written around frameflow (an S3 client; a copy into the store's directory).
    server.store().write("tenants/default/incoming/one.mp4", &video);
    let listed = |n: usize| {
        let addr = server.addr;
        move || get(addr, "/v1/videos").json()["videos"].as_array().filter(|v| v.len() >= n).cloned()
    };
    let videos = wait_until("the first object to be registered", Duration::from_secs(60), listed(1));
    assert_eq!(videos[0]["key"], "incoming/one.mp4");
    server.store().write("tenants/default/incoming/two.mp4", &video);
    server.store().write("tenants/default/elsewhere/three.mp4", &video);
    wait_until("the second object to be registered", Duration::from_secs(60), listed(2));
    std::thread::sleep(Duration::from_secs(1));
    let keys: Vec<Value> = get(server.addr, "/v1/videos").json()["videos"].as_array().unwrap().iter().map(|v| v["key"].clone()).collect();
    assert_eq!(keys.len(), 2, "each object once, nothing outside the prefix: {keys:?}");
}

crate::on_both_stores!(the_poller_turns_new_objects_into_events);
