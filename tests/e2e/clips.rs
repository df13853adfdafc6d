//! Cuts by frame range through `frameflow serve`, on both stores: `/clip` (seed 002's route
//! too) re-encodes exactly frames S..=E — the pattern videos show their own index, so every
//! frame of the result is checked — with PSNR against the media core's frames; time ranges
//! and the `fps` override; `/video?start_frame` stream copies; HLS playlists whose segments
//! put back every frame of an MKV; animated previews; and the limits: bad ranges (400), too
//! long (413), every encode slot busy (429), a client that goes away freeing its slot.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use frameflow_media::{RenderOptions, Video};
use frameflow_testkit::http_client::{request, Body, HttpResponse};
use frameflow_testkit::pattern::{decode_pattern, pattern_video, video_with_audio};

use crate::on_both_stores;
use crate::server::{Backend, ServerProcess, ServerSetup};

fn upload(addr: SocketAddr, path: &std::path::Path, name: &str) -> String {
    let r = request(addr, "POST", &format!("/v1/videos?name={name}"), &[], Body::Sized(&std::fs::read(path).unwrap()));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()["id"].as_str().unwrap().to_string()
}

fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    request(addr, "GET", path, &[], Body::None)
}

/// The response body saved where the media core can open it.
fn saved(r: &HttpResponse, name: &str) -> PathBuf {
    assert_eq!(r.status, 200, "{name}: {}", String::from_utf8_lossy(&r.body));
    let file = frameflow_testkit::scratch_dir("clips-e2e").join(name);
    std::fs::write(&file, &r.body).unwrap();
    file
}

/// The pattern index each frame of a video shows.
fn patterns(path: &std::path::Path) -> Vec<u32> {
    let mut video = Video::open(path).unwrap();
    (0..video.frame_count())
        .map(|i| {
            let f = video.frame(i, &RenderOptions::default()).unwrap().image;
            decode_pattern(&f.data, f.width, f.height)
        })
        .collect()
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse = a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum::<f64>() / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10()
}

fn error(r: &HttpResponse, status: u16, says: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    let message = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains(says), "'{message}' should say '{says}'");
}

on_both_stores!(clips_hold_exactly_the_frames_asked, ranges_copy_and_hls_segments_put_every_frame_back);

fn clips_hold_exactly_the_frames_asked(backend: Backend) {
    let server = ServerProcess::start("clips", ServerSetup { backend, settings: "max_clip_frames = 200\n", ..ServerSetup::default() });
    let addr = server.addr;
    let source = pattern_video("h264_bframes_gop250.mp4").path;
    let id = upload(addr, &source, "pattern.mp4");
    let mut core = Video::open(&source).unwrap();

    let r = get(addr, &format!("/v1/videos/{id}/clip?start_frame=40&end_frame=87"));
    assert_eq!(r.header("content-type"), Some("video/mp2t"));
    assert_eq!(r.header("cache-control"), Some("public, max-age=86400"));
    assert_eq!(r.header("x-clip-frame-count"), Some("48"));
    assert!(r.header("content-length").is_none(), "streamed as it is encoded");
    let clip = saved(&r, &format!("40-87-{backend:?}.ts"));
    assert_eq!(patterns(&clip), (40..=87).collect::<Vec<u32>>(), "exactly frames 40..=87, in order");
    let mut decoded = Video::open(&clip).unwrap();
    for (at, source_index) in [(0, 40), (47, 87)] {
        let (a, b) = (decoded.frame(at, &RenderOptions::default()).unwrap(), core.frame(source_index, &RenderOptions::default()).unwrap());
        let db = psnr(&a.image.data, &b.image.data);
        assert!(db >= 33.0, "clip frame {at} vs frame {source_index}: {db:.1} dB");
    }

    // Seed 002's route as written, MP4, the debug overlay, time ranges and the fps override.
    let seed = saved(&get(addr, &format!("/api/v1/file/{id}/clip?start_frame=0&end_frame=47")), "seed.ts");
    assert_eq!(patterns(&seed).len(), 48);
    let mp4 = get(addr, &format!("/v1/videos/{id}/clip?start_frame=10&end_frame=19&format=mp4"));
    assert_eq!(mp4.header("content-type"), Some("video/mp4"));
    assert_eq!(patterns(&saved(&mp4, "10-19.mp4")), (10..=19).collect::<Vec<u32>>());
    let debug = saved(&get(addr, &format!("/v1/videos/{id}/clip?start_frame=0&end_frame=47&mode=debug")), "debug.ts");
    let top = |p: &std::path::Path| Video::open(p).unwrap().frame(5, &RenderOptions::default()).unwrap().image.data[..320 * 3 * 16].to_vec();
    assert!(psnr(&top(&seed), &top(&debug)) < 25.0, "the debug label is drawn at the top");
    let by_time = saved(&get(addr, &format!("/v1/videos/{id}/clip?start_time=2&end_time=4")), "2s-4s.ts");
    assert_eq!(patterns(&by_time), (50..=99).collect::<Vec<u32>>(), "2 s to 4 s at 25 fps, end exclusive");
    let by_rate = saved(&get(addr, &format!("/v1/videos/{id}/clip?start_time=2&end_time=4&fps=10")), "fps10.ts");
    assert_eq!(patterns(&by_rate), (20..=39).collect::<Vec<u32>>(), "frame = t x fps when fps is given");

    // Bad input, each named, and the server keeps serving.
    let bad = |query: &str| get(addr, &format!("/v1/videos/{id}/clip?{query}"));
    error(&bad(""), 400, "needs a range");
    error(&bad("start_frame=10"), 400, "end_frame");
    error(&bad("start_frame=50&end_frame=40"), 400, "before it starts");
    error(&bad("start_frame=0&end_frame=1000000000"), 400, "beyond the video");
    error(&bad("start_frame=0&end_frame=10&fps=0"), 400, "fps");
    error(&bad("start_time=3&end_time=2"), 400, "after");
    error(&bad("start_frame=0&end_frame=10&format=avi"), 400, "ts or mp4");
    error(&bad("start_frame=0&end_frame=10&mode=loud"), 400, "normal or debug");
    error(&bad("start_frame=0&end_frame=250"), 413, "at most 200");
    assert_eq!(get(addr, "/v1/videos/0123456789abcdef/clip?start_frame=0&end_frame=1").status, 404);

    // Animated previews: 1 s to 3 s at 5 fps, frames 25, 30, ... 70.
    let gif = get(addr, &format!("/v1/videos/{id}/animated?start=1&end=3&fps=5&width=160"));
    assert_eq!(gif.header("content-type"), Some("image/gif"));
    assert_eq!(patterns(&saved(&gif, "preview.gif")), (0..10).map(|k| 25 + 5 * k).collect::<Vec<u32>>());
    let webp = get(addr, &format!("/v1/videos/{id}/animated?format=webp"));
    assert_eq!((webp.status, webp.header("content-type")), (200, Some("image/webp")));
    assert_eq!(&webp.body[..4], b"RIFF");
    error(&get(addr, &format!("/v1/videos/{id}/animated?start=0&end=11")), 400, "at most 10");
    error(&get(addr, &format!("/v1/videos/{id}/animated?format=png")), 400, "gif or webp");
    error(&get(addr, &format!("/v1/videos/{id}/animated?fps=0")), 400, "fps");
    assert!(server.stderr().lines().all(|l| !l.contains("panicked")));
}

fn ranges_copy_and_hls_segments_put_every_frame_back(backend: Backend) {
    let server = ServerProcess::start("clips-hls", ServerSetup { backend, ..ServerSetup::default() });
    let addr = server.addr;
    let mp4 = upload(addr, &pattern_video("h264_bframes_gop250.mp4").path, "pattern.mp4");

    // Seed 002's "quick preview clip": a stream copy, starting at frame 40 by its edit list.
    let r = get(addr, &format!("/v1/videos/{mp4}/video?start_frame=40&end_frame=87"));
    assert_eq!(r.header("content-type"), Some("video/mp4"));
    let shown = patterns(&saved(&r, &format!("copy-{backend:?}.mp4")));
    assert_eq!(shown[..48], (40..=87).collect::<Vec<u32>>()[..], "the copy shows frames 40..=87 first");
    assert!(shown.len() <= 51, "and at most a few B-frame references after: {}", shown.len());
    let r = get(addr, &format!("/api/v1/file/{mp4}/video?start_frame=0&end_frame=9"));
    assert_eq!(patterns(&saved(&r, "seed-copy.mp4"))[..10], (0..10).collect::<Vec<u32>>()[..]);
    assert_eq!(get(addr, &format!("/v1/videos/{mp4}/video?start_frame=9&end_frame=3")).status, 400);

    // HLS of an MKV: the segments, joined, are every frame in order.
    let pv = pattern_video("h264_vfr.mkv");
    let mkv = upload(addr, &pv.path, "vfr.mkv");
    let playlist = get(addr, &format!("/v1/videos/{mkv}/hls/index.m3u8"));
    assert_eq!((playlist.status, playlist.header("content-type")), (200, Some("application/vnd.apple.mpegurl")));
    let text = String::from_utf8(playlist.body).unwrap();
    assert!(text.starts_with("#EXTM3U\n") && text.ends_with("#EXT-X-ENDLIST\n"), "{text}");
    let names: Vec<&str> = text.lines().filter(|l| l.ends_with(".ts")).collect();
    assert!(names.len() >= 2, "a 4.8 s video with a key frame every 2 s: {text}");
    let mut joined = Vec::new();
    for name in &names {
        let segment = get(addr, &format!("/v1/videos/{mkv}/hls/{name}"));
        assert_eq!((segment.status, segment.header("content-type")), (200, Some("video/mp2t")), "{name}");
        assert_eq!(segment.body[0], 0x47, "an MPEG-TS packet");
        joined.extend_from_slice(&segment.body);
    }
    let file = frameflow_testkit::scratch_dir("clips-e2e").join(format!("joined-{backend:?}.ts"));
    std::fs::write(&file, &joined).unwrap();
    assert_eq!(patterns(&file), (0..pv.frames).collect::<Vec<u32>>(), "every frame once, in order");
    assert_eq!(get(addr, &format!("/v1/videos/{mkv}/hls/99.ts")).status, 404);
    // One name per segment, the playlist's: other spellings of 1 are not it.
    for other in ["+1.ts", "01.ts", "00001.ts", "1.0.ts", " 1.ts"] {
        assert_eq!(get(addr, &format!("/v1/videos/{mkv}/hls/{}", other.replace(' ', "%20"))).status, 404, "{other}");
    }
    let vp8 = upload(addr, &pattern_video("vp8.webm").path, "vp8.webm");
    error(&get(addr, &format!("/v1/videos/{vp8}/hls/index.m3u8")), 422, "vp8");
    error(&get(addr, &format!("/v1/videos/{vp8}/video?start_frame=0&end_frame=9")), 422, "vp8");
    assert!(server.stderr().lines().all(|l| !l.contains("panicked")));
}

/// Sends a GET and reads only the response head: the body is left in flight.
fn start_reading(addr: SocketAddr, path: &str) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nhost: test\r\n\r\n").unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    (stream, String::from_utf8_lossy(&head).into_owned())
}

#[test]
fn busy_encode_slots_answer_429_and_a_client_that_leaves_frees_its_slot() {
    let server = ServerProcess::start("clips-slots", ServerSetup { settings: "max_concurrent_encodes = 1\n", ..ServerSetup::default() });
    let addr = server.addr;
    let id = upload(addr, &video_with_audio(), "talk.mp4");
    // A long, large clip whose body nobody reads: it holds the only slot.
    let (reader, head) = start_reading(addr, &format!("/v1/videos/{id}/clip?start_frame=0&end_frame=499&width=1280&height=720"));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let r = get(addr, &format!("/v1/videos/{id}/clip?start_frame=0&end_frame=9"));
    error(&r, 429, "encode slot");
    // The client goes away: the encode stops and its slot comes back.
    drop(reader);
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let r = get(addr, &format!("/v1/videos/{id}/clip?start_frame=0&end_frame=9"));
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 429, "{}", String::from_utf8_lossy(&r.body));
        assert!(Instant::now() < until, "the slot of a client that went away was never freed");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(server.stderr().lines().all(|l| !l.contains("panicked")));
}
