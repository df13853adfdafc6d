//! The real corpus: frame counts, pts lists and decoded planes against the ffmpeg-derived
//! CSVs, and RGB against torchcodec's reference tensors. Skips when the corpus is absent.

use frameflow_media::{FrameSelector, OpenOptions, RenderOptions, Video};
use frameflow_testkit::corpus::{corpus_dir, reference_streams};
use frameflow_testkit::reference::read_pt_tensor;
use md5::{Digest, Md5};
use rand::{seq::SliceRandom, SeedableRng};

fn open(stream: &frameflow_testkit::corpus::ReferenceStream) -> Video {
    Video::open_with(&stream.video, OpenOptions { stream: stream.stream, ..Default::default() })
        .unwrap_or_else(|e| panic!("{}: {e}", stream.csv_name))
}

#[test]
fn frame_counts_and_pts_match_ffmpeg() {
    let Some(corpus) = corpus_dir() else { return };
    let streams = reference_streams(&corpus);
    assert!(streams.len() >= 28, "expected the 28 reference CSVs, found {}", streams.len());
    for s in &streams {
        let v = open(s);
        assert_eq!(v.frame_count(), s.frames.len(), "{}: frame count", s.csv_name);
        assert!(v.index().frames.windows(2).all(|w| w[0].pts < w[1].pts), "{}: pts must increase", s.csv_name);
        for (ours, reference) in v.index().frames.iter().zip(&s.frames) {
            // MXF leaves some pts unset; there we only require our ids to stay ordered.
            if let Some(pts) = reference.pts {
                assert_eq!(ours.pts, pts, "{}: pts of frame {}", s.csv_name, reference.n);
            }
        }
    }
}

#[test]
fn every_decoded_frame_matches_ffmpeg_planes_sequentially_and_at_random() {
    let Some(corpus) = corpus_dir() else { return };
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    for s in reference_streams(&corpus) {
        let mut v = open(&s);
        let n = s.frames.len();
        let mut order: Vec<usize> = (0..n).collect();
        let mut random: Vec<usize> = (0..n).collect();
        random.shuffle(&mut rng);
        order.extend(random.into_iter().take(12));
        for i in order {
            let raw = v.raw_frame(i).unwrap_or_else(|e| panic!("{}: frame {i}: {e}", s.csv_name));
            let md5 = format!("{:x}", Md5::digest(&raw.data));
            assert_eq!(md5, s.frames[i].md5_raw_planes, "{}: planes of frame {i}", s.csv_name);
        }
    }
}

#[test]
fn truncated_mkv_yields_its_37_frames() {
    let Some(corpus) = corpus_dir() else { return };
    let mut v = Video::open(corpus.join("videos/filetype_fixture2_truncated.mkv")).unwrap();
    assert_eq!(v.frame_count(), 37);
    let mut n = 0;
    v.for_each_frame(&RenderOptions::default(), |_| {
        n += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(n, 37);
}

/// What a torchcodec reference file name asks for.
struct TorchRef {
    video: String,
    stream: Option<usize>,
    selector: FrameSelector,
    options: RenderOptions,
}

fn parse_torch_name(name: &str) -> Option<TorchRef> {
    let base = name.strip_suffix(".pt")?;
    if base.ends_with(".rgb48") {
        return None; // 16-bit output is not offered yet
    }
    let (video, rest) = base.split_once(".mp4").map(|(v, r)| (format!("{v}.mp4"), r))
        .or_else(|| base.split_once(".mkv").map(|(v, r)| (format!("{v}.mkv"), r)))?;
    let rest = rest.trim_start_matches('.');
    if let Some(t) = rest.strip_prefix("time") {
        return Some(TorchRef { video, stream: None, selector: FrameSelector::Seconds(t.parse().ok()?), options: RenderOptions::default() });
    }
    let mut options = RenderOptions::default();
    let mut parts: Vec<&str> = rest.split('.').collect();
    if parts.len() == 3 {
        let filter = parts.remove(0);
        let nums: Vec<u32> = filter.split('_').filter_map(|p| p.parse().ok()).collect();
        if filter.starts_with("crop") {
            options.crop = Some(frameflow_media::Crop { width: nums[0], height: nums[1], x: nums[2], y: nums[3] });
        } else if filter.starts_with("scale") {
            options.width = Some(nums[0]);
            options.height = Some(nums[1]);
        } else {
            return None;
        }
    }
    let stream = parts[0].strip_prefix("stream")?.parse().ok()?;
    let index = parts[1].strip_prefix("frame")?.parse().ok()?;
    Some(TorchRef { video, stream: Some(stream), selector: FrameSelector::Index(index), options })
}

#[test]
fn rgb_matches_every_torchcodec_reference() {
    let Some(corpus) = corpus_dir() else { return };
    let dir = corpus.join("reference_frames/torchcodec");
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let mut checked = 0;
    for name in names.iter().filter(|n| n.ends_with(".pt")) {
        let Some(r) = parse_torch_name(name) else {
            eprintln!("not compared (16-bit RGB is not an output yet): {name}");
            continue;
        };
        let mut v = Video::open_with(corpus.join("videos").join(&r.video), OpenOptions { stream: r.stream, ..Default::default() }).unwrap();
        let i = v.resolve(r.selector).unwrap();
        let f = v.frame(i, &r.options).unwrap();
        let want = read_pt_tensor(&dir.join(name));
        assert_eq!(f.image.data.len(), want.len(), "{name}: size {}x{}", f.image.width, f.image.height);
        assert!(f.image.data == want, "{name}: pixels differ (frame {i})");
        checked += 1;
    }
    assert!(checked >= 30, "compared only {checked} references");
}

#[test]
fn time_references_follow_the_ffmpeg_ss_rule() {
    let Some(corpus) = corpus_dir() else { return };
    let v = Video::open(corpus.join("videos/nasa_13013.mp4")).unwrap();
    assert_eq!(v.info().stream_index, 3, "ffmpeg's best stream");
    for (t, want) in [(6.0, 180), (6.1, 183), (10.0, 300), (12.979633, 389)] {
        assert_eq!(v.resolve(FrameSelector::Seconds(t)).unwrap(), want, "time {t}");
    }
}

#[test]
fn rotation_is_reported_and_applied() {
    let Some(corpus) = corpus_dir() else { return };
    let mut v = Video::open(corpus.join("videos/nasa_13013_rotated.mp4")).unwrap();
    assert_eq!(v.info().rotation, 90);
    assert_eq!((v.info().width, v.info().height), (270, 480));
    assert_eq!((v.info().coded_width, v.info().coded_height), (480, 270));
    let f = v.frame(0, &RenderOptions::default()).unwrap();
    assert_eq!((f.image.width, f.image.height), (270, 480));
    let raw = v.frame(0, &RenderOptions { autorotate: false, ..Default::default() }).unwrap();
    assert_eq!((raw.image.width, raw.image.height), (480, 270));
}

/// When nothing but the RGB conversion is asked, the renderer converts with swscale itself
/// (no filter graph) at widths that are a multiple of 32; on every corpus video that opens,
/// and for several frames each, those pixels equal the filter graph's (forced here by a crop
/// of the whole picture, which the graph applies after the same conversion and which moves
/// no pixel). Videos of other widths go through the graph both ways and are not counted.
#[test]
fn the_direct_rgb_conversion_gives_the_filter_graphs_pixels() {
    let Some(corpus) = corpus_dir() else { return };
    let mut names: Vec<_> = std::fs::read_dir(corpus.join("videos")).unwrap().flatten().map(|e| e.path()).collect();
    names.sort();
    let mut compared_direct = 0;
    for path in names {
        let Ok(mut v) = Video::open(&path) else { continue };
        let (w, h) = v.output_size(&RenderOptions::default());
        let whole = RenderOptions { crop: Some(frameflow_media::Crop { x: 0, y: 0, width: w, height: h }), ..RenderOptions::default() };
        let n = v.frame_count();
        let mut want = Vec::new();
        for i in [n.saturating_sub(1), n / 2, n / 3, 0] {
            let (Ok(direct), Ok(graph)) = (v.frame(i, &RenderOptions::default()), v.frame(i, &whole)) else { continue };
            assert!(direct.image.data == graph.image.data, "{}: frame {i} differs between the direct conversion and the graph", path.display());
            compared_direct += usize::from(w % 32 == 0 && v.info().rotation == 0);
            want.push((i, direct.image.data));
        }
        // The same frames into one buffer, last frame first (an overrun of a slot would land
        // in one written before it), with guard bytes after it.
        let asked: Vec<usize> = want.iter().map(|(i, _)| *i).collect();
        let expected: Vec<u8> = want.into_iter().flat_map(|(_, data)| data).collect();
        let mut buffer = vec![0xA5u8; expected.len() + 4096];
        let (batch, guard) = buffer.split_at_mut(expected.len());
        v.frames_into(&asked, &RenderOptions::default(), batch).unwrap();
        assert!(batch == expected.as_slice(), "{}: frames_into differs from frame()", path.display());
        assert!(guard.iter().all(|&b| b == 0xA5), "{}: bytes after the batch were written", path.display());
    }
    assert!(compared_direct >= 40, "compared only {compared_direct} directly converted frames");
}
