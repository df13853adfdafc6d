//! The HTTP API served by `frameflow serve` through the frames component: frames equal the
//! media core's bit for bit, ETags and id pages behave, bad input gets JSON errors, hostile
//! components are stopped without disturbing anything else, the compile cache is trusted
//! only when its authentication verifies.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use frameflow_media::{Crop, RenderOptions, Video};
use frameflow_testkit::http_client::{get, request, Body, HttpResponse};
use frameflow_testkit::pattern::{decode_pattern, pattern_video};
use crate::server::{Backend, ServerProcess, ServerSetup};
use serde_json::Value;

pub(crate) fn upload(addr: SocketAddr, path: &std::path::Path) -> Value {
    let bytes = std::fs::read(path).unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    let r = request(addr, "POST", &format!("/v1/videos?name={name}"), &[], Body::Sized(&bytes));
    assert_eq!(r.status, 201, "upload failed: {}", String::from_utf8_lossy(&r.body));
    r.json()
}

/// The server's `frameflow_frames_decoded_total`.
fn frames_decoded(addr: SocketAddr) -> f64 {
    let metrics = String::from_utf8(get(addr, "/metrics").body).unwrap();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("frameflow_frames_decoded_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no frameflow_frames_decoded_total in /metrics:\n{metrics}"))
}

fn png_pixels(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(png_bytes);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG pixels");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// One error format: RFC 9457 problem details (type, title, status, detail, code), with the
/// earlier `error: {code, message}` beside them.
pub(crate) fn assert_error(r: &HttpResponse, status: u16, code: &str) {
    assert_eq!(r.status, status, "body: {}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.error_code(), code);
    let problem = r.json();
    assert_eq!((problem["status"].as_u64(), problem["code"].as_str(), problem["type"].as_str()), (Some(status as u64), Some(code), Some("about:blank")));
    assert!(!problem["title"].as_str().unwrap().is_empty());
    assert_eq!(problem["detail"], problem["error"]["message"]);
    assert!(!problem["detail"].as_str().unwrap().is_empty());
}

fn frames_over_http_equal_the_media_core_bit_for_bit(backend: Backend) {
    let server = ServerProcess::start("frames-exact", ServerSetup { backend, ..ServerSetup::default() });
    let pv = pattern_video("h264_bframes_gop250.mp4");
    let created = upload(server.addr, &pv.path);
    assert_eq!(created["frame_count"], 300);
    let id = created["id"].as_str().unwrap().to_string();
    let mut core = Video::open(&pv.path).unwrap();
    let plain = RenderOptions::default();

    for index in [299usize, 0, 137, 1, 250, 249, 138] {
        let r = get(server.addr, &format!("/v1/videos/{id}/frame?index={index}&format=rgb24"));
        assert_eq!(r.status, 200);
        let want = core.frame(index, &plain).unwrap();
        assert!(r.body == want.image.data, "frame {index} over HTTP differs from the media core");
        assert_eq!(decode_pattern(&r.body, 320, 240), index as u32);
        assert_eq!(r.header("x-frame-index"), Some(index.to_string().as_str()));
        assert_eq!(r.header("x-frame-pts"), Some(want.id.pts.to_string().as_str()));
        assert_eq!(r.header("cache-control"), Some("public, max-age=86400"));
    }

    // A batch: one body, raw RGB24 frames back to back in the order asked, or a NumPy array.
    let r = get(server.addr, &format!("/v1/videos/{id}/frames?indices=299,0,137,0&format=raw"));
    assert_eq!((r.status, r.header("x-frame-count"), r.header("x-frame-width")), (200, Some("4"), Some("320")));
    let frame_bytes = 320 * 240 * 3;
    assert_eq!(r.body.len(), 4 * frame_bytes);
    for (k, index) in [299usize, 0, 137, 0].into_iter().enumerate() {
        assert!(r.body[k * frame_bytes..(k + 1) * frame_bytes] == core.frame(index, &plain).unwrap().image.data, "batch item {k}");
    }
    let npy = get(server.addr, &format!("/v1/videos/{id}/frames?indices=5,6"));
    assert_eq!((npy.status, npy.header("content-type")), (200, Some("application/x-npy")));
    assert_eq!(&npy.body[..6], b"\x93NUMPY");
    let header = u16::from_le_bytes([npy.body[8], npy.body[9]]) as usize + 10;
    assert!(std::str::from_utf8(&npy.body[10..header]).unwrap().contains("'shape': (2, 240, 320, 3)"));
    assert!(npy.body[header..header + frame_bytes] == core.frame(5, &plain).unwrap().image.data);
    for bad in ["indices=", "indices=1,x", "indices=1&count=3", "indices=1&format=png"] {
        assert_eq!(get(server.addr, &format!("/v1/videos/{id}/frames?{bad}")).status, 400, "{bad}");
    }
    assert_eq!(get(server.addr, &format!("/v1/videos/{id}/frames?indices=1,100000")).status, 404);
    let many: Vec<String> = (0..257).map(|i| i.to_string()).collect();
    assert_eq!(get(server.addr, &format!("/v1/videos/{id}/frames?indices={}", many.join(","))).status, 413);

    // By pts and by time, as PNG.
    let id50 = core.frame_id(50);
    for query in [format!("pts={}", id50.pts), format!("time={}", id50.seconds)] {
        let r = get(server.addr, &format!("/v1/videos/{id}/frame?{query}&format=png"));
        assert_eq!(r.status, 200, "{query}");
        assert_eq!(r.header("content-type"), Some("image/png"));
        assert_eq!(r.header("x-frame-index"), Some("50"), "{query}");
        let (w, h, pixels) = png_pixels(&r.body);
        assert_eq!((w, h), (320, 240));
        assert!(pixels == core.frame(50, &plain).unwrap().image.data, "{query}: PNG pixels differ");
    }

    // Crop then resize, rendered by the host exactly as the media core does.
    let r = get(server.addr, &format!("/v1/videos/{id}/frame?index=17&format=rgb24&crop=10,20,200,100&width=100&height=64"));
    assert_eq!(r.status, 200);
    let options = RenderOptions { crop: Some(Crop { x: 10, y: 20, width: 200, height: 100 }), width: Some(100), height: Some(64), ..RenderOptions::default() };
    assert!(r.body == core.frame(17, &options).unwrap().image.data, "cropped+resized frame differs");
    assert_eq!((r.header("x-frame-width"), r.header("x-frame-height")), (Some("100"), Some("64")));

    // Strong ETag: the same for the same request, different for another frame; 304 on match.
    let a = get(server.addr, &format!("/v1/videos/{id}/frame?index=7"));
    let b = get(server.addr, &format!("/v1/videos/{id}/frame?index=7"));
    let c = get(server.addr, &format!("/v1/videos/{id}/frame?index=8"));
    let etag = a.header("etag").expect("an ETag").to_string();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "strong ETag expected: {etag}");
    assert_eq!(b.header("etag"), Some(etag.as_str()));
    assert_ne!(c.header("etag"), Some(etag.as_str()));
    assert_eq!(a.header("content-type"), Some("image/jpeg"));
    let cached = request(server.addr, "GET", &format!("/v1/videos/{id}/frame?index=7"), &[("if-none-match", &etag)], Body::None);
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());
    let head = request(server.addr, "HEAD", &format!("/v1/videos/{id}/frame?index=7"), &[], Body::None);
    assert_eq!((head.status, head.header("etag")), (200, Some(etag.as_str())));
    assert!(head.body.is_empty(), "HEAD has no body");

    // The id pages walk every frame exactly once, in order, with usable URLs.
    let mut seen = Vec::new();
    let mut cursor = "from_index=0".to_string();
    loop {
        let page = get(server.addr, &format!("/v1/videos/{id}/frames?{cursor}&count=64")).json();
        for f in page["frames"].as_array().unwrap() {
            seen.push((f["index"].as_u64().unwrap(), f["pts"].as_i64().unwrap()));
        }
        match page["next"]["from_index"].as_u64() {
            Some(n) => cursor = format!("from_index={n}"),
            None => break,
        }
    }
    assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), (0..300).collect::<Vec<_>>());
    assert!(seen.windows(2).all(|w| w[0].1 < w[1].1), "pts strictly increase");
    let from_pts = get(server.addr, &format!("/v1/videos/{id}/frames?from_pts={}&count=2", id50.pts)).json();
    assert_eq!(from_pts["frames"][0]["index"], 50);

    // Listing, probing and deleting.
    let listed = get(server.addr, "/v1/videos").json();
    assert_eq!(listed["videos"].as_array().unwrap().len(), 1);
    assert_eq!(get(server.addr, &format!("/v1/videos/{id}")).json()["frame_count"], 300);
    assert_eq!(request(server.addr, "DELETE", &format!("/v1/videos/{id}"), &[], Body::None).status, 204);
    assert_error(&get(server.addr, &format!("/v1/videos/{id}")), 404, "not_found");
    let leftovers = server.store().keys("");
    assert!(leftovers.is_empty(), "deleting an upload leaves nothing behind: {leftovers:?}");
}

fn a_stored_object_is_registered_by_key_and_seed_001_serves_the_media_root(backend: Backend) {
    let media = frameflow_testkit::scratch_dir("media-root");
    let pv = pattern_video("vp8.webm");
    std::fs::copy(&pv.path, media.join("clip.webm")).unwrap();
    let server = ServerProcess::start("seed-001", ServerSetup { media_root: Some(&media), backend, ..ServerSetup::default() });

    // Put the video in the tenant's store directly, then register it by key.
    server.store().write("tenants/default/datasets/a.webm", &std::fs::read(&pv.path).unwrap());
    let register = |key: &str| request(server.addr, "POST", "/v1/videos", &[("content-type", "application/json")], Body::Sized(format!("{{\"key\": \"{key}\"}}").as_bytes()));
    let first = register("datasets/a.webm");
    assert_eq!(first.status, 201, "{}", String::from_utf8_lossy(&first.body));
    let again = register("datasets/a.webm").json();
    assert_eq!(first.json()["id"], again["id"], "registering a key twice gives one id");
    assert_eq!(again["frame_count"], 90);
    assert_error(&register("datasets/missing.webm"), 404, "not_found");
    assert_error(&register("../other-tenant/x.webm"), 400, "bad_request");

    // The ETag comes from the video's content tag and the query: a client that holds it gets
    // 304 without a frame being decoded, whatever order it gives the parameters in...
    let id_a = again["id"].as_str().unwrap().to_string();
    let frame5 = format!("/v1/videos/{id_a}/frame?index=5&format=rgb24");
    let first5 = get(server.addr, &frame5);
    let etag = first5.header("etag").expect("an ETag").to_string();
    let decoded_before = frames_decoded(server.addr);
    let reordered = format!("/v1/videos/{id_a}/frame?format=rgb24&index=5");
    let cached = request(server.addr, "GET", &reordered, &[("if-none-match", &etag)], Body::None);
    assert_eq!((cached.status, cached.header("etag")), (304, Some(etag.as_str())));
    let batch = format!("/v1/videos/{id_a}/frames?indices=3,60,5&format=raw");
    let batch_etag = get(server.addr, &batch).header("etag").expect("a batch ETag").to_string();
    let decoded_between = frames_decoded(server.addr);
    assert_eq!(request(server.addr, "GET", &batch, &[("if-none-match", &batch_etag)], Body::None).status, 304);
    assert_eq!(frames_decoded(server.addr), decoded_between, "a 304 decoded frames");
    assert!(decoded_between > decoded_before, "the batch was decoded");
    // ...and a new one when the object at the key is replaced by other bytes.
    let other = pattern_video("h264_bframes_gop250.mp4");
    server.store().write("tenants/default/datasets/a.webm", &std::fs::read(&other.path).unwrap());
    let replaced = request(server.addr, "GET", &frame5, &[("if-none-match", &etag)], Body::None);
    assert_eq!(replaced.status, 200, "{}", String::from_utf8_lossy(&replaced.body));
    assert_ne!(replaced.header("etag"), Some(etag.as_str()), "the replaced video kept its ETag");
    assert!(replaced.body == Video::open(&other.path).unwrap().frame(5, &RenderOptions::default()).unwrap().image.data);
    let bad_json = request(server.addr, "POST", "/v1/videos", &[("content-type", "application/json")], Body::Sized(b"{\"key\": "));
    assert_error(&bad_json, 400, "bad_request");

    // Seed 001: GET /frame/{path}?pts=P for files under the media root.
    let core = Video::open(&pv.path).unwrap();
    let id = core.frame_id(33);
    let r = get(server.addr, &format!("/frame/clip.webm?pts={}&format=rgb24", id.pts));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(decode_pattern(&r.body, 320, 240), 33);
    assert_eq!(r.header("x-frame-index"), Some("33"));
    assert_error(&get(server.addr, "/frame/nope.webm?pts=0"), 404, "not_found");
    assert_error(&get(server.addr, "/frame/clip.webm?pts=1"), 404, "frame_out_of_range");
}

#[test]
fn bad_input_gets_json_errors_and_the_server_keeps_serving() {
    let media = frameflow_testkit::scratch_dir("media-root-bad");
    std::fs::copy(pattern_video("vp8.webm").path, media.join("ok.webm")).unwrap();
    let mut server = ServerProcess::start(
        "bad-input",
        ServerSetup { media_root: Some(&media), args: &["--upload-limit", "300000"], ..ServerSetup::default() },
    );
    let addr = server.addr;
    let created = upload(addr, &pattern_video("vp8.webm").path);
    let id = created["id"].as_str().unwrap().to_string();

    assert_error(&get(addr, "/v1/videos/0123456789abcdef"), 404, "not_found");
    assert_error(&get(addr, "/v1/videos/..%2F..%2Fetc/frame?index=0"), 404, "not_found");
    assert_error(&get(addr, &format!("/v1/videos/{id}/frame?index=90")), 404, "frame_out_of_range");
    assert_error(&get(addr, &format!("/v1/videos/{id}/frame?index=18446744073709551615")), 404, "frame_out_of_range");
    assert_error(&get(addr, &format!("/v1/videos/{id}/frame?index=-1")), 400, "bad_request");
    assert_error(&get(addr, &format!("/v1/videos/{id}/frame?pts=123456789")), 404, "frame_out_of_range");
    assert_error(&get(addr, &format!("/v1/videos/{id}/frame?time=1e300")), 400, "bad_request");
    assert_error(&get(addr, &format!("/v1/videos/{id}/frame")), 400, "bad_request");
    assert_error(&get(addr, &format!("/v1/videos/{id}/frame?index=1&pts=0")), 400, "bad_request");
    // A misspelt parameter is refused by name, not ignored (it would serve frame 0).
    let r = get(addr, &format!("/v1/videos/{id}/frame?indx=5"));
    assert_error(&r, 400, "bad_request");
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("'indx'"), "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["param"], "indx", "the problem names the offending parameter");
    assert_eq!(get(addr, &format!("/v1/videos/{id}/frame?index=1&quality=0")).json()["param"], "quality");
    assert_error(&get(addr, "/v1/videos?limt=5"), 400, "bad_request");
    for crop in ["1,2,3", "a,b,c,d", "0,0,0,10", "0,0,10,-1", "300,200,100,100"] {
        assert_error(&get(addr, &format!("/v1/videos/{id}/frame?index=1&crop={crop}")), 400, "bad_request");
    }
    assert_error(&get(addr, &format!("/v1/videos/{id}/frame?index=1&format=gif")), 400, "bad_request");
    assert_error(&get(addr, &format!("/v1/videos/{id}/frame?index=1&quality=0")), 400, "bad_request");
    assert_error(&get(addr, &format!("/v1/videos/{id}/frame?index=1&width=100000")), 400, "bad_request");
    assert_error(&get(addr, &format!("/v1/videos/{id}/frames?count=0")), 400, "bad_request");
    assert_error(&get(addr, "/nowhere"), 404, "not_found");
    assert_error(&request(addr, "PUT", "/v1/videos", &[], Body::None), 405, "method_not_allowed");

    // A text file is not a video: 415, and nothing of it is kept.
    let text = b"this is not a video, just some text that happens to be uploaded\n".repeat(20);
    let r = request(addr, "POST", "/v1/videos?name=notes.txt", &[], Body::Sized(&text));
    assert_error(&r, 415, "not_media");
    assert_eq!(get(addr, "/v1/videos").json()["videos"].as_array().unwrap().len(), 1);
    assert_error(&request(addr, "POST", "/v1/videos", &[], Body::Sized(b"")), 400, "bad_request");

    // Path tricks on the seed-001 route (sent raw: real clients normalise `..` away).
    for path in ["/frame/../../etc/passwd?pts=0", "/frame//etc/passwd?pts=0", "/frame/%2e%2e/%2e%2e/etc/passwd?pts=0", "/frame/..%2F..%2Fetc%2Fpasswd?pts=0"] {
        assert_error(&get(addr, path), 400, "bad_request");
    }

    // Over the upload limit (300 000 bytes): refused by its declared length, and when chunked.
    let big = vec![7u8; 400_000];
    assert_error(&request(addr, "POST", "/v1/videos?name=big.mp4", &[], Body::Sized(&big)), 413, "too_large");
    assert_error(&request(addr, "POST", "/v1/videos?name=big.mp4", &[], Body::Chunked(&big)), 413, "too_large");

    // Still serving, and nothing was lost.
    assert!(server.alive(), "the server survived");
    assert_eq!(get(addr, &format!("/v1/videos/{id}/frame?index=5")).status, 200);
    assert_eq!(get(addr, "/frame/ok.webm?index=5").status, 200);
    assert_eq!(get(addr, "/v1/videos").json()["videos"].as_array().unwrap().len(), 1);
}

#[test]
fn hostile_components_are_stopped_and_the_next_request_succeeds() {
    let hostile = "[[trigger.http]]\nroute = \"/hostile/...\"\ncomponent = \"hostile\"\n\
                   [component.hostile]\nsource = \"{components}/frameflow_hostile_fixture.wasm\"\n";
    let mut server = ServerProcess::start(
        "hostile",
        ServerSetup { extra_manifest: hostile, settings: "deadline_ms = 1500\nmemory_limit_mib = 64\n", ..ServerSetup::default() },
    );
    let addr = server.addr;
    assert_eq!(get(addr, "/hostile/ok").body, b"ok", "a plain wasi:http component is served");

    let started = Instant::now();
    let r = get(addr, "/hostile/loop");
    let took = started.elapsed();
    assert_error(&r, 503, "component_timeout");
    assert!(took >= Duration::from_millis(1400) && took < Duration::from_secs(4), "stopped near its deadline: {took:?}");

    let r = get(addr, "/hostile/trap");
    assert_error(&r, 500, "component_trapped");
    let r = get(addr, "/hostile/alloc");
    assert_error(&r, 500, "component_out_of_memory");
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("64 MiB"));

    // Several loops at once do not stop other components from answering.
    let loops: Vec<_> = (0..3).map(|_| std::thread::spawn(move || get(addr, "/hostile/loop").status)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    assert_eq!(get(addr, "/v1/videos").status, 200);
    assert!(t.elapsed() < Duration::from_millis(1000), "a good request waited {:?} behind looping guests", t.elapsed());
    for l in loops {
        assert_eq!(l.join().unwrap(), 503);
    }
    assert_eq!(get(addr, "/hostile/ok").status, 200);
    assert!(server.alive());
}

#[test]
fn compiled_components_are_reused_only_when_their_authentication_verifies() {
    let cache = frameflow_testkit::scratch_dir("servers/cache-check/cache");
    let _ = std::fs::remove_dir_all(&cache);
    let dir = |n: &str| {
        let d = frameflow_testkit::scratch_dir(&format!("servers/cache-check/{n}"));
        let _ = std::fs::remove_dir_all(d.join("store"));
        d
    };
    let first = ServerProcess::start_in(dir("a"), &cache, ServerSetup::default());
    assert!(first.stderr().contains("'frames' compiled"), "{}", first.stderr());
    drop(first);
    let second = ServerProcess::start_in(dir("b"), &cache, ServerSetup::default());
    assert!(second.stderr().contains("'frames' from the compile cache"), "{}", second.stderr());
    drop(second);

    // Tamper with the cached machine code: the host must not load it.
    let entry = std::fs::read_dir(cache.join("components"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .expect("a cache entry");
    let mut code = std::fs::read(&entry).unwrap();
    let mid = code.len() / 2;
    code[mid] ^= 0xff;
    std::fs::write(&entry, code).unwrap();
    let third = ServerProcess::start_in(dir("c"), &cache, ServerSetup::default());
    assert!(third.stderr().contains("'frames' compiled"), "a tampered entry was loaded: {}", third.stderr());
    assert_eq!(get(third.addr, "/v1/videos").status, 200);
}

fn flow_over_http_equals_the_flow_module_in_process(backend: Backend) {
    use frameflow_flow::{Algorithm, FlowEngine, FlowField, GrayImage};
    let server = ServerProcess::start("flow", ServerSetup { backend, ..ServerSetup::default() });
    let pv = pattern_video("h264_vfr.mkv");
    let id = upload(server.addr, &pv.path)["id"].as_str().unwrap().to_string();
    let mut core = Video::open(&pv.path).unwrap();
    let options = RenderOptions { width: Some(160), height: Some(120), ..RenderOptions::default() };
    let gray = |v: &mut Video, i: usize| {
        let f = v.frame(i, &options).unwrap();
        GrayImage::from_rgb(&f.image.data, f.image.width, f.image.height).unwrap()
    };
    let want = FlowEngine::new(Algorithm::DisMedium).compute(&gray(&mut core, 10), &gray(&mut core, 12)).unwrap();

    let r = get(server.addr, &format!("/v1/videos/{id}/flow?index=10&step=2&format=flo&width=160&height=120"));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!((r.header("x-flow-from-index"), r.header("x-flow-to-index")), (Some("10"), Some("12")));
    let got = FlowField::from_flo(&r.body).unwrap();
    assert_eq!((got.width, got.height), (160, 120));
    assert!(got.average_endpoint_error(&want).unwrap() < 1e-6, "HTTP flow differs from the flow module");

    let x = get(server.addr, &format!("/v1/videos/{id}/flow?index=10&step=2&format=x&width=160&height=120&bound=20"));
    assert_eq!(x.header("content-type"), Some("image/jpeg"));
    assert!(x.body == want.to_jpeg_plane(20.0, true).unwrap(), "flow_x JPEG differs");
    let color = get(server.addr, &format!("/v1/videos/{id}/flow?index=0&algorithm=farneback"));
    assert_eq!(color.header("content-type"), Some("image/png"));
    let again = get(server.addr, &format!("/v1/videos/{id}/flow?index=0&algorithm=farneback"));
    assert_eq!(color.header("etag"), again.header("etag"));

    assert_error(&get(server.addr, &format!("/v1/videos/{id}/flow?index=119")), 404, "frame_out_of_range");
    assert_error(&get(server.addr, &format!("/v1/videos/{id}/flow?index=0&algorithm=magic")), 400, "bad_request");
    assert_error(&get(server.addr, &format!("/v1/videos/{id}/flow?index=0&format=gif")), 400, "bad_request");
    assert_error(&get(server.addr, &format!("/v1/videos/{id}/flow")), 400, "bad_request");
}

fn api_keys_pick_the_tenant_and_tenants_cannot_reach_each_other(backend: Backend) {
    let server = ServerProcess::start(
        "api-keys",
        ServerSetup { settings: "[api_keys]\n\"key-a\" = \"alice\"\n\"key-b\" = \"bob\"\n", backend, ..ServerSetup::default() },
    );
    let addr = server.addr;
    assert_error(&get(addr, "/v1/videos"), 401, "unauthorized");
    assert_error(&request(addr, "GET", "/v1/videos", &[("x-api-key", "wrong")], Body::None), 401, "unauthorized");

    let bytes = std::fs::read(pattern_video("vp8.webm").path).unwrap();
    let alice = [("authorization", "Bearer key-a")];
    let bob = [("x-api-key", "key-b")];
    let created = request(addr, "POST", "/v1/videos?name=a.webm", &alice, Body::Sized(&bytes));
    assert_eq!(created.status, 201);
    let id = created.json()["id"].as_str().unwrap().to_string();
    let key = created.json()["key"].as_str().unwrap().to_string();

    assert_eq!(request(addr, "GET", "/v1/videos", &alice, Body::None).json()["videos"].as_array().unwrap().len(), 1);
    assert!(request(addr, "GET", "/v1/videos", &bob, Body::None).json()["videos"].as_array().unwrap().is_empty());
    assert_error(&request(addr, "GET", &format!("/v1/videos/{id}/frame?index=0"), &bob, Body::None), 404, "not_found");
    // Bob naming Alice's object key reaches only his own space.
    let body = format!("{{\"key\": \"{key}\"}}");
    let steal = request(addr, "POST", "/v1/videos", &[("x-api-key", "key-b"), ("content-type", "application/json")], Body::Sized(body.as_bytes()));
    assert_error(&steal, 404, "not_found");
    assert_eq!(request(addr, "GET", &format!("/v1/videos/{id}/frame?index=0"), &alice, Body::None).status, 200);
    assert!(server.store().exists(&format!("tenants/alice/{key}")));
    assert!(!server.store().exists(&format!("tenants/bob/{key}")));
}

crate::on_both_stores!(
    frames_over_http_equal_the_media_core_bit_for_bit,
    a_stored_object_is_registered_by_key_and_seed_001_serves_the_media_root,
    flow_over_http_equals_the_flow_module_in_process,
    api_keys_pick_the_tenant_and_tenants_cannot_reach_each_other,
);
