//! frameflow's side of the peer benchmark harness (`scripts/peers/`, `make bench`): the same
//! tasks, inputs and protocol as the peers' runners in `scripts/peers/runners.py`, so the
//! harness can set them side by side. Not a test.
//!
//! `peer_bench TASK SPEC.json RESULT.json` — the spec says what to do, the result (JSON) what
//! it took. Tasks:
//! - `seq`: `{"video"}` — every frame to RGB24 in presentation order, each copied into an
//!   H×W×3 buffer (what the Python peers hand back as an array); from open to the last frame.
//! - `random`: `{"video", "calls": [[index, ...], ...]}` — the first call opens the video (packet
//!   scan included, as torchcodec's exact mode) and decodes its frames; later calls reuse the
//!   open video. Every returned frame's RGB24 bytes go to stdout after that call's clock stops,
//!   for the harness's correctness check.
//! - `clips`: `{"video", "sampler", "clips", "frames_per_clip", "reps"}` — random clips planned
//!   by the built-in `random-clip` sampler component, each distinct frame decoded once, all
//!   clips copied into one N×F×H×W×3 buffer (what torchcodec's FrameBatch holds); a fresh open
//!   per repetition.
//! - `flow`: `{"a", "b", "algorithms", "seconds"}` — optical-flow pairs on two greyscale PNGs,
//!   the same OpenCV calls opencv-python makes; one warm-up pair, then per-pair times.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use frameflow_flow::{Algorithm, FlowEngine, GrayImage};
use frameflow_media::{DecoderTeam, OpenOptions, RenderOptions, Video};
use frameflow_runtime::sampler_types::{FrameSelector, VideoInfo};
use frameflow_runtime::{Runtime, RuntimeConfig, VideoPool};
use serde_json::{json, Value};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, task, spec, result] = args.as_slice() else {
        bail!("usage: peer_bench seq|random|clips|flow SPEC.json RESULT.json");
    };
    let spec: Value = serde_json::from_slice(&std::fs::read(spec).with_context(|| format!("reading {spec}"))?)?;
    frameflow_media::init();
    let out = match task.as_str() {
        "seq" => sequential(&spec)?,
        "random" => random(&spec)?,
        "clips" => clips(&spec)?,
        "flow" => flow(&spec)?,
        other => bail!("unknown task {other:?}: seq, random, clips or flow"),
    };
    std::fs::write(result, serde_json::to_vec(&out)?).with_context(|| format!("writing {result}"))
}

fn str_field<'a>(spec: &'a Value, name: &str) -> Result<&'a str> {
    spec[name].as_str().with_context(|| format!("spec needs a string {name:?}"))
}

fn u64_field(spec: &Value, name: &str) -> Result<u64> {
    spec[name].as_u64().with_context(|| format!("spec needs an integer {name:?}"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn open(spec: &Value) -> Result<Video> {
    // Threads 0: FFmpeg's automatic choice, as every peer in the harness is configured.
    Ok(Video::open_with(str_field(spec, "video")?, OpenOptions { threads: 0, ..OpenOptions::default() })?)
}

fn sequential(spec: &Value) -> Result<Value> {
    let started = Instant::now();
    let mut video = open(spec)?;
    let (w, h) = video.output_size(&RenderOptions::default());
    let mut frame = vec![0u8; w as usize * h as usize * 3];
    let mut frames = 0u64;
    // Each frame lands in an H×W×3 buffer (as the other tools' arrays), forward from the last.
    for i in 0..video.frame_count() {
        video.frames_into(&[i], &RenderOptions::default(), &mut frame)?;
        std::hint::black_box(&frame);
        frames += 1;
    }
    Ok(json!({"frames": frames, "total_ms": ms(started.elapsed())}))
}

fn random(spec: &Value) -> Result<Value> {
    let calls: Vec<Vec<usize>> = serde_json::from_value(spec["calls"].clone()).context("spec needs \"calls\"")?;
    let options = RenderOptions::default();
    let mut stdout = std::io::stdout().lock();
    let started = Instant::now();
    let mut video = open(spec)?;
    // With automatic threads (as every tool here), a call across GOPs goes to a team of
    // single-threaded decoders, a GOP each, as the Python package does.
    let mut team = DecoderTeam::for_video(&video, DecoderTeam::size_for_this_machine());
    let opened = started.elapsed();
    let mut times = Vec::with_capacity(calls.len());
    for (n, wanted) in calls.iter().enumerate() {
        let t = if n == 0 { started } else { Instant::now() };
        let frames = if team.shares(wanted) { team.frames(wanted, &options)? } else { video.frames(wanted, &options)? };
        times.push(ms(t.elapsed()));
        for f in &frames {
            stdout.write_all(&f.image.data)?;
        }
    }
    stdout.flush()?;
    Ok(json!({"open_ms": ms(opened), "call_ms": times, "frames_decoded": video.frames_decoded() + team.frames_decoded()}))
}

fn clips(spec: &Value) -> Result<Value> {
    let video = str_field(spec, "video")?;
    let (clips, per_clip, reps) = (u64_field(spec, "clips")?, u64_field(spec, "frames_per_clip")?, u64_field(spec, "reps")?);
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let cache = std::env::temp_dir().join("frameflow-bench-components");
    let runtime = Runtime::new(
        RuntimeConfig { cache_dir: cache, max_instances: 4, ..RuntimeConfig::default() },
        Arc::new(VideoPool::new(None)),
    )?;
    runtime.samplers().add_builtin("random-clip", std::path::Path::new(str_field(spec, "sampler")?))?;
    let params = json!({"num_clips": clips, "frames_per_clip": per_clip}).to_string();
    let (mut times, mut needed, mut decoded) = (Vec::new(), Vec::new(), Vec::new());
    // One extra repetition first, as warm-up (component compile cache, page cache).
    for rep in 0..=reps {
        let started = Instant::now();
        let mut v = Video::open(video)?;
        let plan = tokio
            .block_on(runtime.samplers().plan_builtin("random-clip", &VideoInfo::from(v.info()), &params, rep))
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        let slots: Vec<usize> = plan
            .iter()
            .flat_map(|c| c.frames.iter())
            .map(|s| match s {
                FrameSelector::Index(i) => Ok(*i as usize),
                other => bail!("index clips expected, got {other:?}"),
            })
            .collect::<Result<_>>()?;
        let mut distinct = slots.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let (w, h) = v.output_size(&RenderOptions::default());
        let mut batch = vec![0u8; slots.len() * w as usize * h as usize * 3];
        // Clips across GOPs: a team of decoders, a GOP each, as the Python package does.
        let mut team = DecoderTeam::for_video(&v, DecoderTeam::size_for_this_machine());
        if team.shares(&distinct) {
            team.frames_into(&slots, &RenderOptions::default(), &mut batch)?;
        } else {
            v.frames_into(&slots, &RenderOptions::default(), &mut batch)?;
        }
        let elapsed = ms(started.elapsed());
        std::hint::black_box(&batch);
        if rep > 0 {
            times.push(elapsed);
            needed.push(distinct.len() as u64);
            decoded.push(v.frames_decoded() + team.frames_decoded());
        }
    }
    Ok(json!({"call_ms": times, "frames_needed": needed, "frames_decoded": decoded}))
}

fn flow(spec: &Value) -> Result<Value> {
    let prev = GrayImage::read(str_field(spec, "a")?.as_ref())?;
    let next = GrayImage::read(str_field(spec, "b")?.as_ref())?;
    let budget = Duration::from_secs_f64(spec["seconds"].as_f64().unwrap_or(2.0));
    let mut out = serde_json::Map::new();
    for name in spec["algorithms"].as_array().context("spec needs \"algorithms\"")? {
        let name = name.as_str().context("algorithm names are strings")?;
        let algorithm = Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .with_context(|| format!("unknown algorithm {name:?}"))?;
        let engine = FlowEngine::new(algorithm);
        engine.compute(&prev, &next)?;
        let start = Instant::now();
        let mut times = Vec::new();
        while start.elapsed() < budget || times.len() < 5 {
            let t = Instant::now();
            std::hint::black_box(engine.compute(&prev, &next)?);
            times.push(ms(t.elapsed()));
        }
        out.insert(name.to_string(), json!(times));
    }
    Ok(json!({"pair_ms": out, "size": [prev.width, prev.height]}))
}
