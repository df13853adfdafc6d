//! Tenants as a product, through `frameflow serve`: the system key makes tenants and keys
//! in the store; keys carry scopes (`tenant`, `tenant:read`, `video:{id}`); JWTs signed with
//! the deployment's secret work and forged, expired or `alg: none` ones do not; a revoked
//! key stops working within seconds; no tenant sees another's videos (404, not 403); a
//! tenant over its request rate gets 429 with `Retry-After`; and the scheduler lets a small
//! job of one tenant finish while another tenant's big job is still near its start.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use frameflow_testkit::http_client::{request, Body, HttpResponse};
use frameflow_testkit::pattern::pattern_video;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::on_both_stores;
use crate::server::{Backend, ServerProcess, ServerSetup, JOBS_ROUTES};

const ADMIN: &str = "admin-key-for-the-tests-0123456789";
const JWT_SECRET: &str = "jwt-secret-for-the-tests-0123456789";

fn call(addr: SocketAddr, method: &str, path: &str, key: &str, body: Option<&Value>) -> HttpResponse {
    let bytes = body.map(|b| serde_json::to_vec(b).unwrap());
    let auth = format!("Bearer {key}");
    let headers: Vec<(&str, &str)> = if key.is_empty() { vec![] } else { vec![("authorization", auth.as_str())] };
    match &bytes {
        Some(b) => request(addr, method, path, &[headers.as_slice(), &[("content-type", "application/json")]].concat(), Body::Sized(b)),
        None => request(addr, method, path, &headers, Body::None),
    }
}

fn upload(addr: SocketAddr, key: &str, video: &str) -> String {
    let bytes = std::fs::read(pattern_video(video).path).unwrap();
    let r = request(addr, "POST", "/v1/videos?name=v.mp4", &[("x-api-key", key)], Body::Sized(&bytes));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()["id"].as_str().unwrap().to_string()
}

fn new_key(addr: SocketAddr, tenant: &str, scope: &str) -> String {
    let r = call(addr, "POST", &format!("/v1/admin/tenants/{tenant}/keys"), ADMIN, Some(&json!({"scope": scope, "label": "e2e"})));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()["key"].as_str().unwrap().to_string()
}

fn jwt(claims: Value, secret: &str) -> String {
    encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

on_both_stores!(tenants_keys_and_scopes_are_kept_in_the_store_and_enforced);

fn tenants_keys_and_scopes_are_kept_in_the_store_and_enforced(backend: Backend) {
    let env = [("FRAMEFLOW_ADMIN_KEY".to_string(), ADMIN.to_string()), ("FRAMEFLOW_JWT_SECRET".to_string(), JWT_SECRET.to_string())];
    let server = ServerProcess::start("tenants", ServerSetup { extra_manifest: JOBS_ROUTES, backend, env: &env, ..ServerSetup::default() });
    let addr = server.addr;

    // Without credentials nothing is served; a tenant key cannot manage tenants.
    let r = call(addr, "GET", "/v1/videos", "", None);
    assert_eq!((r.status, r.header("www-authenticate")), (401, Some("Bearer")));
    assert_eq!(call(addr, "GET", "/v1/admin/tenants", "not-a-key", None).status, 401);
    for name in ["alice", "bob"] {
        let r = call(addr, "POST", "/v1/admin/tenants", ADMIN, Some(&json!({"name": name})));
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    }
    assert_eq!(call(addr, "POST", "/v1/admin/tenants", ADMIN, Some(&json!({"name": "alice"}))).status, 409);
    assert_eq!(call(addr, "POST", "/v1/admin/tenants", ADMIN, Some(&json!({"name": "../x"}))).status, 400);
    assert_eq!(call(addr, "POST", "/v1/admin/tenants", ADMIN, Some(&json!({"nam": "x"}))).status, 400);
    assert_eq!(call(addr, "POST", "/v1/admin/tenants/nobody/keys", ADMIN, Some(&json!({}))).status, 404);
    let listed = call(addr, "GET", "/v1/admin/tenants", ADMIN, None).json();
    let names: Vec<&str> = listed["tenants"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["alice", "bob"]);
    let alice = new_key(addr, "alice", "tenant");
    let bob = new_key(addr, "bob", "tenant");
    let bob_reader = new_key(addr, "bob", "tenant:read");
    assert_eq!(call(addr, "GET", "/v1/admin/tenants", &alice, None).status, 403);
    assert_eq!(call(addr, "GET", "/v1/videos", ADMIN, None).status, 403, "the system key is not a tenant");
    assert_eq!(call(addr, "POST", "/v1/admin/tenants/bob/keys", ADMIN, Some(&json!({"scope": "root"}))).status, 400);

    // Only the hash of a key is stored.
    let stored: Vec<String> = server.store().keys("system/").into_iter().collect();
    assert!(stored.iter().any(|k| k.starts_with("keys/")), "{stored:?}");
    for key in &stored {
        let bytes = server.store().read(&format!("system/{key}")).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(&alice), "{key} holds a key in the clear");
    }

    // Isolation: bob cannot see, read or delete alice's video; a 404, never a 403.
    let video = upload(addr, &alice, "h264_bframes_gop250.mp4");
    assert_eq!(call(addr, "GET", &format!("/v1/videos/{video}"), &alice, None).status, 200);
    for (method, path) in [("GET", format!("/v1/videos/{video}")), ("GET", format!("/v1/videos/{video}/frame?index=3")), ("DELETE", format!("/v1/videos/{video}"))] {
        let r = call(addr, method, &path, &bob, None);
        assert_eq!(r.status, 404, "{method} {path} as bob: {}", String::from_utf8_lossy(&r.body));
    }
    assert_eq!(call(addr, "GET", "/v1/videos", &bob, None).json()["videos"].as_array().map(Vec::len), Some(0));

    // Scopes: read-only keys read; a video key reads its video only.
    assert_eq!(call(addr, "GET", "/v1/videos", &bob_reader, None).status, 200);
    let r = call(addr, "POST", "/v1/jobs", &bob_reader, Some(&json!({"videos": []})));
    assert_eq!((r.status, r.error_code()), (403, "forbidden".to_string()));
    let viewer = new_key(addr, "alice", &format!("video:{video}"));
    let frame = call(addr, "GET", &format!("/v1/videos/{video}/frame?index=3"), &viewer, None);
    assert_eq!(frame.status, 200, "{}", String::from_utf8_lossy(&frame.body));
    assert_eq!(call(addr, "GET", "/v1/videos", &viewer, None).status, 403);
    assert_eq!(call(addr, "DELETE", &format!("/v1/videos/{video}"), &viewer, None).status, 403);

    // JWTs: signed with the deployment's secret; forged, expired, alg none, unknown tenant refused.
    let token = jwt(json!({"sub": "alice", "exp": now() + 300}), JWT_SECRET);
    assert_eq!(call(addr, "GET", &format!("/v1/videos/{video}"), &token, None).status, 200);
    let scoped = jwt(json!({"sub": "alice", "scope": format!("video:{video}"), "exp": now() + 300}), JWT_SECRET);
    assert_eq!(call(addr, "GET", &format!("/v1/videos/{video}/frame?index=1"), &scoped, None).status, 200);
    assert_eq!(call(addr, "GET", "/v1/jobs", &scoped, None).status, 403);
    use base64::Engine;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let unsigned = format!("{}.{}.", b64(json!({"alg": "none", "typ": "JWT"})), b64(json!({"sub": "alice", "exp": now() + 300})));
    for (bad, why) in [
        (jwt(json!({"sub": "alice", "exp": now() + 300}), "another-secret-0123456789"), "signature"),
        (jwt(json!({"sub": "alice", "exp": now() - 600}), JWT_SECRET), "expired"),
        (jwt(json!({"sub": "mallory", "exp": now() + 300}), JWT_SECRET), "does not exist"),
        (unsigned, "HS256"),
    ] {
        let r = call(addr, "GET", "/v1/videos", &bad, None);
        assert_eq!(r.status, 401, "{why}");
        let message = r.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains(why), "{why}: {message}");
    }

    // Revoking: the key stops working (this host drops it at once; others within seconds).
    let keys = call(addr, "GET", "/v1/admin/tenants/bob/keys", ADMIN, None).json();
    let reader_id = keys["keys"].as_array().unwrap().iter().find(|k| k["scope"] == "tenant:read").unwrap()["id"].as_str().unwrap().to_string();
    assert!(keys.to_string().find("ffk_").is_none(), "listing shows no key: {keys}");
    assert_eq!(call(addr, "DELETE", &format!("/v1/admin/tenants/bob/keys/{reader_id}"), ADMIN, None).status, 200);
    assert_eq!(call(addr, "GET", "/v1/videos", &bob_reader, None).status, 401);
    assert_eq!(call(addr, "GET", "/v1/videos", &bob, None).status, 200, "bob's other key still works");
    // Deleting a tenant revokes its keys.
    assert_eq!(call(addr, "DELETE", "/v1/admin/tenants/bob", ADMIN, None).status, 200);
    assert_eq!(call(addr, "GET", "/v1/videos", &bob, None).status, 401);
}

#[test]
fn a_revoked_key_stops_working_on_another_host_within_seconds() {
    if frameflow_testkit::s3::server().is_none() {
        return;
    }
    let env = [("FRAMEFLOW_ADMIN_KEY".to_string(), ADMIN.to_string())];
    let setup = || ServerSetup { backend: Backend::S3, env: &env, ..ServerSetup::default() };
    let one = ServerProcess::start("revoke-one", setup());
    let two = ServerProcess::start_sharing("revoke-two", &one, setup());
    assert_eq!(call(one.addr, "POST", "/v1/admin/tenants", ADMIN, Some(&json!({"name": "carol"}))).status, 201);
    let key = new_key(one.addr, "carol", "tenant");
    assert_eq!(call(two.addr, "GET", "/v1/videos", &key, None).status, 200, "a key made on one host works on the other");
    let id = call(one.addr, "GET", "/v1/admin/tenants/carol/keys", ADMIN, None).json()["keys"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(call(one.addr, "DELETE", &format!("/v1/admin/tenants/carol/keys/{id}"), ADMIN, None).status, 200);
    let revoked = Instant::now();
    while call(two.addr, "GET", "/v1/videos", &key, None).status != 401 {
        assert!(revoked.elapsed() < Duration::from_secs(5), "the other host still takes the key after 5 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_tenant_over_its_request_rate_gets_429_with_retry_after() {
    let server = ServerProcess::start(
        "rate",
        ServerSetup { settings: "tenant_requests_per_second = 3\n[api_keys]\n\"key-of-dave-0123\" = \"dave\"\n\"key-of-erin-0123\" = \"erin\"\n", ..ServerSetup::default() },
    );
    let statuses: Vec<u16> = (0..10).map(|_| call(server.addr, "GET", "/v1/videos", "key-of-dave-0123", None).status).collect();
    assert!(statuses[..3].iter().all(|&s| s == 200), "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    let r = call(server.addr, "GET", "/v1/videos", "key-of-dave-0123", None);
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| s >= 1), "{:?}", r.headers);
    assert_eq!(call(server.addr, "GET", "/v1/videos", "key-of-erin-0123", None).status, 200, "another tenant is not limited");
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(call(server.addr, "GET", "/v1/videos", "key-of-dave-0123", None).status, 200, "the rate refills");
}

#[test]
fn a_small_job_of_one_tenant_overtakes_a_big_job_of_another() {
    let server = ServerProcess::start(
        "fair",
        ServerSetup {
            extra_manifest: JOBS_ROUTES,
            settings: "[api_keys]\n\"key-of-big-0123\" = \"big\"\n\"key-of-small-0123\" = \"small\"\n",
            ..ServerSetup::default()
        },
    );
    let addr = server.addr;
    let (big, small) = ("key-of-big-0123", "key-of-small-0123");
    let big_video = upload(addr, big, "h264_bframes_gop250.mp4");
    let small_video = upload(addr, small, "h264_bframes_gop250.mp4");
    let key_of = |key: &str, id: &str| call(addr, "GET", &format!("/v1/videos/{id}"), key, None).json()["key"].as_str().unwrap().to_string();
    let job = |key: &str, video: String, clips: u32| {
        let spec = json!({"videos": [video], "modality": "rgb", "chunk_clips": 1, "params": {"num_clips": clips, "frames_per_clip": 1}});
        let r = call(addr, "POST", "/v1/jobs", key, Some(&spec));
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.json()["id"].as_str().unwrap().to_string()
    };
    let big_job = job(big, key_of(big, &big_video), 300);
    let small_job = job(small, key_of(small, &small_video), 2);
    let started = Instant::now();
    loop {
        let s = call(addr, "GET", &format!("/v1/jobs/{small_job}"), small, None).json();
        assert_ne!(s["state"], "failed", "{s}");
        if s["state"] == "succeeded" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "the small job did not finish: {s}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let b = call(addr, "GET", &format!("/v1/jobs/{big_job}"), big, None).json();
    let (done, total) = (b["progress"]["clips_done"].as_u64().unwrap(), b["progress"]["clips_total"].as_u64().unwrap());
    assert_eq!(total, 300, "{b}");
    assert!(done < 30, "the big job was {done}/300 clips done when the small one finished: not under 10 %");
    assert_eq!(call(addr, "DELETE", &format!("/v1/jobs/{big_job}"), big, None).status, 200);
}

#[test]
fn metrics_count_requests_and_decodes_and_log_lines_carry_tenant_and_video() {
    let env = [("FRAMEFLOW_ADMIN_KEY".to_string(), ADMIN.to_string())];
    let settings = "metrics_listen = \"127.0.0.1:0\"\n[api_keys]\n\"key-of-fay-0123\" = \"fay\"\n";
    let server = ServerProcess::start("metrics", ServerSetup { settings, env: &env, args: &["--log-format", "json"], ..ServerSetup::default() });
    let addr = server.addr;
    let video = upload(addr, "key-of-fay-0123", "h264_bframes_gop250.mp4");
    assert_eq!(call(addr, "GET", &format!("/v1/videos/{video}/frame?index=7"), "key-of-fay-0123", None).status, 200);

    // /metrics names tenants: the system key only on the main address; no key on metrics_listen.
    assert_eq!(call(addr, "GET", "/metrics", "key-of-fay-0123", None).status, 403);
    let scraped = call(addr, "GET", "/metrics", ADMIN, None);
    assert_eq!(scraped.status, 200);
    let text = String::from_utf8(scraped.body).unwrap();
    let value = |line_start: &str| -> f64 {
        text.lines().find(|l| l.starts_with(line_start)).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no {line_start} in\n{text}"))
    };
    assert_eq!(value(r#"frameflow_http_requests_total{route="/v1/videos/...",method="GET",status="200"}"#), 1.0);
    assert!(value(r#"frameflow_http_request_duration_seconds_bucket{route="/v1/videos/...",method="POST",status="201",le="+Inf"}"#) >= 1.0);
    // Frame 7 from the key frame at 0: the non-reference pictures before it are left out.
    let (decoded, skipped) = (value("frameflow_frames_decoded_total"), value("frameflow_packets_skipped_total"));
    assert!(decoded >= 1.0 && skipped >= 1.0 && decoded + skipped >= 8.0, "index 7: {decoded} decoded, {skipped} left out");
    assert_eq!(value("frameflow_frame_decode_seconds_count"), decoded);
    assert!(value("frameflow_instances_max") >= 1.0);
    let apart = request(server.probe_addr(), "GET", "/metrics", &[], Body::None);
    assert_eq!(apart.status, 200);
    assert!(String::from_utf8_lossy(&apart.body).contains("frameflow_frames_decoded_total"));

    // The request's log line is JSON with its tenant and video id.
    let logs = server.stderr();
    let line = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["fields"]["message"] == "answered" && l["span"]["path"].as_str().is_some_and(|p| p.ends_with("/frame")))
        .unwrap_or_else(|| panic!("no JSON request line in\n{logs}"));
    assert_eq!((line["span"]["tenant"].as_str(), line["span"]["video"].as_str()), (Some("fay"), Some(video.as_str())), "{line}");
    assert_eq!(line["fields"]["status"], 200);
}

#[test]
fn a_tenant_runs_at_most_its_running_jobs_and_stops_at_its_stored_bytes() {
    let video_bytes = std::fs::metadata(pattern_video("h264_bframes_gop250.mp4").path).unwrap().len();
    let env = [("FRAMEFLOW_ADMIN_KEY".to_string(), ADMIN.to_string())];
    let server = ServerProcess::start("tenant-limits", ServerSetup { extra_manifest: JOBS_ROUTES, env: &env, ..ServerSetup::default() });
    let addr = server.addr;
    // Limits in the tenant's record: one running job, room for one video and its index.
    let limits = json!({"max_running_jobs": 1, "max_stored_bytes": video_bytes + video_bytes / 2});
    assert_eq!(call(addr, "POST", "/v1/admin/tenants", ADMIN, Some(&json!({"name": "gus", "limits": limits}))).status, 201);
    let key = new_key(addr, "gus", "tenant");
    let video = upload(addr, &key, "h264_bframes_gop250.mp4");
    let video_key = call(addr, "GET", &format!("/v1/videos/{video}"), &key, None).json()["key"].as_str().unwrap().to_string();

    // A second copy would go over the stored bytes: 507, nothing kept.
    let bytes = std::fs::read(pattern_video("h264_bframes_gop250.mp4").path).unwrap();
    let r = request(addr, "POST", "/v1/videos?name=again.mp4", &[("x-api-key", key.as_str())], Body::Sized(&bytes));
    assert_eq!((r.status, r.error_code()), (507, "insufficient_storage".to_string()), "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(call(addr, "GET", "/v1/videos", &key, None).json()["videos"].as_array().unwrap().len(), 1);

    // Jobs still start (their bodies are small); the second waits while the first runs.
    let job = |clips: u32| {
        let spec = json!({"videos": [video_key], "modality": "rgb", "chunk_clips": 1, "params": {"num_clips": clips, "frames_per_clip": 1}});
        let r = call(addr, "POST", "/v1/jobs", &key, Some(&spec));
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.json()["id"].as_str().unwrap().to_string()
    };
    let (first, second) = (job(40), job(2));
    let state = |id: &str| call(addr, "GET", &format!("/v1/jobs/{id}"), &key, None).json();
    let started = Instant::now();
    while state(&first)["progress"]["clips_done"].as_u64().unwrap_or(0) < 5 {
        assert!(started.elapsed() < Duration::from_secs(60), "the first job does not run: {}", state(&first));
        std::thread::sleep(Duration::from_millis(50));
    }
    let waiting = state(&second);
    assert_eq!((waiting["state"].as_str(), waiting["progress"]["clips_done"].as_u64()), (Some("pending"), Some(0)), "{waiting}");
    assert_eq!(call(addr, "POST", &format!("/v1/jobs/{first}/stop"), &key, None).status, 200);
    let started = Instant::now();
    while state(&second)["state"] != "succeeded" {
        assert!(started.elapsed() < Duration::from_secs(60), "the second job does not run after the first stops: {}", state(&second));
        std::thread::sleep(Duration::from_millis(50));
    }
}
