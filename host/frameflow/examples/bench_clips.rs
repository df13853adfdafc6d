//! Benchmark (not a test): 16-frame random clips per second, the way a training loader
//! gets them from frameflow: the built-in `random-clip` sampler component plans the clips,
//! the media core decodes the distinct frames once in presentation order, and every clip's
//! frames are copied into one N×16×H×W×3 buffer (what torchcodec's FrameBatch holds).
//! Each repetition opens the video afresh (packet scan included, as torchcodec's exact mode
//! scans). Prints one JSON line.
//!
//! `bench_clips VIDEO SAMPLER_WASM NUM_CLIPS REPS`

use std::sync::Arc;
use std::time::Instant;

use frameflow_media::{RenderOptions, Video};
use frameflow_runtime::sampler_types::{video_info, FrameSelector};
use frameflow_runtime::{Runtime, RuntimeConfig, VideoPool};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, video, sampler, clips, reps] = args.as_slice() else {
        anyhow::bail!("usage: bench_clips VIDEO SAMPLER_WASM NUM_CLIPS REPS");
    };
    let (clips, reps): (u64, usize) = (clips.parse()?, reps.parse()?);
    frameflow_media::init();
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let cache = std::env::temp_dir().join("frameflow-bench-components");
    let runtime = Runtime::new(RuntimeConfig { cache_dir: cache, max_instances: 4, ..RuntimeConfig::default() }, Arc::new(VideoPool::new(None)))?;
    runtime.samplers().add_builtin("random-clip", std::path::Path::new(sampler))?;
    let params = format!(r#"{{"num_clips": {clips}, "frames_per_clip": 16}}"#);

    let mut times = Vec::new();
    let (mut needed, mut decoded) = (0u64, 0u64);
    for rep in 0..reps {
        let started = Instant::now();
        let mut v = Video::open(video)?;
        let plan = tokio
            .block_on(runtime.samplers().plan_builtin("random-clip", &video_info(v.info()), &params, rep as u64))
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        let slots: Vec<usize> = plan
            .iter()
            .flat_map(|c| c.frames.iter())
            .map(|s| match s {
                FrameSelector::Index(i) => *i as usize,
                other => panic!("index clips expected, got {other:?}"),
            })
            .collect();
        let mut distinct = slots.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let (w, h) = (v.info().width as usize, v.info().height as usize);
        let frame_bytes = w * h * 3;
        let mut batch = vec![0u8; slots.len() * frame_bytes];
        let before = v.frames_decoded();
        v.for_each_view_at(&distinct, &RenderOptions::default(), |id, view| {
            for (slot, _) in slots.iter().enumerate().filter(|(_, &i)| i == id.index) {
                let out = &mut batch[slot * frame_bytes..(slot + 1) * frame_bytes];
                for (row, dst) in view.rows().zip(out.chunks_exact_mut(w * 3)) {
                    dst.copy_from_slice(row);
                }
            }
            Ok(())
        })?;
        times.push(started.elapsed().as_secs_f64());
        needed += distinct.len() as u64;
        decoded += v.frames_decoded() - before;
        std::hint::black_box(&batch);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "{}",
        serde_json::json!({
            "tool": "frameflow",
            "video": video,
            "clips": clips,
            "reps": reps,
            "median_s": median,
            "clips_per_s": clips as f64 / median,
            "frames_needed_per_rep": needed as f64 / reps as f64,
            "frames_decoded_per_rep": decoded as f64 / reps as f64,
        })
    );
    Ok(())
}
