//! Media delivery through `frameflow serve`, on both stores: the stored video streamed
//! with HTTP ranges (exact bytes, 206/416, ETag, If-None-Match, If-Range), thumbnails of
//! exact frames cropped and fitted (pixels equal to the media core's), on the v1 routes and
//! seed 002's `/api/v1/file/{id}/...`, and a TS remuxed into MP4 (seed 001) with the same
//! frames, bit for bit.

use std::net::SocketAddr;

use frameflow_media::{Crop, RenderOptions, Video};
use frameflow_testkit::http_client::{request, Body, HttpResponse};
use frameflow_testkit::pattern::{decode_pattern, pattern_video, video_with_audio};
use serde_json::Value;

use crate::on_both_stores;
use crate::server::{Backend, ServerProcess, ServerSetup};

fn upload(addr: SocketAddr, bytes: &[u8], name: &str) -> Value {
    let r = request(addr, "POST", &format!("/v1/videos?name={name}"), &[], Body::Sized(bytes));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    request(addr, "GET", path, headers, Body::None)
}

fn png_pixels(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut reader = png::Decoder::new(png_bytes).read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG pixels");
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn error(r: &HttpResponse, status: u16, says: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    let message = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains(says), "'{message}' should say '{says}'");
}

on_both_stores!(
    the_stored_video_streams_with_ranges,
    thumbnails_are_exact_frames_cropped_and_fitted,
    a_ts_remuxed_to_mp4_has_the_same_frames,
    a_storyboard_tiles_the_frames_its_vtt_names
);

fn the_stored_video_streams_with_ranges(backend: Backend) {
    let server = ServerProcess::start("delivery-video", ServerSetup { backend, ..ServerSetup::default() });
    let addr = server.addr;
    // Over 1 MiB, so the whole file crosses the host's 1 MiB read chunks.
    let bytes = std::fs::read(video_with_audio()).unwrap();
    let size = bytes.len();
    assert!(size > (1 << 20) + 100, "the test video is {size} bytes");
    let id = upload(addr, &bytes, "talk.mp4")["id"].as_str().unwrap().to_string();
    let path = format!("/v1/videos/{id}/video");

    let whole = get(addr, &path, &[]);
    assert_eq!(whole.status, 200);
    assert!(whole.body == bytes, "the whole stored video, byte for byte");
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    assert_eq!(whole.header("content-type"), Some("video/mp4"));
    assert_eq!(whole.header("content-length"), Some(size.to_string().as_str()));
    let etag = whole.header("etag").expect("an ETag").to_string();

    let part = |range: &str| get(addr, &path, &[("range", range)]);
    let r = part("bytes=1000-1999");
    assert_eq!((r.status, r.header("content-range")), (206, Some(format!("bytes 1000-1999/{size}").as_str())));
    assert!(r.body == bytes[1000..2000]);
    // Across the host's 1 MiB chunks.
    let (a, b) = ((1 << 20) - 10, (1 << 20) + 10);
    let r = part(&format!("bytes={a}-{b}"));
    assert_eq!(r.status, 206);
    assert!(r.body == bytes[a..=b]);
    let r = part("bytes=-100");
    assert_eq!((r.status, r.body.as_slice()), (206, &bytes[size - 100..]));
    let r = part(&format!("bytes={}-", size - 10));
    assert_eq!((r.status, r.body.as_slice()), (206, &bytes[size - 10..]));
    let r = part(&format!("bytes={size}-"));
    assert_eq!((r.status, r.header("content-range")), (416, Some(format!("bytes */{size}").as_str())));
    assert_eq!(part("bytes=abc").status, 200, "a Range that does not parse is ignored");
    let r = part("bytes=0-9, 20-29");
    assert_eq!((r.status, r.body.as_slice()), (206, &bytes[..10]), "the first of several ranges");

    // Validators.
    assert_eq!(get(addr, &path, &[("if-none-match", &etag)]).status, 304);
    // If-None-Match compares weakly (RFC 9110 §13.1.2), as on the frame routes.
    let weak = format!("\"another-version\", W/{etag}");
    let r = get(addr, &path, &[("if-none-match", &weak)]);
    assert_eq!((r.status, r.header("etag")), (304, Some(etag.as_str())), "{weak}");
    assert_eq!(get(addr, &path, &[("if-none-match", "W/\"another-version\"")]).status, 200);
    let r = get(addr, &path, &[("range", "bytes=0-9"), ("if-range", &etag)]);
    assert_eq!(r.status, 206, "If-Range with the current ETag keeps the range");
    let r = get(addr, &path, &[("range", "bytes=0-9"), ("if-range", "\"another-version\"")]);
    assert_eq!((r.status, r.body.len()), (200, size), "If-Range with another version: the whole video");

    // Seed 002's route, as written.
    let r = get(addr, &format!("/api/v1/file/{id}/video?mode=normal&audio=on"), &[("range", "bytes=1000-1999")]);
    assert_eq!(r.status, 206);
    assert!(r.body == bytes[1000..2000]);
    assert_eq!(get(addr, "/v1/videos/0123456789abcdef/video", &[]).status, 404);
    // A name that does not say the container: the demuxer does.
    let unnamed = upload(addr, &bytes, "talk")["id"].as_str().unwrap().to_string();
    assert_eq!(get(addr, &format!("/v1/videos/{unnamed}/video"), &[("range", "bytes=0-9")]).header("content-type"), Some("video/mp4"));
    assert_eq!(get(addr, &format!("{path}?start=1"), &[]).status, 400, "unknown parameters are refused");
    assert!(server.stderr().lines().all(|l| !l.contains("panicked")));
}

fn thumbnails_are_exact_frames_cropped_and_fitted(backend: Backend) {
    let server = ServerProcess::start("delivery-thumbnail", ServerSetup { backend, ..ServerSetup::default() });
    let addr = server.addr;
    let pv = pattern_video("h264_bframes_gop250.mp4");
    let id = upload(addr, &std::fs::read(&pv.path).unwrap(), "pattern.mp4")["id"].as_str().unwrap().to_string();
    let mut core = Video::open(&pv.path).unwrap();

    // Frame 137, the region x=40 y=20 w=160 h=120: exactly the media core's pixels (PNG).
    let r = get(addr, &format!("/v1/videos/{id}/thumbnail?frame=137&x=40&y=20&w=160&h=120&format=png"), &[]);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!((r.header("content-type"), r.header("x-frame-index")), (Some("image/png"), Some("137")));
    assert_eq!(r.header("cache-control"), Some("public, max-age=86400"));
    assert!(r.header("etag").is_some_and(|e| e.starts_with('"')));
    let want = core.frame(137, &RenderOptions { crop: Some(Crop { x: 40, y: 20, width: 160, height: 120 }), ..RenderOptions::default() }).unwrap();
    let (w, h, pixels) = png_pixels(&r.body);
    assert_eq!((w, h), (160, 120));
    assert!(pixels == want.image.data, "the cropped thumbnail is the media core's region of frame 137");
    // The whole frame is still frame 137 (the pattern encodes its index).
    let (w, h, pixels) = png_pixels(&get(addr, &format!("/v1/videos/{id}/thumbnail?frame=137&format=png"), &[]).body);
    assert_eq!(decode_pattern(&pixels, w, h), 137);

    // Fitting 320x240 into 200x200.
    let size = |query: &str| {
        let r = get(addr, &format!("/v1/videos/{id}/thumbnail?frame=3&format=png&{query}"), &[]);
        assert_eq!(r.status, 200, "{query}: {}", String::from_utf8_lossy(&r.body));
        let (w, h, pixels) = png_pixels(&r.body);
        (w, h, pixels)
    };
    let dims = |query: &str| {
        let (w, h, _) = size(query);
        (w, h)
    };
    assert_eq!(dims("width=200&height=200"), (200, 150), "preserve (the default) fits inside");
    let (w, h, pad) = size("width=200&height=200&fit_mode=pad");
    assert_eq!((w, h), (200, 200));
    assert!(pad[..200 * 3 * 20].iter().all(|&v| v == 0), "pad letterboxes on black");
    assert_eq!(dims("width=200&height=200&fit_mode=crop"), (200, 200));
    assert_eq!(dims("width=200&height=200&fit_mode=stretch"), (200, 200));
    assert_eq!(dims("width=160"), (160, 120));

    // WebP: lossy, still frame 137.
    let r = get(addr, &format!("/v1/videos/{id}/thumbnail?frame=137&format=webp"), &[]);
    assert_eq!((r.status, r.header("content-type")), (200, Some("image/webp")));
    assert_eq!((&r.body[..4], &r.body[8..12]), (&b"RIFF"[..], &b"WEBP"[..]));
    let file = frameflow_testkit::scratch_dir("delivery-e2e").join(format!("thumb-{backend:?}.webp"));
    std::fs::write(&file, &r.body).unwrap();
    let still = Video::open(&file).unwrap().frame(0, &RenderOptions::default()).unwrap().image;
    assert_eq!(decode_pattern(&still.data, still.width, still.height), 137);

    // Without a frame: the sharpest of a few, and the rule is said.
    let r = get(addr, &format!("/v1/videos/{id}/thumbnail"), &[]);
    assert_eq!((r.status, r.header("content-type")), (200, Some("image/jpeg")));
    assert_eq!(r.header("x-thumbnail-rule"), Some("sharpest-of-8-evenly-spaced"));

    // Seed 002's route, as written.
    let r = get(addr, &format!("/api/v1/file/{id}/thumbnail?frame=100&x=0&y=0&w=80&h=60"), &[]);
    assert_eq!((r.status, r.header("content-type"), r.header("x-frame-index")), (200, Some("image/jpeg"), Some("100")));

    // Bad input, each named.
    let bad = |query: &str| get(addr, &format!("/v1/videos/{id}/thumbnail?{query}"), &[]);
    error(&bad("frame=1&x=1&y=2"), 400, "missing w, h");
    error(&bad("frame=1&x=300&y=0&w=100&h=10"), 400, "outside the 320x240 frame");
    error(&bad("frame=1&x=0&y=0&w=0&h=10"), 400, "'w'");
    error(&bad("frame=1&fit_mode=smart"), 400, "fit_mode");
    error(&bad("frame=1&time=2"), 400, "at most one");
    assert_eq!(bad("frame=300").status, 404, "past the last frame");
    assert_eq!(bad("frame=-1").status, 400);
}

fn a_ts_remuxed_to_mp4_has_the_same_frames(backend: Backend) {
    let server = ServerProcess::start("delivery-remux", ServerSetup { backend, ..ServerSetup::default() });
    let addr = server.addr;
    // A user's .ts: the pattern video copied into MPEG-TS by the FFmpeg CLI.
    let ts = frameflow_testkit::scratch_dir("delivery-e2e").join("pattern.ts");
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(pattern_video("h264_bframes_gop250.mp4").path)
        .args(["-map", "0:v", "-c", "copy", "-f", "mpegts"])
        .arg(&ts)
        .status()
        .unwrap();
    assert!(made.success());
    let source = upload(addr, &std::fs::read(&ts).unwrap(), "clip.ts");
    let source_id = source["id"].as_str().unwrap().to_string();

    let r = request(addr, "POST", &format!("/v1/videos/{source_id}/remux?container=mp4"), &[], Body::None);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let copy = r.json();
    let copy_id = copy["id"].as_str().unwrap().to_string();
    assert_ne!(copy_id, source_id);
    assert_eq!((copy["name"].as_str(), copy["remuxed_from"].as_str()), (Some("clip.mp4"), Some(source_id.as_str())));
    assert_eq!(copy["frame_count"], source["frame_count"]);
    assert_eq!(copy["frame_count"], 300);
    let streamed = get(addr, &format!("/v1/videos/{copy_id}/video"), &[]);
    assert_eq!(streamed.header("content-type"), Some("video/mp4"));
    for index in [0, 1, 137, 249, 250, 299] {
        let frame = |id: &str| get(addr, &format!("/v1/videos/{id}/frame?index={index}&format=rgb24"), &[]).body;
        assert!(frame(&source_id) == frame(&copy_id), "frame {index} of the MP4 differs from the TS's");
    }

    // A codec the container cannot hold, and containers that do not exist.
    let vp8 = upload(addr, &std::fs::read(pattern_video("vp8.webm").path).unwrap(), "vp8.webm");
    let r = request(addr, "POST", &format!("/v1/videos/{}/remux?container=ts", vp8["id"].as_str().unwrap()), &[], Body::None);
    error(&r, 422, "vp8");
    let r = request(addr, "POST", &format!("/v1/videos/{source_id}/remux?container=avi"), &[], Body::None);
    error(&r, 400, "mp4, mkv or ts");
    assert_eq!(request(addr, "POST", "/v1/videos/0123456789abcdef/remux", &[], Body::None).status, 404);
    let listed = get(addr, "/v1/videos", &[]).json();
    assert_eq!(listed["videos"].as_array().unwrap().len(), 3, "the refused copy left nothing behind: {listed}");
}

fn a_storyboard_tiles_the_frames_its_vtt_names(backend: Backend) {
    let server = ServerProcess::start("delivery-storyboard", ServerSetup { backend, ..ServerSetup::default() });
    let addr = server.addr;
    let pv = pattern_video("h264_bframes_gop250.mp4");
    let id = upload(addr, &std::fs::read(&pv.path).unwrap(), "pattern.mp4")["id"].as_str().unwrap().to_string();

    let vtt = get(addr, &format!("/v1/videos/{id}/storyboard.vtt?tiles=4&width=160&columns=2"), &[]);
    assert_eq!((vtt.status, vtt.header("content-type")), (200, Some("text/vtt; charset=utf-8")));
    let text = String::from_utf8(vtt.body).unwrap();
    assert!(text.starts_with("WEBVTT\n"), "{text}");
    let cues: Vec<&str> = text.lines().filter(|l| l.contains("#xywh=")).collect();
    assert_eq!(cues.len(), 4, "{text}");
    assert!(cues[3].ends_with("#xywh=160,120,160,120"), "{}", cues[3]);
    assert!(text.contains("00:00:00.000 --> 00:00:03.000"), "the first tile spans the first quarter of 12 s: {text}");

    // The sprite the cues point at: 2x2 tiles of 160x120, tile k the middle frame of quarter k.
    let url = cues[0].split('#').next().unwrap();
    let sprite = get(addr, url, &[]);
    assert_eq!((sprite.status, sprite.header("content-type")), (200, Some("image/jpeg")));
    let file = frameflow_testkit::scratch_dir("delivery-e2e").join(format!("sprite-{backend:?}.jpg"));
    std::fs::write(&file, &sprite.body).unwrap();
    let mut image = Video::open(&file).unwrap();
    let sheet = image.frame(0, &RenderOptions::default()).unwrap().image;
    assert_eq!((sheet.width, sheet.height), (320, 240));
    for k in 0..4u32 {
        let (x0, y0) = ((k % 2) * 160, (k / 2) * 120);
        let mut tile = Vec::with_capacity(160 * 120 * 3);
        for y in y0..y0 + 120 {
            let row = (y * 320 + x0) as usize * 3;
            tile.extend_from_slice(&sheet.data[row..row + 160 * 3]);
        }
        assert_eq!(decode_pattern(&tile, 160, 120), (2 * k + 1) * 300 / 8, "tile {k}");
    }
    assert_eq!(get(addr, &format!("/v1/videos/{id}/storyboard.jpg?tiles=0"), &[]).status, 400);
    assert_eq!(get(addr, &format!("/v1/videos/{id}/storyboard.jpg?width=5000"), &[]).status, 400);
    // A sheet over a JPEG's 65535 px a side (640x480 tiles, 256 down: 640x122880) is refused
    // before anything is decoded, and so is its VTT.
    for route in ["storyboard.jpg", "storyboard.vtt"] {
        error(&get(addr, &format!("/v1/videos/{id}/{route}?tiles=256&columns=1&width=640"), &[]), 413, "65535");
    }
}
