//! Bad input: clear errors, never a panic or a hang.

use std::io::Write;

use frameflow_media::{FrameSelector, MediaError, RenderOptions, Video};
use frameflow_testkit::pattern::pattern_video;
use frameflow_testkit::scratch_dir;

#[test]
fn missing_file_and_non_video_are_named() {
    let err = Video::open("/definitely/not/here.mp4").err().unwrap();
    assert!(matches!(err, MediaError::NotFound(_)), "{err}");
    let text = scratch_dir("errors").join("notes.mp4");
    std::fs::write(&text, "this is not a video, just some text\n".repeat(50)).unwrap();
    let err = Video::open(&text).err().unwrap();
    assert!(matches!(err, MediaError::NotMedia { .. } | MediaError::NoVideoStream(_)), "{err}");
}

#[test]
fn out_of_range_index_names_the_valid_range() {
    let mut v = Video::open(pattern_video("vp8.webm").path).unwrap();
    let err = v.frame(90, &RenderOptions::default()).err().unwrap();
    assert_eq!(err.to_string(), "frame index 90 out of range: valid indices are 0..=89 (90 frames)");
    let err = v.resolve(FrameSelector::Index(u64::MAX)).err().unwrap();
    assert!(matches!(err, MediaError::IndexOutOfRange { .. }));
}

#[test]
fn unknown_pts_names_the_nearest_valid_ones() {
    let v = Video::open(pattern_video("h264_vfr.mkv").path).unwrap();
    let (a, b) = (v.frame_id(10).pts, v.frame_id(11).pts);
    let err = v.resolve(FrameSelector::Pts(a + 1)).err().unwrap();
    match err {
        MediaError::UnknownPts { before, after, .. } => assert_eq!((before, after), (Some(a), Some(b))),
        other => panic!("{other}"),
    }
    assert!(v.resolve(FrameSelector::Seconds(1e9)).is_err());
    assert!(v.resolve(FrameSelector::Seconds(f64::NAN)).is_err());
}

#[test]
fn bad_render_options_are_rejected_before_decoding() {
    let mut v = Video::open(pattern_video("vp8.webm").path).unwrap();
    let crop = RenderOptions { crop: Some("300,200,100,100".parse().unwrap()), ..Default::default() };
    assert!(matches!(v.frame(0, &crop), Err(MediaError::InvalidOption(_))));
    let huge = RenderOptions { width: Some(1 << 30), ..Default::default() };
    assert!(matches!(v.frame(0, &huge), Err(MediaError::InvalidOption(_))));
    assert!("1,2,3".parse::<frameflow_media::Crop>().is_err());
    assert!("1,2,0,4".parse::<frameflow_media::Crop>().is_err());
}

#[test]
fn truncated_file_gives_every_decodable_frame_then_a_clear_end() {
    let pv = pattern_video("h264_bframes_gop250.mp4");
    let bytes = std::fs::read(&pv.path).unwrap();
    // mp4 with moov at the end would not open when cut; use the TS, which streams.
    let ts = pattern_video("h264_nonzero_start.ts");
    let ts_bytes = std::fs::read(&ts.path).unwrap();
    let cut = scratch_dir("errors").join("cut.ts");
    std::fs::File::create(&cut).unwrap().write_all(&ts_bytes[..ts_bytes.len() * 6 / 10]).unwrap();
    let mut v = Video::open(&cut).unwrap();
    let n = v.frame_count();
    assert!(n > 50 && n < 150, "cut file should hold part of the frames, has {n}");
    let mut ok = 0;
    let (first_pts, step) = (v.frame_id(0).pts, v.frame_id(1).pts - v.frame_id(0).pts);
    for i in 0..n {
        match v.frame(i, &RenderOptions::default()) {
            Ok(f) => {
                // The cut can drop a B-frame's packet while later ones survive, so the
                // picture is identified by its pts rather than by its position.
                assert_eq!(crate::shown_index(&f) as i64, (f.id.pts - first_pts) / step, "frame {i}");
                ok += 1;
            }
            Err(e) => assert!(matches!(e, MediaError::Undecodable { .. }), "{e}"),
        }
    }
    assert!(ok >= n - 2, "only {ok} of {n} frames decoded");
    // An mp4 cut before its index is refused outright.
    let cut_mp4 = scratch_dir("errors").join("cut.mp4");
    std::fs::write(&cut_mp4, &bytes[..bytes.len() / 2]).unwrap();
    let err = Video::open(&cut_mp4).err().expect("an mp4 without its moov must not open");
    assert!(matches!(err, MediaError::NotMedia { .. }), "{err}");
}

#[test]
fn corrupted_bytes_never_panic() {
    let pv = pattern_video("h264_nonzero_start.ts");
    let mut bytes = std::fs::read(&pv.path).unwrap();
    let mut x: u32 = 12345;
    for i in (bytes.len() / 5..bytes.len()).step_by(997) {
        x = x.wrapping_mul(1103515245).wrapping_add(12345);
        bytes[i] = (x >> 16) as u8;
    }
    let path = scratch_dir("errors").join("corrupt.ts");
    std::fs::write(&path, &bytes).unwrap();
    let mut v = Video::open(&path).unwrap();
    let mut decoded = 0;
    for i in (0..v.frame_count()).rev() {
        if v.frame(i, &RenderOptions::default()).is_ok() {
            decoded += 1;
        }
    }
    assert!(decoded > 20, "the clean first fifth should decode, got {decoded}");
}

/// Opening a stream whose pictures are over the limit fails at open, naming the limit.
#[test]
fn pictures_over_the_pixel_limit_are_refused_at_open() {
    let path = frameflow_testkit::pattern::video_with_audio();
    let options = frameflow_media::OpenOptions { max_pixels: Some(320 * 240), ..Default::default() };
    let err = Video::open_with(&path, options).err().expect("640x360 is over a 320x240 limit");
    let message = err.to_string();
    assert!(matches!(err, frameflow_media::MediaError::TooManyPixels { width: 640, height: 360, .. }), "{message}");
    assert!(message.contains("640x360") && message.contains("0.1 megapixels"), "{message}");
    let fits = frameflow_media::OpenOptions { max_pixels: Some(640 * 360), ..Default::default() };
    Video::open_with(&path, fits).expect("exactly at the limit opens");
}
