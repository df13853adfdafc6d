//! The `flow` and `flow-pair` commands: optical flow from a video's frames or two images,
//! written with denseflow's 0-based names.

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use frameflow_flow::{Algorithm, FlowEngine, FlowField, FlowFormat, GrayImage};
use frameflow_media::{RenderOptions, Video};

/// What `frameflow flow` was asked for.
pub struct VideoFlowRequest {
    pub from_index: usize,
    pub count: usize,
    pub step: usize,
    pub algorithm: Algorithm,
    pub bound: f32,
    pub format: FlowFormat,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub short_side: Option<u32>,
    pub out: PathBuf,
}

/// Flow k goes from frame `from_index + k` to `from_index + k + step`. Frames are decoded
/// once, in order, keeping only the last `step + 1` in memory.
pub fn video_flow(video: &mut Video, req: &VideoFlowRequest) -> Result<usize> {
    if req.step == 0 || req.count == 0 {
        bail!("--step and --count must be at least 1");
    }
    let n = video.frame_count();
    let last = req.from_index.checked_add(req.count - 1).and_then(|l| l.checked_add(req.step));
    let last = match last {
        Some(last) if last < n => last,
        _ => bail!(
            "flow needs frames {}..={} (from-index + count - 1 + step) but the video has {n} frames (0..={})",
            req.from_index,
            last.map(|l| l.to_string()).unwrap_or_else(|| "overflow".into()),
            n.saturating_sub(1)
        ),
    };
    let options = resize_options(video, req);
    fs::create_dir_all(&req.out).with_context(|| format!("creating {}", req.out.display()))?;
    let engine = FlowEngine::new(req.algorithm);
    let wanted: Vec<usize> = (req.from_index..=last).collect();
    let mut window: VecDeque<(usize, GrayImage, i64)> = VecDeque::new();
    let mut manifest = String::new();
    let mut written = 0;
    video.for_each_frame_at(&wanted, &options, |f| {
        let gray = GrayImage::from_rgb(&f.image.data, f.image.width, f.image.height).map_err(media_err)?;
        window.push_back((f.id.index, gray, f.id.pts));
        while window.len() > req.step + 1 {
            window.pop_front();
        }
        if window.len() == req.step + 1 {
            let (from, prev, from_pts) = &window[0];
            let (to, next, to_pts) = window.back().expect("window is full");
            let k = from - req.from_index;
            if k < req.count {
                let flow = engine.compute(prev, next).map_err(media_err)?;
                write_flow(&flow, req.format, req.bound, &req.out, &format!("{k:05}")).map_err(media_err)?;
                manifest.push_str(&format!(
                    "{{\"k\":{k},\"from_index\":{from},\"from_pts\":{from_pts},\"to_index\":{to},\"to_pts\":{to_pts},\"algorithm\":\"{}\",\"bound\":{},\"width\":{},\"height\":{}}}\n",
                    req.algorithm.name(), req.bound, flow.width, flow.height
                ));
                written += 1;
            }
        }
        Ok(())
    })?;
    fs::write(req.out.join("flows.jsonl"), manifest).context("writing flows.jsonl")?;
    Ok(written)
}

fn resize_options(video: &Video, req: &VideoFlowRequest) -> RenderOptions {
    let (w, h) = (video.info().width, video.info().height);
    let (width, height) = match req.short_side {
        Some(s) if w <= h => (Some(s), None),
        Some(s) => (None, Some(s)),
        None => (req.width, req.height),
    };
    RenderOptions { width, height, ..Default::default() }
}

/// Writes one flow: `flow_x_{stem}.jpg` + `flow_y_{stem}.jpg`, `flow_{stem}.flo` or `flow_{stem}.png`.
fn write_flow(flow: &FlowField, format: FlowFormat, bound: f32, dir: &Path, stem: &str) -> frameflow_flow::Result<()> {
    let write = |name: String, bytes: Vec<u8>| {
        fs::write(dir.join(&name), bytes).map_err(|e| frameflow_flow::FlowError::Encode(format!("writing {name}: {e}")))
    };
    match format {
        FlowFormat::JpegXy => {
            let (x, y) = flow.to_jpeg_xy(bound)?;
            write(format!("flow_x_{stem}.jpg"), x)?;
            write(format!("flow_y_{stem}.jpg"), y)
        }
        FlowFormat::Flo => write(format!("flow_{stem}.flo"), flow.to_flo()),
        FlowFormat::Color => write(format!("flow_{stem}.png"), flow.to_color_png()?),
    }
}

/// `flow-pair A B -o OUT`: OUT is the file for `flo`/`color`; for `jpeg-xy` it is a stem
/// (`OUT_x.jpg`, `OUT_y.jpg`).
pub fn pair_flow(a: &Path, b: &Path, algorithm: Algorithm, format: FlowFormat, bound: f32, out: &Path) -> Result<()> {
    let prev = GrayImage::read(a)?;
    let next = GrayImage::read(b)?;
    let flow = FlowEngine::new(algorithm).compute(&prev, &next)?;
    match format {
        FlowFormat::Flo => fs::write(out, flow.to_flo()),
        FlowFormat::Color => fs::write(out, flow.to_color_png()?),
        FlowFormat::JpegXy => {
            let (x, y) = flow.to_jpeg_xy(bound)?;
            let stem = out.with_extension("");
            let stem = stem.to_string_lossy();
            fs::write(format!("{stem}_x.jpg"), x).and_then(|_| fs::write(format!("{stem}_y.jpg"), y))
        }
    }
    .with_context(|| format!("writing {}", out.display()))
}

fn media_err(e: frameflow_flow::FlowError) -> frameflow_media::MediaError {
    frameflow_media::MediaError::Consumer(Box::new(e))
}
