//! Video analytics over detections (seed 002) end to end: a generated video in which only
//! frames 31 and 37 are sharp (the rest blurred by FFmpeg's gblur), detections uploaded for
//! two identified traces and a stranger, then the representative face (stage 1 keeps frame
//! 37 and drops frame 31; stage 2 finds 37 the sharpest), its 320×320 thumbnail, the
//! co-occurrence of the two identities, the representative frame's fallback chain, bad
//! uploads refused without touching the stored set, and the media proxy (an allowed URL, the
//! metadata address, `file://`, a tenant's key).

use std::path::PathBuf;
use std::process::Command;

use frameflow_testkit::http_client::{request, Body, HttpResponse};
use frameflow_testkit::live::FileServer;
use serde_json::{json, Value};

use crate::server::{ServerProcess, ServerSetup};

const ADMIN: &str = "admin-key-for-the-analytics-tests-0123";
const KEY: &str = "alice-analytics-key";

/// 100 frames of testsrc2, 640×360, every frame blurred but 31 and 37.
fn sharp_frames_video() -> PathBuf {
    let path = frameflow_testkit::scratch_dir("generated-v1").join("blurred_but_31_37.mp4");
    if !path.exists() {
        let tmp = path.with_extension(format!("tmp{}.mp4", std::process::id()));
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=4"])
            .args(["-vf", "gblur=sigma=6:enable='not(eq(n\\,31)+eq(n\\,37))'", "-frames:v", "100"])
            .args(["-c:v", "libx264", "-preset", "veryfast", "-crf", "12", "-g", "25", "-bf", "0", "-pix_fmt", "yuv420p"])
            .arg(&tmp)
            .status()
            .expect("ffmpeg CLI must be installed (make test installs it)");
        assert!(status.success(), "generating the blurred video");
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

fn detection(frame: u32, trace: i64, bbox: [f64; 4], confidence: f64, identity: Option<(&str, &str)>) -> String {
    json!({
        "frame": frame, "trace_id": trace, "kind": "face",
        "bbox": {"x": bbox[0], "y": bbox[1], "width": bbox[2], "height": bbox[3]},
        "confidence": confidence,
        "identity": identity.map(|(uuid, name)| json!({"uuid": uuid, "name": name, "source": "tmdb"})),
    })
    .to_string()
}

/// Trace 1 (Audrey): frames 30-41, 30 and 31 at confidence 0.1 (out of the top 10), 37 at
/// 0.8 (last of the top 10), the rest 0.9. Trace 2 (Cary): frames 35-60. Trace 3, a
/// stranger: frames 70-75, its box over the frame's corner (clipped).
fn detections() -> String {
    let mut lines = Vec::new();
    for f in 30..=41 {
        let c = match f {
            30 | 31 => 0.1,
            37 => 0.8,
            _ => 0.9,
        };
        lines.push(detection(f, 1, [200.0, 100.0, 200.0, 200.0], c, Some(("aaaa-1", "Audrey"))));
    }
    for f in 35..=60 {
        lines.push(detection(f, 2, [20.0, 20.0, 100.0, 100.0], 0.7, Some(("bbbb-2", "Cary"))));
    }
    for f in 70..=75 {
        lines.push(detection(f, 3, [600.0, 300.0, 80.0, 80.0], 0.5, None));
    }
    lines.join("\n") + "\n"
}

fn get(server: &ServerProcess, path: &str) -> HttpResponse {
    request(server.addr, "GET", path, &[("x-api-key", KEY)], Body::None)
}

/// The size a JPEG says it is (its SOF0/SOF2 segment).
fn jpeg_size(bytes: &[u8]) -> Option<(u16, u16)> {
    let mut i = 2;
    while i + 9 < bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        if marker == 0xC0 || marker == 0xC2 {
            return Some((u16::from_be_bytes([bytes[i + 7], bytes[i + 8]]), u16::from_be_bytes([bytes[i + 5], bytes[i + 6]])));
        }
        i += 2 + len;
    }
    None
}

/// Every frame of an MPEG-TS body as 640×360 RGB24, decoded by the FFmpeg CLI.
fn decode_rgb(ts: &[u8]) -> Vec<Vec<u8>> {
    let file = frameflow_testkit::scratch_dir("analytics").join(format!("overlay-{}.ts", std::process::id()));
    std::fs::write(&file, ts).unwrap();
    let out = Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(&file).args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout.chunks(640 * 360 * 3).map(<[u8]>::to_vec).collect()
}

#[test]
fn representative_faces_cooccurrence_and_frames_from_uploaded_detections() {
    let video = sharp_frames_video();
    let files = FileServer::start(video.parent().unwrap());
    let settings = format!("admin_key = \"{ADMIN}\"\nallowed_hosts = [\"127.0.0.1\"]\nchunk_seconds = 3\n[api_keys]\n\"{KEY}\" = \"alice\"\n");
    let server = ServerProcess::start("analytics", ServerSetup { settings: &settings, ..ServerSetup::default() });
    let bytes = std::fs::read(&video).unwrap();
    let r = request(server.addr, "POST", "/v1/videos?name=film.mp4", &[("x-api-key", KEY)], Body::Sized(&bytes));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let id = r.json()["id"].as_str().unwrap().to_string();

    // No detections yet.
    assert_eq!(get(&server, &format!("/api/v1/file/{id}/trace/1/representative-face")).status, 404);
    let put = |body: &[u8]| request(server.addr, "PUT", &format!("/v1/videos/{id}/detections"), &[("x-api-key", KEY), ("content-type", "application/x-ndjson")], Body::Sized(body));
    let r = put(detections().as_bytes());
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let stats = r.json();
    assert_eq!((stats["detections"].as_u64(), stats["traces"].as_u64(), stats["identities"].as_u64(), stats["clipped"].as_u64()), (Some(44), Some(3), Some(2), Some(6)), "{stats}");

    // Bad uploads are refused whole, naming the detection; the stored set stays.
    let mut bad = detections();
    bad.push_str(&detection(100, 9, [1.0, 1.0, 10.0, 10.0], 0.5, None));
    let r = put(bad.as_bytes());
    assert_eq!(r.status, 400);
    assert!(r.json()["detail"].as_str().unwrap().contains("detection 45: frame 100"), "{:?}", r.json());
    let r = put(detection(3, 1, [1.0, 1.0, -4.0, 10.0], 0.5, None).as_bytes());
    assert_eq!(r.status, 400);
    let r = put(b"{\"detections\": [{\"frame\": 1}]}");
    assert_eq!(r.status, 400, "a detection without its fields");
    // identity.name is bounded as kind is.
    let long = "n".repeat(257);
    let r = put(detection(3, 1, [1.0, 1.0, 10.0, 10.0], 0.5, Some(("aaaa-1", &long))).as_bytes());
    assert_eq!(r.status, 400, "a 257-character identity.name");
    assert!(r.json()["detail"].as_str().unwrap().contains("detection 1: identity.name is at most 256 characters"), "{:?}", r.json());
    // A blank body is not "no detections": it would replace the stored set with nothing.
    for blank in [&b""[..], b"  \n\t\r\n "] {
        let r = put(blank);
        assert_eq!((r.status, r.header("content-type")), (400, Some("application/problem+json")), "{blank:?}");
        assert!(r.json()["detail"].as_str().unwrap().contains("the request body is empty"), "{:?}", r.json());
    }
    let page = get(&server, &format!("/v1/videos/{id}/detections?trace_id=2&limit=10")).json();
    assert_eq!(page["detections"].as_array().unwrap().len(), 10);
    assert_eq!(page["next"], 10);
    assert_eq!(page["detections"][0]["identity"]["name"], "Cary");
    let all = get(&server, &format!("/v1/videos/{id}/detections?limit=1000")).json();
    assert_eq!(all["detections"].as_array().unwrap().len(), 44, "the failed uploads changed nothing");

    // The representative face: stage 1 keeps frames 32-41, stage 2 picks 37, the sharp one.
    let r = get(&server, &format!("/api/v1/file/{id}/trace/1/representative-face"));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!((v["success"].as_bool(), v["file_uuid"].as_str(), v["trace_id"].as_i64(), v["face_count"].as_u64()), (Some(true), Some(id.as_str()), Some(1), Some(12)));
    let rep = &v["representative"];
    assert_eq!(rep["frame_number"], 37, "{v}");
    assert_eq!(rep["timestamp_secs"], 1.48);
    assert_eq!(rep["bbox"], json!({"x": 200, "y": 100, "width": 200, "height": 200}));
    assert!((rep["quality_score"].as_f64().unwrap() - 200.0 * 200.0 * 0.8).abs() < 1e-6);
    assert!(rep["blur_score"].as_f64().is_some());
    // Its thumbnail: 320×320 JPEG, cacheable for a day.
    let r = get(&server, &format!("/api/v1/file/{id}/trace/1/thumbnail"));
    assert_eq!((r.status, r.header("content-type")), (200, Some("image/jpeg")));
    assert_eq!(r.header("cache-control"), Some("public, max-age=86400"));
    assert_eq!(jpeg_size(&r.body), Some((320, 320)));

    // The stranger (trace 3), clipped at the corner; an identified trace is not one.
    let v = get(&server, &format!("/api/v1/file/{id}/stranger/3/representative-face")).json();
    assert_eq!((v["stranger_id"].as_i64(), v["face_count"].as_u64()), (Some(3), Some(6)), "{v}");
    assert_eq!(v["representative"]["bbox"], json!({"x": 600, "y": 300, "width": 40, "height": 60}));
    let r = get(&server, &format!("/api/v1/file/{id}/stranger/3/thumbnail"));
    assert_eq!((r.status, jpeg_size(&r.body)), (200, Some((320, 320))));
    assert_eq!(get(&server, &format!("/api/v1/file/{id}/stranger/1/representative-face")).status, 404);
    assert_eq!(get(&server, &format!("/api/v1/file/{id}/trace/99/representative-face")).status, 404);
    let r = get(&server, &format!("/api/v1/file/{id}/trace/abc/thumbnail"));
    assert_eq!((r.status, r.json()["success"].as_bool()), (404, Some(false)));

    // Co-occurrence: frames 35-41.
    let v = get(&server, &format!("/api/v1/file/{id}/identities/aaaa-1/co-occur-with/bbbb-2")).json();
    assert_eq!(v["identity_a"]["name"], "Audrey");
    assert_eq!(v["identity_b"]["trace_id"], 2);
    let first = &v["first_cooccurrence"];
    assert_eq!((first["frame_number"].as_u64(), first["total_cooccurrence_frames"].as_u64()), (Some(35), Some(7)), "{v}");
    assert_eq!(first["representative_face_a"]["frame_number"], 37);
    assert_eq!(first["representative_face_a"]["thumbnail_url"], format!("/api/v1/file/{id}/trace/1/thumbnail"));
    assert_eq!(get(&server, &format!("/api/v1/file/{id}/identities/aaaa-1/co-occur-with/nobody")).status, 404);
    // An identity is not with itself.
    let r = get(&server, &format!("/api/v1/file/{id}/identities/aaaa-1/co-occur-with/aaaa-1"));
    assert_eq!((r.status, r.json()["code"].as_str(), r.json()["success"].as_bool()), (404, Some("never_together"), Some(false)), "{:?}", r.json());

    // The representative frame: the two main identities' first co-occurrence, in the first half.
    let v = get(&server, &format!("/api/v1/file/{id}/representative-frame")).json();
    assert_eq!((v["frame_number"].as_u64(), v["selected_by"].as_str()), (Some(35), Some("co_occurrence")), "{v}");
    assert_eq!(v["main_identities"][0]["name"], "Cary");
    assert_eq!(v["traces"].as_array().unwrap().len(), 2);

    // `/thumbnail` without `frame`: that frame, whole or cropped; crop parameters go together.
    let r = get(&server, &format!("/api/v1/file/{id}/thumbnail"));
    assert_eq!((r.status, r.header("cache-control")), (200, Some("public, max-age=86400")));
    assert_eq!(jpeg_size(&r.body), Some((640, 360)));
    let exact = get(&server, &format!("/api/v1/file/{id}/thumbnail?frame=35"));
    assert_eq!(exact.status, 200, "with frame it stays the exact-frame route");
    let r = get(&server, &format!("/api/v1/file/{id}/thumbnail?x=200&y=100&w=160&h=120"));
    assert_eq!(jpeg_size(&r.body), Some((160, 120)));
    assert_eq!(get(&server, &format!("/api/v1/file/{id}/thumbnail?x=200&y=100")).status, 400);
    // Chunks: fixed windows of chunk_seconds (3 s here: frames 0-74 and 75-99).
    let chunks = get(&server, &format!("/api/v1/file/{id}/chunks")).json();
    assert_eq!(
        chunks["chunks"],
        json!([{"chunk_id": "chunk_1", "start_frame": 0, "end_frame": 74, "start_secs": 0.0, "end_secs": 3.0},
               {"chunk_id": "chunk_2", "start_frame": 75, "end_frame": 99, "start_secs": 3.0, "end_secs": 4.0}])
    );
    let r = get(&server, &format!("/api/v1/file/{id}/chunk/chunk_1/thumbnail"));
    assert_eq!((r.status, jpeg_size(&r.body)), (200, Some((640, 360))));
    // The second chunk has no face: its middle frame.
    let r = get(&server, &format!("/api/v1/file/{id}/chunk/chunk_2/thumbnail"));
    assert_eq!((r.status, jpeg_size(&r.body)), (200, Some((640, 360))));
    assert_eq!(get(&server, &format!("/api/v1/file/{id}/chunk/chunk_3/thumbnail")).status, 404);

    // Overlay videos (MPEG-TS, re-encoded as sent): a trace's span with its box; every box.
    let r = get(&server, &format!("/api/v1/file/{id}/trace/1/video?audio=off"));
    assert_eq!((r.status, r.header("content-type")), (200, Some("video/mp2t")));
    let frames = decode_rgb(&r.body);
    assert_eq!(frames.len(), 12, "trace 1 is on frames 30-41");
    // The box's left edge (x = 200) is drawn green down the middle of the face.
    let px = |f: &[u8], x: usize, y: usize| [f[(y * 640 + x) * 3], f[(y * 640 + x) * 3 + 1], f[(y * 640 + x) * 3 + 2]];
    let edge = px(&frames[0], 200, 200);
    assert!(edge[1] > 150 && edge[0] < 110 && edge[2] < 110, "{edge:?}");
    let r = get(&server, &format!("/api/v1/file/{id}/video/bbox?start_frame=35&end_frame=40&audio=off"));
    let frames = decode_rgb(&r.body);
    assert_eq!(frames.len(), 6);
    // Both traces are boxed on frame 35 (trace 2's left edge at x = 20).
    let edge = px(&frames[0], 21, 70);
    assert!(edge[1] > 150 && edge[0] < 110 && edge[2] < 110, "{edge:?}");
    assert_eq!(get(&server, &format!("/api/v1/file/{id}/trace/99/video")).status, 404);
    assert_eq!(get(&server, &format!("/api/v1/file/{id}/video/bbox?start_frame=50&end_frame=10")).status, 400);

    // The media proxy: the system key only; the guard decides where it may go.
    let url = files.url(video.file_name().unwrap().to_str().unwrap());
    let proxied = |key: &str, url: &str| request(server.addr, "GET", &format!("/api/v1/media-proxy?url={url}"), &[("x-api-key", key)], Body::None);
    let r = proxied(ADMIN, &url);
    assert_eq!((r.status, r.header("content-type")), (200, Some("video/mp4")));
    assert_eq!(r.body, bytes);
    assert_eq!(proxied(KEY, &url).status, 403, "a tenant's key");
    let r = proxied(ADMIN, "http://169.254.169.254/latest/meta-data/");
    assert_eq!(r.status, 400);
    assert!(r.json()["detail"].as_str().unwrap().contains("link-local"));
    assert_eq!(proxied(ADMIN, "file:///etc/passwd").status, 400);
    assert_eq!(proxied(ADMIN, &files.url("missing.jpg")).status, 502);
    let v: Value = serde_json::from_slice(&proxied(ADMIN, "").body).unwrap();
    assert_eq!(v["status"], 400);
}
