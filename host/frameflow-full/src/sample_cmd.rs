//! `frameflow sample`: a sampling job run locally, with the same sampler components and the
//! same plan executor as the server, written to a directory:
//! `OUT/clips/{clip:05}/img_{k:05}.jpg`, `flow_x_…`, `flow_y_…` and `OUT/manifest.jsonl`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use frameflow_flow::Algorithm;
use frameflow_media::{ImageFormat, RenderOptions, Video};
use frameflow_plans::{OutputSpec, PlannedClip};
use frameflow_runtime::sampler_types::VideoInfo;
use frameflow_runtime::{Runtime, RuntimeConfig, VideoPool};
use frameflow_server::Manifest;
use serde_json::{json, Value};

pub struct SampleArgs {
    pub videos: Vec<PathBuf>,
    pub sampler: String,
    pub params: String,
    pub modality: String,
    pub seed: u64,
    pub out: PathBuf,
    pub config: PathBuf,
    pub format: ImageFormat,
    pub quality: u8,
    pub algorithm: Algorithm,
    pub bound: f32,
    pub render: RenderOptions,
}

/// The sampler's params: the user's plus the modality (as a job passes them).
fn sampler_params(params: &str, modality: &str) -> Result<String> {
    let mut value: Value = serde_json::from_str(if params.trim().is_empty() { "{}" } else { params }).context("--params is not JSON")?;
    let Value::Object(map) = &mut value else { bail!("--params must be a JSON object") };
    map.insert("modality".into(), modality.into());
    Ok(value.to_string())
}

/// Registers `--sampler`: a built-in name from the manifest, or a component file.
fn register_sampler(runtime: &Runtime, sampler: &str, config: &Path) -> Result<String> {
    if sampler.ends_with(".wasm") {
        runtime.samplers().add_builtin("custom", Path::new(sampler))?;
        return Ok("custom".into());
    }
    let manifest = Manifest::load(config).with_context(|| format!("reading the built-in samplers from {}", config.display()))?;
    let source = manifest.frameflow.samplers.get(sampler).with_context(|| {
        let known: Vec<&String> = manifest.frameflow.samplers.keys().collect();
        format!("no sampler '{sampler}' in {} (known: {known:?}; or pass a .wasm file)", config.display())
    })?;
    let path = manifest.resolve(source);
    runtime.samplers().add_builtin(sampler, &path).with_context(|| format!("build the samplers with `make components` ({})", path.display()))?;
    Ok(sampler.to_string())
}

struct ProgressBar {
    done: u64,
    total: u64,
    shown: u64,
}

impl ProgressBar {
    fn tick(&mut self) {
        self.done += 1;
        let percent = self.done * 100 / self.total.max(1);
        if percent != self.shown || self.done == self.total {
            self.shown = percent;
            let filled = (percent / 4) as usize;
            eprint!("\rsample: [{}{}] {:3}% {}/{} outputs", "#".repeat(filled), " ".repeat(25 - filled), percent, self.done, self.total);
            if self.done == self.total {
                eprintln!();
            }
        }
    }
}

pub fn sample(args: SampleArgs) -> Result<()> {
    let (rgb, flow) = match args.modality.as_str() {
        "rgb" => (true, false),
        "flow" => (false, true),
        "rgb+flow" => (true, true),
        other => bail!("--modality must be rgb, flow or rgb+flow, got '{other}'"),
    };
    let params = sampler_params(&args.params, &args.modality)?;
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let cache = std::env::temp_dir().join("frameflow-cli-components");
    let runtime = Runtime::new(RuntimeConfig { cache_dir: cache, max_instances: 4, ..RuntimeConfig::default() }, std::sync::Arc::new(VideoPool::new(None)))?;
    let name = register_sampler(&runtime, &args.sampler, &args.config)?;

    // Plan every video first, so bad params fail before anything is written.
    let mut plans = Vec::new();
    let mut number = 0u32;
    for (i, path) in args.videos.iter().enumerate() {
        let video = Video::open(path).with_context(|| format!("opening {}", path.display()))?;
        // The same per-video seed as a job (`JobSpec::video_seed` in components/jobs).
        let seed = args.seed.wrapping_add((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let clips = tokio
            .block_on(runtime.samplers().plan_builtin(&name, &VideoInfo::from(video.info()), &params, seed))
            .map_err(|e| match e.param {
                Some(p) => anyhow::anyhow!("{}: '{p}': {}", path.display(), e.message),
                None => anyhow::anyhow!("{}: {}", path.display(), e.message),
            })?;
        let planned: Vec<PlannedClip> = clips
            .into_iter()
            .map(|c| {
                number += 1;
                PlannedClip {
                    number: number - 1,
                    frames: c.frames.into_iter().map(Into::into).collect(),
                    flow_to: c.flow_to.into_iter().map(Into::into).collect(),
                }
            })
            .collect();
        plans.push((path, video, planned));
    }
    let per_frame = rgb as u64 + 2 * flow as u64;
    let total: u64 = plans.iter().flat_map(|(_, _, clips)| clips.iter()).map(|c| c.frames.len() as u64 * per_frame).sum();
    let spec = OutputSpec {
        rgb,
        flow,
        format: args.format,
        quality: args.quality,
        render: args.render.clone(),
        algorithm: args.algorithm,
        bound: args.bound,
    };
    let clips_dir = args.out.join("clips");
    std::fs::create_dir_all(&clips_dir).with_context(|| format!("creating {}", clips_dir.display()))?;
    let mut manifest = std::io::BufWriter::new(std::fs::File::create(args.out.join("manifest.jsonl"))?);
    let mut bar = ProgressBar { done: 0, total, shown: u64::MAX };
    let mut lines = Vec::new();
    for (path, mut video, clips) in plans {
        lines.clear();
        let stats = frameflow_plans::execute(&mut video, &clips, &spec, |out, bytes| {
            let file = clips_dir.join(&out.name);
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            }
            std::fs::write(&file, &bytes).map_err(|e| format!("{}: {e}", file.display()))?;
            let stem = out.name.rsplit_once('.').map(|(s, _)| s).unwrap_or(&out.name);
            let kind = out.kind.as_str();
            let mut line = json!({"id": stem, "clip": out.clip, "k": out.k, "kind": kind, "video": path.display().to_string(),
                "index": out.frame.index, "pts": out.frame.pts, "seconds": out.frame.seconds, "path": format!("clips/{}", out.name)});
            if let Some(to) = out.to {
                line["to_index"] = to.index.into();
                line["bound"] = args.bound.into();
            }
            lines.push(((out.clip, out.k, kind), line));
            bar.tick();
            Ok(())
        })
        .with_context(|| format!("sampling {}", path.display()))?;
        lines.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, line) in &lines {
            writeln!(manifest, "{line}")?;
        }
        eprintln!(
            "sample: {}: {} frames needed, {} decoded (from key frames), {} flows",
            path.display(),
            stats.frames_needed,
            stats.frames_decoded,
            stats.flows_computed
        );
    }
    manifest.flush()?;
    eprintln!("sample: {total} outputs of {number} clips in {}", args.out.display());
    Ok(())
}
