//! Stream copies checked against the media core: a TS copied into MP4 and MKV decodes to
//! the same frames, bit for bit and as many; a codec a container cannot hold is refused by
//! name; a stop request stops the copy. Cuts of a frame range start where they are asked
//! to (edit lists) with the source's own pixels and carry the span's audio.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use frameflow_delivery::{cut, remux, Container, CutSpec, DeliveryError};
use frameflow_media::{RenderOptions, Video};
use frameflow_testkit::pattern::{decode_pattern, pattern_video};

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

fn cut_to(source: &Path, spec: CutSpec, name: &str) -> PathBuf {
    let out = scratch(name);
    let video = Video::open(source).unwrap();
    cut(&video, spec, std::fs::File::create(&out).unwrap(), &AtomicBool::new(false)).unwrap();
    out
}

fn pattern_of(video: &mut Video, i: usize) -> (u32, Vec<u8>) {
    let frame = video.frame(i, &RenderOptions::default()).unwrap();
    (decode_pattern(&frame.image.data, frame.image.width, frame.image.height), frame.image.data)
}

#[test]
fn a_cut_mp4_starts_at_the_first_frame_asked_with_the_sources_own_pixels() {
    let source = pattern_video("h264_bframes_gop250.mp4").path;
    let out = cut_to(&source, CutSpec { first: 40, last: 87, container: Container::Mp4, keep_timestamps: false }, "cut-40-87.mp4");
    let (mut original, mut copy) = (Video::open(&source).unwrap(), Video::open(&out).unwrap());
    // The key frame (0) and frames up to 39 are in the file, hidden by the edit list.
    let count = copy.frame_count();
    assert!((48..=51).contains(&count), "48 frames, and at most a few B-frame references after: {count}");
    for i in 0..48 {
        let (shown, pixels) = pattern_of(&mut copy, i);
        assert_eq!(shown, 40 + i as u32, "frame {i} of the cut");
        assert!(pixels == pattern_of(&mut original, 40 + i).1, "frame {i} of the cut is the source's frame {}, bit for bit", 40 + i);
    }
    assert!((copy.frame_id(0).seconds).abs() < 1e-6, "the cut starts at 0 s");
}

#[test]
fn a_cut_carries_the_audio_of_its_span_and_ts_keeps_timestamps_when_asked() {
    let with_audio = frameflow_testkit::pattern::video_with_audio();
    let out = cut_to(&with_audio, CutSpec { first: 60, last: 109, container: Container::Mp4, keep_timestamps: false }, "cut-audio.mp4");
    let input = ffmpeg_next::format::input(&out).unwrap();
    let audio = input.streams().best(ffmpeg_next::media::Type::Audio).expect("the cut has the audio");
    let seconds = audio.duration() as f64 * f64::from(audio.time_base());
    assert!((1.8..=2.3).contains(&seconds), "two seconds of audio for 50 frames at 25 fps: {seconds}");

    let ts = pattern_video("h264_nonzero_start.ts");
    let out = cut_to(&ts.path, CutSpec { first: 40, last: 87, container: Container::Ts, keep_timestamps: true }, "cut-kept.ts");
    let (original, mut copy) = (Video::open(&ts.path).unwrap(), Video::open(&out).unwrap());
    // MPEG-TS has no edit list: the frames from the key frame on are shown, at their own times.
    let first = pattern_of(&mut copy, 0).0 as usize;
    assert!(first <= 40, "a TS cut starts at the key frame before frame 40: {first}");
    let at_40 = 40 - first;
    assert_eq!(pattern_of(&mut copy, at_40).0, 40);
    assert_eq!(pattern_of(&mut copy, at_40 + 47).0, 87);
    let moved = copy.frame_id(at_40).seconds - original.frame_id(40).seconds;
    assert!((moved - 1.4).abs() < 0.001, "timestamps kept, 1.4 s later: {moved}");
}

#[test]
fn cuts_refuse_reversed_and_past_the_end_ranges() {
    let video = Video::open(pattern_video("h264_bframes_gop250.mp4").path).unwrap();
    let spec = |first, last| CutSpec { first, last, container: Container::Mp4, keep_timestamps: false };
    let run = |s| cut(&video, s, Vec::new(), &AtomicBool::new(false));
    assert!(matches!(run(spec(10, 5)), Err(DeliveryError::Invalid(_))));
    assert!(matches!(run(spec(0, 1_000_000_000)), Err(DeliveryError::Source(_))));
}
