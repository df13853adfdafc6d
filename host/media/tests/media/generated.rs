//! Generated pattern videos: every index returns its own picture, however it is asked for.

use frameflow_media::{FrameSelector, RenderOptions, Video};
use frameflow_testkit::pattern::{pattern_video, pattern_videos};
use frameflow_testkit::reference::ffmpeg_rgb24;
use rand::{seq::SliceRandom, SeedableRng};

use crate::{rgb, shown_index};

#[test]
fn probe_counts_every_generated_frame() {
    for pv in pattern_videos() {
        let v = Video::open(&pv.path).unwrap();
        let info = v.info();
        assert_eq!(info.frame_count, pv.frames as usize, "{}", pv.traits);
        assert_eq!(info.keyframes.first(), Some(&0), "{}", pv.traits);
        assert!(v.index().frames.windows(2).all(|w| w[0].pts < w[1].pts), "{}: pts increase", pv.traits);
        // MPEG-TS adds its own 1.4 s mux delay on top of the requested offset.
        let start_ok = info.start_seconds >= pv.start_seconds - 0.01 && info.start_seconds < pv.start_seconds + 2.0;
        assert!(start_ok, "{}: start {}", pv.traits, info.start_seconds);
        let gaps: std::collections::BTreeSet<i64> = v.index().frames.windows(2).map(|w| w[1].pts - w[0].pts).collect();
        if pv.variable_frame_rate {
            assert!(gaps.len() >= 3, "{}: expected irregular frame durations, got {gaps:?}", pv.traits);
        }
    }
}

#[test]
fn long_gop_has_only_two_keyframes() {
    let v = Video::open(pattern_video("h264_bframes_gop250.mp4").path).unwrap();
    assert_eq!(v.info().keyframes, vec![0, 250]);
}

#[test]
fn sequential_iteration_shows_every_index_in_order() {
    for pv in pattern_videos() {
        let mut v = Video::open(&pv.path).unwrap();
        let mut seen = Vec::new();
        v.for_each_frame(&RenderOptions::default(), |f| {
            assert_eq!(shown_index(&f), f.id.index as u32, "{}", pv.traits);
            seen.push(f.id.index);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, (0..pv.frames as usize).collect::<Vec<_>>(), "{}", pv.traits);
    }
}

#[test]
fn random_order_batches_return_the_frames_asked_for() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for pv in pattern_videos() {
        let mut v = Video::open(&pv.path).unwrap();
        let mut wanted: Vec<usize> = (0..pv.frames as usize).collect();
        wanted.shuffle(&mut rng);
        wanted.truncate(40);
        wanted.push(wanted[3]); // a duplicate
        let frames = v.frames(&wanted, &RenderOptions::default()).unwrap();
        assert_eq!(frames.len(), wanted.len());
        for (want, f) in wanted.iter().zip(&frames) {
            assert_eq!(f.id.index, *want, "{}", pv.traits);
            assert_eq!(shown_index(f) as usize, *want, "{}: batch frame", pv.traits);
        }
    }
}

#[test]
fn single_frames_in_random_order_and_backwards() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for pv in pattern_videos() {
        let mut v = Video::open(&pv.path).unwrap();
        let n = pv.frames as usize;
        let mut order: Vec<usize> = (0..n).rev().step_by(7).collect();
        let mut shuffled: Vec<usize> = (0..n).collect();
        shuffled.shuffle(&mut rng);
        order.extend(shuffled.into_iter().take(30));
        for i in order {
            let f = v.frame(i, &RenderOptions::default()).unwrap();
            assert_eq!(shown_index(&f) as usize, i, "{}: frame {i}", pv.traits);
        }
    }
}

/// Regression: key frames were sought by their dts, and MP4/Matroska demuxers, whose seek
/// looks up an index keyed by presentation time, then landed one GOP early (random access in
/// MP4 decoded 3× the frames it needed).
#[test]
fn seek_lands_on_the_key_frame_not_the_one_before() {
    for pv in pattern_videos() {
        let mut v = Video::open(&pv.path).unwrap();
        let key = *v.info().keyframes.iter().rev().find(|&&k| k > 0).expect("more than one key frame");
        let target = (key + 5).min(pv.frames as usize - 1);
        let f = v.frame(target, &RenderOptions::default()).unwrap();
        assert_eq!(shown_index(&f) as usize, target, "{}", pv.traits);
        let needed = (target - key + 1) as u64;
        assert!(
            v.frames_decoded() <= needed + 2,
            "{}: frame {target} after key frame {key} took {} decoded pictures (needs {needed})",
            pv.traits,
            v.frames_decoded()
        );
    }
}

#[test]
fn pts_and_time_select_the_same_frame_as_index() {
    for pv in pattern_videos() {
        let mut v = Video::open(&pv.path).unwrap();
        let n = v.frame_count();
        for i in [0, 1, n / 3, n / 2 + 1, n - 1] {
            let id = v.frame_id(i);
            assert_eq!(v.resolve(FrameSelector::Pts(id.pts)).unwrap(), i, "{}: pts", pv.traits);
            assert_eq!(v.resolve(FrameSelector::Seconds(id.seconds)).unwrap(), i, "{}: time", pv.traits);
            if i + 1 < n {
                // Just after a frame's start, the -ss rule picks the next frame.
                let later = id.seconds + (v.frame_id(i + 1).seconds - id.seconds) / 2.0;
                assert_eq!(v.resolve(FrameSelector::Seconds(later)).unwrap(), i + 1, "{}: time rule", pv.traits);
            }
            let f = v.frame(v.resolve(FrameSelector::Pts(id.pts)).unwrap(), &RenderOptions::default()).unwrap();
            assert_eq!(shown_index(&f) as usize, i);
        }
    }
}

#[test]
fn rgb_is_bit_identical_to_the_ffmpeg_cli() {
    for pv in pattern_videos() {
        let mut v = Video::open(&pv.path).unwrap();
        for i in [0, 5, pv.frames as usize - 1] {
            assert!(rgb(&mut v, i) == ffmpeg_rgb24(&pv.path, None, i, ""), "{}: frame {i} differs from ffmpeg", pv.traits);
        }
    }
}

/// The direct conversion (no filter graph: see `render.rs`) against the graph, on every
/// generated video (odd sizes and 10-bit among them), every frame of a batch.
#[test]
fn the_direct_rgb_conversion_gives_the_filter_graphs_pixels() {
    for pv in pattern_videos() {
        let mut v = Video::open(&pv.path).unwrap();
        let (w, h) = v.output_size(&RenderOptions::default());
        let whole = RenderOptions { crop: Some(frameflow_media::Crop { x: 0, y: 0, width: w, height: h }), ..RenderOptions::default() };
        let all: Vec<usize> = (0..pv.frames as usize).step_by(7).collect();
        let direct = v.frames(&all, &RenderOptions::default()).unwrap();
        let graph = v.frames(&all, &whole).unwrap();
        for (d, g) in direct.iter().zip(&graph) {
            assert!(d.image.data == g.image.data, "{}: frame {} differs between the direct conversion and the graph", pv.traits, d.id.index);
        }
    }
}

/// A batch written into the caller's buffer stays inside it: frames asked in descending
/// order (so a slot is written after the one behind it, where an overrun would land) equal
/// `frames`' and the bytes after the batch are untouched, on every generated video (widths
/// the direct conversion takes and widths it leaves to the graph), by one decoder and a team.
#[test]
fn a_batch_written_into_a_buffer_stays_inside_its_slots() {
    use frameflow_media::DecoderTeam;
    for pv in pattern_videos() {
        let mut v = Video::open(&pv.path).unwrap();
        let n = pv.frames as usize;
        let asked: Vec<usize> = vec![n - 1, n / 2, n / 2, 1, 0];
        let want: Vec<u8> = v.frames(&asked, &RenderOptions::default()).unwrap().into_iter().flat_map(|f| f.image.data).collect();
        let mut team = DecoderTeam::for_video(&v, 2);
        for by_team in [false, true] {
            let mut buffer = vec![0xA5u8; want.len() + 4096];
            let (batch, guard) = buffer.split_at_mut(want.len());
            if by_team {
                team.frames_into(&asked, &RenderOptions::default(), batch).unwrap();
            } else {
                v.frames_into(&asked, &RenderOptions::default(), batch).unwrap();
            }
            assert!(batch == want.as_slice(), "{} (team: {by_team}): the batch differs from frames()", pv.traits);
            assert!(guard.iter().all(|&b| b == 0xA5), "{} (team: {by_team}): bytes after the batch were written", pv.traits);
        }
    }
}

#[test]
fn crop_and_resize_match_the_ffmpeg_cli() {
    let pv = pattern_video("h264_bframes_gop250.mp4");
    let mut v = Video::open(&pv.path).unwrap();
    let opts = RenderOptions {
        crop: Some("10,20,200,100".parse().unwrap()),
        width: Some(100),
        height: Some(64),
        ..Default::default()
    };
    let f = v.frame(17, &opts).unwrap();
    assert_eq!((f.image.width, f.image.height), (100, 64));
    let want = ffmpeg_rgb24(&pv.path, None, 17, "crop=200:100:10:20:exact=1,scale=100:64:flags=bilinear");
    assert!(f.image.data == want, "crop+resize differs from ffmpeg");
    // Resize alone keeps the pattern readable and the aspect ratio when one side is given.
    let f = v.frame(123, &RenderOptions { width: Some(160), ..Default::default() }).unwrap();
    assert_eq!((f.image.width, f.image.height), (160, 120));
    assert_eq!(shown_index(&f), 123);
}

#[test]
fn encoded_images_decode_to_the_same_pixels() {
    let pv = pattern_video("h264_vfr.mkv");
    let mut v = Video::open(&pv.path).unwrap();
    let f = v.frame(42, &RenderOptions::default()).unwrap();
    let png = f.encode(frameflow_media::ImageFormat::Png, 90).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let jpeg = f.encode(frameflow_media::ImageFormat::Jpeg, 85).unwrap();
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    assert!(jpeg.len() < png.len() * 4, "jpeg should be compact");
    let raw = f.encode(frameflow_media::ImageFormat::Rgb24, 90).unwrap();
    assert_eq!(raw, f.image.data);
}

/// Reaching a frame leaves out the non-reference pictures shown before it: fewer frames are
/// decoded than the GOP holds up to the target, and the target's pixels are the ones a
/// sequential decode (which decodes everything) gives, bit for bit — in MP4 (AVCC NALs) and
/// MPEG-TS (Annex B start codes), and HEVC in MP4 (`_N` pictures, one temporal layer).
#[test]
fn random_access_leaves_out_non_reference_pictures_and_stays_exact() {
    let source = pattern_video("h264_bframes_gop250.mp4");
    let hevc = frameflow_testkit::scratch_dir("media-hevc").join("pattern_hevc_bf3.mp4");
    if !hevc.exists() {
        // Written beside and renamed, so an interrupted run never leaves half a file.
        let partial = hevc.with_extension(format!("tmp{}.mp4", std::process::id()));
        let made = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(&source.path)
            .args(["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "bframes=3:keyint=100:log-level=error", "-tag:v", "hvc1"])
            .arg(&partial)
            .status()
            .expect("the ffmpeg CLI");
        assert!(made.success(), "encoding the HEVC pattern video");
        std::fs::rename(&partial, &hevc).unwrap();
    }
    let videos = [(source.path.clone(), 300usize), (pattern_video("h264_nonzero_start.ts").path, 150), (hevc, 300)];
    for (path, frames) in videos {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let mut sequential = Video::open(&path).unwrap();
        let mut expected = Vec::new();
        sequential.for_each_frame(&RenderOptions::default(), |f| {
            expected.push(f.image.data);
            Ok(())
        })
        .unwrap();
        assert_eq!(expected.len(), frames, "{name}");
        let target = frames - 3;
        let key = *sequential.info().keyframes.iter().rev().find(|&&k| k <= target).unwrap();
        let mut random = Video::open(&path).unwrap();
        let f = random.frame(target, &RenderOptions::default()).unwrap();
        assert!(f.image.data == expected[target], "{name}: frame {target} differs from the sequential decode");
        let needed = (target - key + 1) as u64;
        assert!(random.packets_skipped() > 0, "{name}: no packet was left out");
        assert!(random.frames_decoded() < needed, "{name}: {} frames decoded for {needed} from the key frame", random.frames_decoded());
        // And every frame asked in random order is still its own.
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let mut order: Vec<usize> = (0..frames).collect();
        order.shuffle(&mut rng);
        for &i in order.iter().take(40) {
            assert!(random.frame(i, &RenderOptions::default()).unwrap().image.data == expected[i], "{name}: frame {i}");
        }
    }
}

/// A decoder team shares a batch's GOPs out among its decoders: every frame asked for comes
/// once, with exactly the pixels one decoder gives, on every generated video; a frame past
/// the end is the same error. `frames` returns them in the order asked, as one decoder does.
#[test]
fn a_decoder_team_gives_the_frames_one_decoder_gives() {
    use frameflow_media::{DecoderTeam, MediaError};
    use std::sync::Mutex;
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    for pv in pattern_videos() {
        let mut single = Video::open(&pv.path).unwrap();
        let n = single.frame_count();
        let mut team = DecoderTeam::for_video(&single, 3);
        for _ in 0..3 {
            let mut wanted: Vec<usize> = (0..n).collect();
            wanted.shuffle(&mut rng);
            wanted.truncate(12.min(n));
            let expected: Vec<(usize, Vec<u8>)> = {
                let mut e: Vec<_> = single.frames(&wanted, &RenderOptions::default()).unwrap().into_iter().map(|f| (f.id.index, f.image.data)).collect();
                e.sort();
                e.dedup();
                e
            };
            let got = Mutex::new(Vec::new());
            team.for_each_view_at(&wanted, &RenderOptions::default(), &|id, view| {
                got.lock().unwrap().push((id.index, view.to_image().data));
                Ok(())
            })
            .unwrap();
            let mut got = got.into_inner().unwrap();
            got.sort();
            assert_eq!(got.len(), expected.len(), "{}: each frame once", pv.traits);
            assert!(got == expected, "{}: the team's frames differ from one decoder's", pv.traits);
            // In the order asked, repeats kept, as one decoder's `frames` returns them.
            let mut asked = wanted.clone();
            asked.push(wanted[0]);
            let one: Vec<_> = single.frames(&asked, &RenderOptions::default()).unwrap().into_iter().map(|f| (f.id.index, f.image.data)).collect();
            let shared: Vec<_> = team.frames(&asked, &RenderOptions::default()).unwrap().into_iter().map(|f| (f.id.index, f.image.data)).collect();
            assert!(one == shared, "{}: the team's frames() differ from one decoder's", pv.traits);
            // Into one buffer, by one decoder and by the team: the same bytes, back to back.
            let concatenated: Vec<u8> = one.iter().flat_map(|(_, data)| data.iter().copied()).collect();
            let (w, h) = single.output_size(&RenderOptions::default());
            let mut by_one = vec![0u8; asked.len() * w as usize * h as usize * 3];
            single.frames_into(&asked, &RenderOptions::default(), &mut by_one).unwrap();
            assert!(by_one == concatenated, "{}: frames_into differs from frames", pv.traits);
            let mut by_team = vec![0u8; by_one.len()];
            team.frames_into(&asked, &RenderOptions::default(), &mut by_team).unwrap();
            assert!(by_team == concatenated, "{}: the team's frames_into differs from frames", pv.traits);
        }
        let past = team.for_each_view_at(&[0, n], &RenderOptions::default(), &|_, _| Ok(()));
        assert!(matches!(past, Err(MediaError::IndexOutOfRange { .. })), "{}: {past:?}", pv.traits);
        let (w, h) = single.output_size(&RenderOptions::default());
        let mut two = vec![0u8; 2 * w as usize * h as usize * 3];
        let past = team.frames_into(&[0, n], &RenderOptions::default(), &mut two);
        assert!(matches!(past, Err(MediaError::IndexOutOfRange { .. })), "{}: {past:?}", pv.traits);
        let short = single.frames_into(&[0, 1], &RenderOptions::default(), &mut two[1..]);
        assert!(matches!(short, Err(MediaError::InvalidOption(_))), "{}: {short:?}", pv.traits);
    }
    // Key frames 0 and 250: frames on both sides are two groups, frames in one GOP one.
    let long = Video::open(pattern_video("h264_bframes_gop250.mp4").path).unwrap();
    let team = DecoderTeam::for_video(&long, 2);
    assert_eq!(team.groups(&[3, 249, 251]), 2);
    assert_eq!(team.groups(&[260, 251, 299]), 1);
}
