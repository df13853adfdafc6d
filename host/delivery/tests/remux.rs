//! Stream copies checked against the media core: a TS copied into MP4 and MKV decodes to
//! the same frames, bit for bit and as many; a codec a container cannot hold is refused by
//! name; a stop request stops the copy.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use frameflow_delivery::{remux, Container, DeliveryError};
use frameflow_media::{RenderOptions, Video};
use frameflow_testkit::pattern::pattern_video;

fn scratch(name: &str) -> PathBuf {
    frameflow_testkit::scratch_dir("delivery").join(name)
}

/// The pattern video copied into MPEG-TS by the FFmpeg CLI, as a user's `.ts` would be.
fn pattern_ts() -> PathBuf {
    let ts = scratch("pattern.ts");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(pattern_video("h264_bframes_gop250.mp4").path)
        .args(["-map", "0:v", "-c", "copy", "-f", "mpegts"])
        .arg(&ts)
        .status()
        .expect("run ffmpeg");
    assert!(status.success());
    ts
}

fn assert_same_frames(a: &Path, b: &Path) {
    let (mut va, mut vb) = (Video::open(a).unwrap(), Video::open(b).unwrap());
    assert_eq!(va.info().frame_count, vb.info().frame_count, "{} and {} have as many frames", a.display(), b.display());
    let plain = RenderOptions::default();
    for index in 0..va.info().frame_count as usize {
        let (fa, fb) = (va.frame(index, &plain).unwrap(), vb.frame(index, &plain).unwrap());
        assert!(fa.image.data == fb.image.data, "frame {index} differs between {} and {}", a.display(), b.display());
    }
}

#[test]
fn a_ts_copied_into_mp4_and_mkv_decodes_to_the_same_frames() {
    let ts = pattern_ts();
    for container in [Container::Mp4, Container::Mkv] {
        let out = scratch(&format!("copied.{}", container.extension()));
        let report = remux(&ts, container, &out, &AtomicBool::new(false)).unwrap();
        assert_eq!(report.streams.len(), 1, "{report:?}");
        assert!(report.packets >= 300, "{report:?}");
        assert_same_frames(&ts, &out);
    }
    // And back: MP4 into TS.
    let mp4 = scratch("copied.mp4");
    let back = scratch("back.ts");
    remux(&mp4, Container::Ts, &back, &AtomicBool::new(false)).unwrap();
    assert_same_frames(&mp4, &back);
}

#[test]
fn a_codec_the_container_cannot_hold_is_refused_by_name() {
    let webm = pattern_video("vp8.webm").path;
    match remux(&webm, Container::Ts, &scratch("vp8.ts"), &AtomicBool::new(false)) {
        Err(DeliveryError::Unsupported { codec, container, .. }) => assert_eq!((codec.as_str(), container), ("vp8", "mpegts")),
        other => panic!("VP8 into MPEG-TS: {other:?}"),
    }
    let missing = remux(Path::new("/nonexistent/video.mp4"), Container::Mp4, &scratch("x.mp4"), &AtomicBool::new(false));
    assert!(matches!(missing, Err(DeliveryError::Source(_))), "{missing:?}");
    let stopped = remux(&pattern_video("h264_bframes_gop250.mp4").path, Container::Mkv, &scratch("stopped.mkv"), &AtomicBool::new(true));
    assert!(matches!(stopped, Err(DeliveryError::Interrupted)), "{stopped:?}");
}
