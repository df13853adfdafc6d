//! frameflow's delivery in a real browser: headless Chromium (Debian's, driven by Playwright
//! through `tests/browser/playback.py`) plays `/video` of an MP4 and seeks to t≈5 s, plays
//! the HLS playlist of an MKV through hls.js and seeks, and shows a storyboard tile; each
//! picture the browser drew is read back and must be the frame frameflow's own `/frame`
//! serves for that time (the pattern videos show their index). Says SKIP when Chromium,
//! Playwright or hls.js is missing (`scripts/setup.sh` installs them). The web viewer at `/`
//! (`tests/browser/viewer.py`): upload, scrub to frame 100 (exactly the media core's pixels),
//! step and jump with the keyboard, the flow overlay, a non-video upload's error in words.

use base64::Engine;
use frameflow_testkit::http_client::{request, Body};
use frameflow_testkit::pattern::{decode_pattern, pattern_video};
use serde_json::Value;

use crate::server::{ServerProcess, ServerSetup};

const HLS_JS: &str = "hls.js-1.5.20/hls.min.js";

/// The tools venv's Python when Debian's Chromium and Playwright are both there; else says SKIP.
fn chromium_and_playwright() -> Option<std::path::PathBuf> {
    let python = frameflow_testkit::python_with("playwright").filter(|_| std::path::Path::new("/usr/bin/chromium").exists());
    if python.is_none() {
        eprintln!("SKIP: the browser tests need /usr/bin/chromium and playwright in the tools venv (scripts/setup.sh)");
    }
    python
}

/// The pattern index of the RGB picture in `drawn` (`width`, `height`, base64 `rgb`).
fn pattern_in(drawn: &Value) -> u32 {
    let rgb = base64::engine::general_purpose::STANDARD.decode(drawn["rgb"].as_str().expect("pixels")).unwrap();
    decode_pattern(&rgb, drawn["width"].as_u64().unwrap() as u32, drawn["height"].as_u64().unwrap() as u32)
}

#[test]
fn chromium_plays_seeks_and_shows_the_storyboard() {
    let Some(python) = chromium_and_playwright() else { return };
    let hls_js = frameflow_testkit::tools_dir().join(HLS_JS);
    if !hls_js.exists() {
        eprintln!("SKIP: the browser test needs {} (scripts/setup.sh)", hls_js.display());
        return;
    }
    let server = ServerProcess::start("browser", ServerSetup::default());
    let addr = server.addr;
    let upload = |path: &std::path::Path, name: &str| {
        let r = request(addr, "POST", &format!("/v1/videos?name={name}"), &[], Body::Sized(&std::fs::read(path).unwrap()));
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.json()["id"].as_str().unwrap().to_string()
    };
    let mp4 = upload(&pattern_video("h264_bframes_gop250.mp4").path, "pattern.mp4");
    let mkv = upload(&pattern_video("h264_vfr.mkv").path, "vfr.mkv");
    // t = 5 s is where frame 125 of the 25 fps MP4 begins: the frame a browser shows there
    // and the one `/frame?time=5` serves (FFmpeg's `-ss` rule: the first frame at or after t;
    // between two frames the two rules differ). In the variable-rate MKV, the middle of frame
    // 60's span, so no rounding of HLS's timeline can pick a neighbour.
    let mp4_at = 5.0;
    let ids = request(addr, "GET", &format!("/v1/videos/{mkv}/frames?from_index=60&count=2"), &[], Body::None).json();
    let (t60, t61) = (ids["frames"][0]["seconds"].as_f64().unwrap(), ids["frames"][1]["seconds"].as_f64().unwrap());
    let mkv_at = (t60 + t61) / 2.0;

    let out = std::process::Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/browser/playback.py"))
        .arg(format!("http://{addr}"))
        .args([&mp4, &mp4_at.to_string(), &mkv, &mkv_at.to_string()])
        .arg(&hls_js)
        .output()
        .unwrap();
    assert!(out.status.success(), "the browser script failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!("browser: {}, console errors: {}", seen["browser"], seen["console_errors"]);

    // The MP4 played, and at 5 s the browser drew what /frame?time=5 serves: frame 125.
    let mp4_seen = &seen["mp4"];
    assert!(mp4_seen["played"].as_f64().unwrap() > 0.2, "the MP4 played: {}", mp4_seen["played"]);
    assert!((mp4_seen["duration"].as_f64().unwrap() - 12.0).abs() < 0.1, "{}", mp4_seen["duration"]);
    let served = request(addr, "GET", &format!("/v1/videos/{mp4}/frame?time={mp4_at}&format=rgb24"), &[], Body::None);
    assert_eq!(decode_pattern(&served.body, 320, 240), 125);
    assert_eq!(pattern_in(mp4_seen), 125, "Chromium drew frame 125 at {mp4_at} s");

    // The MKV through HLS: played, and the frame at the seek is frame 60.
    let hls_seen = &seen["hls"];
    assert!(hls_seen["played"].as_f64().unwrap() > 0.2, "the HLS stream played: {hls_seen}");
    assert_eq!(pattern_in(hls_seen), 60, "hls.js showed frame 60 at {mkv_at:.3} s (current {})", hls_seen["current"]);

    // The storyboard's first tile is the middle frame of the first quarter (37).
    let board = &seen["storyboard"];
    assert_eq!(board["sprite"], serde_json::json!([320, 240]), "{board}");
    assert_eq!(pattern_in(board), 37);
}

/// The viewer's route on top of the test server's frames routes.
const VIEWER_ROUTE: &str = "[[trigger.http]]\nroute = \"/\"\ncomponent = \"frames\"\n";

#[test]
fn the_viewer_uploads_scrubs_to_an_exact_frame_and_overlays_flow() {
    let Some(python) = chromium_and_playwright() else { return };
    let routes = format!("{VIEWER_ROUTE}{}", crate::server::JOBS_ROUTES);
    let server = ServerProcess::start("viewer", ServerSetup { extra_manifest: &routes, ..ServerSetup::default() });
    let page = request(server.addr, "GET", "/", &[], Body::None);
    assert_eq!((page.status, page.header("content-type")), (200, Some("text/html; charset=utf-8")));
    let pv = pattern_video("h264_bframes_gop250.mp4");
    let dir = frameflow_testkit::scratch_dir("viewer");
    let not_video = dir.join("notes.mp4");
    std::fs::write(&not_video, b"these are notes, not a video").unwrap();
    let screenshot = dir.join("viewer.png");
    let out = std::process::Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/browser/viewer.py"))
        .arg(format!("http://{}", server.addr))
        .arg(&pv.path)
        .arg(&not_video)
        .arg(&screenshot)
        .output()
        .unwrap();
    assert!(out.status.success(), "the viewer script failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["title"], "frameflow");
    assert_eq!(seen["listed"], 1, "the upload is listed");
    // Scrubbed to 100: the page shows exactly frame 100, the media core's pixels.
    assert_eq!(seen["frame100"]["shown"], "100");
    assert_eq!(pattern_in(&seen["frame100"]), 100);
    let drawn = base64::engine::general_purpose::STANDARD.decode(seen["frame100"]["rgb"].as_str().unwrap()).unwrap();
    let core = frameflow_media::Video::open(&pv.path).unwrap().frame(100, &frameflow_media::RenderOptions::default()).unwrap();
    assert!(drawn == core.image.data, "the viewer's frame 100 is the media core's, pixel for pixel");
    // → steps one frame, Shift+→ jumps to the next key frame (250), and flow overlays it.
    assert_eq!(pattern_in(&seen["frame101"]), 101);
    assert_eq!(seen["after_next_key"], "250");
    assert_eq!(seen["flow"], serde_json::json!([320, 240, false]), "the flow overlay is shown");
    // A job from the form: 2 clips of 3 frames, RGB and flow x/y each: 18 images.
    assert_eq!((seen["clips"].as_u64(), seen["gallery"].as_u64()), (Some(2), Some(18)), "{seen}");
    assert_eq!(seen["clip_download"], "clip.ts");
    assert!(screenshot.exists());
    // A non-video upload: the server's reason, in words, on the page.
    let error = seen["error"].as_str().unwrap();
    assert!(error.starts_with("415"), "{error}");
}
