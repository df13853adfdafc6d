//! Re-encoded clips checked by decoding them again: the pattern videos show their own frame
//! index in every frame, so a clip of frames 40..=87 must decode to exactly 48 frames
//! reading 40, 41, ... 87, close to the source's pixels (PSNR); with audio the AAC track
//! spans the clip; previews and bad ranges behave as documented.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use ffmpeg_next as ffmpeg;
use frameflow_delivery::{encode_clip, ClipFormat, ClipSpec, DeliveryError};
use frameflow_media::{RenderOptions, Video};
use frameflow_testkit::pattern::{decode_pattern, pattern_video, video_with_audio};

fn scratch(name: &str) -> PathBuf {
    frameflow_testkit::scratch_dir("delivery-clips").join(name)
}

fn spec(first: usize, last: usize, format: ClipFormat) -> ClipSpec {
    ClipSpec { first, last, format, fps: None, width: None, height: None, audio: true, burn_in: false }
}

fn encode_to(source: &Path, spec: &ClipSpec, name: &str) -> (PathBuf, frameflow_delivery::ClipReport) {
    let out = scratch(name);
    let mut video = Video::open(source).unwrap();
    let report = encode_clip(&mut video, spec, File::create(&out).unwrap(), &AtomicBool::new(false)).unwrap();
    (out, report)
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse = a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum::<f64>() / a.len() as f64;
    if mse == 0.0 { f64::INFINITY } else { 10.0 * (255.0f64 * 255.0 / mse).log10() }
}

#[test]
fn a_clip_holds_exactly_the_frames_asked_for_in_ts_and_mp4() {
    let source = pattern_video("h264_bframes_gop250.mp4").path;
    let mut original = Video::open(&source).unwrap();
    let plain = RenderOptions::default();
    for format in [ClipFormat::Ts, ClipFormat::Mp4] {
        let (out, report) = encode_to(&source, &spec(40, 87, format), &format!("40-87.{format:?}"));
        assert_eq!(report.frames, 48, "{report:?}");
        let mut clip = Video::open(&out).unwrap();
        assert_eq!(clip.frame_count(), 48, "{format:?}: the clip decodes to 48 frames");
        for i in 0..48 {
            let frame = clip.frame(i, &plain).unwrap();
            assert_eq!(decode_pattern(&frame.image.data, frame.image.width, frame.image.height), 40 + i as u32, "{format:?} clip frame {i}");
        }
        for (clip_index, source_index) in [(0, 40), (47, 87)] {
            let (a, b) = (clip.frame(clip_index, &plain).unwrap(), original.frame(source_index, &plain).unwrap());
            let db = psnr(&a.image.data, &b.image.data);
            assert!(db >= 33.0, "{format:?}: clip frame {clip_index} vs source frame {source_index}: {db:.1} dB");
        }
    }
}

#[test]
fn a_clip_carries_the_spans_audio_and_a_debug_label() {
    let source = video_with_audio();
    let (out, report) = encode_to(&source, &spec(25, 74, ClipFormat::Ts), "audio.ts");
    assert_eq!(report.frames, 50);
    assert!(report.audio_packets > 0, "{report:?}");
    let input = ffmpeg::format::input(&out).unwrap();
    let audio = input.streams().best(ffmpeg::media::Type::Audio).expect("an audio stream");
    assert_eq!(audio.parameters().id(), ffmpeg::codec::Id::AAC);
    // 50 frames at 25 fps: two seconds of sound (AAC frames are 1024 samples at 48 kHz).
    let samples = report.audio_packets as f64 * 1024.0 / 48000.0;
    assert!((1.9..=2.2).contains(&samples), "{samples} s of audio for a 2 s clip");

    let mut quiet = spec(25, 26, ClipFormat::Ts);
    quiet.audio = false;
    let (plain, report) = encode_to(&source, &quiet, "quiet.ts");
    assert_eq!(report.audio_packets, 0);
    assert!(ffmpeg::format::input(&plain).unwrap().streams().best(ffmpeg::media::Type::Audio).is_none());

    quiet.burn_in = true;
    let (labelled, _) = encode_to(&source, &quiet, "labelled.ts");
    let first = |p: &Path| Video::open(p).unwrap().frame(0, &RenderOptions::default()).unwrap().image.data;
    let (a, b) = (first(&plain), first(&labelled));
    let top = 20 * 640 * 3;
    assert!(psnr(&a[..top], &b[..top]) < 25.0, "the debug label changes the top rows");
    let rest = psnr(&a[top * 4..], &b[top * 4..]);
    assert!(rest > 40.0, "below the label the picture is the same but for encoding noise: {rest:.1} dB");
}

#[test]
fn previews_pick_frames_at_their_own_rate() {
    let source = pattern_video("h264_bframes_gop250.mp4").path;
    for format in [ClipFormat::Gif, ClipFormat::Webp] {
        let mut preview = spec(0, 49, format);
        (preview.fps, preview.width) = (Some(5.0), Some(160));
        let (out, report) = encode_to(&source, &preview, &format!("preview.{format:?}"));
        // Frames 0..=49 at 25 fps span 1.96 s: ticks at 0, 0.2, ... 1.8 s.
        assert_eq!((report.frames, report.width), (10, 160), "{format:?}");
        let bytes = std::fs::read(&out).unwrap();
        let magic: &[u8] = if format == ClipFormat::Gif { b"GIF89a" } else { b"RIFF" };
        assert_eq!(&bytes[..magic.len()], magic, "{format:?}");
    }
    let gif = scratch("preview.Gif");
    let mut decoded = Video::open(&gif).unwrap();
    assert_eq!(decoded.frame_count(), 10);
    let frame = decoded.frame(3, &RenderOptions::default()).unwrap();
    assert_eq!(decode_pattern(&frame.image.data, frame.image.width, frame.image.height), 15, "the fourth tick shows frame 15");
}

#[test]
fn bad_ranges_and_a_stop_request_end_the_encode_with_a_reason() {
    let source = pattern_video("h264_bframes_gop250.mp4").path;
    let mut video = Video::open(&source).unwrap();
    let run = |video: &mut Video, spec: &ClipSpec, stop: bool| encode_clip(video, spec, Vec::new(), &AtomicBool::new(stop));
    assert!(matches!(run(&mut video, &spec(10, 5, ClipFormat::Ts), false), Err(DeliveryError::Invalid(_))));
    let past = run(&mut video, &spec(10, 1_000_000_000, ClipFormat::Ts), false);
    assert!(matches!(past, Err(DeliveryError::Source(frameflow_media::MediaError::IndexOutOfRange { .. }))), "{past:?}");
    let mut zero = spec(0, 10, ClipFormat::Gif);
    zero.fps = Some(0.0);
    assert!(matches!(run(&mut video, &zero, false), Err(DeliveryError::Invalid(_))));
    assert!(matches!(run(&mut video, &spec(0, 100, ClipFormat::Ts), true), Err(DeliveryError::Interrupted)));
}

/// A writer that fails after a few bytes: a client that went away.
struct Hangs(usize);

impl std::io::Write for Hangs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0 > 4096 {
            return Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"));
        }
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_sink_that_fails_stops_the_encode() {
    let source = pattern_video("h264_bframes_gop250.mp4").path;
    let mut video = Video::open(&source).unwrap();
    let result = encode_clip(&mut video, &spec(0, 200, ClipFormat::Ts), Hangs(0), &AtomicBool::new(false));
    assert!(matches!(result, Err(DeliveryError::Write { .. })), "{result:?}");
}
