//! The plan executor on a generated pattern video: what a chunk holds for flow is known
//! before anything is decoded, and every frame is decoded once.

use frameflow_flow::Algorithm;
use frameflow_media::{FrameSelector, ImageFormat, RenderOptions, Video};
use frameflow_plans::{prepare, OutputSpec, PlannedClip};
use frameflow_testkit::pattern::pattern_video;

fn spec(flow: bool) -> OutputSpec {
    OutputSpec {
        rgb: true,
        flow,
        format: ImageFormat::Jpeg,
        quality: 80,
        render: RenderOptions { width: Some(64), height: Some(48), ..RenderOptions::default() },
        algorithm: Algorithm::DisUltrafast,
        bound: 20.0,
    }
}

fn clip(number: u32, frames: &[u64], to: &[u64]) -> PlannedClip {
    PlannedClip {
        number,
        frames: frames.iter().map(|&i| FrameSelector::Index(i)).collect(),
        flow_to: to.iter().map(|&i| FrameSelector::Index(i)).collect(),
    }
}

#[test]
fn far_apart_flow_pairs_hold_many_frames_and_near_ones_few() {
    let video = Video::open(pattern_video("h264_bframes_gop250.mp4").path).unwrap();
    // Neighbouring pairs: each is done as soon as its later frame arrives.
    let near = prepare(&video, &[clip(0, &[10, 11, 12], &[11, 12, 13])], &spec(true)).unwrap();
    assert_eq!(near.frames_needed(), 4);
    assert_eq!(near.peak_held_frames(), 2);
    // Pairs spanning the video: every early frame waits for its partner.
    let far = prepare(&video, &[clip(0, &[0, 1, 2, 3, 4], &[295, 296, 297, 298, 299])], &spec(true)).unwrap();
    assert_eq!(far.frames_needed(), 10);
    assert_eq!(far.peak_held_frames(), 6);
    // Without flow nothing is held.
    let rgb = prepare(&video, &[clip(0, &[0, 1, 2, 3, 4], &[])], &spec(false)).unwrap();
    assert_eq!(rgb.peak_held_frames(), 0);
}

#[test]
fn a_prepared_plan_runs_and_decodes_each_frame_once() {
    let mut video = Video::open(pattern_video("h264_bframes_gop250.mp4").path).unwrap();
    let clips = [clip(0, &[20, 22, 24], &[21, 23, 25]), clip(1, &[22, 24, 26], &[23, 25, 27])];
    let prepared = prepare(&video, &clips, &spec(true)).unwrap();
    let mut names = Vec::new();
    let stats = prepared.run(&mut video, &spec(true), |out, bytes| {
        assert!(!bytes.is_empty());
        names.push(out.name);
        Ok(())
    });
    let stats = stats.unwrap();
    assert_eq!(stats.frames_needed, 8);
    assert_eq!(stats.flows_computed, 4, "shared pairs are computed once");
    // 6 images + 6 flow_x + 6 flow_y, each clip position once.
    assert_eq!(names.len(), 18);
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 18);
    // A bad selector is refused before anything is decoded.
    assert!(prepare(&video, &[clip(0, &[400], &[401])], &spec(true)).is_err());
}
