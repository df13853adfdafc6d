//! A sampler template: copy this folder (and frameflow's `wit/` folder), change `plan`,
//! build with `cargo build --release --target wasm32-wasip2`, and upload the `.wasm` with
//! `PUT /v1/samplers/{name}` (docs/writing-a-sampler.md).
//!
//! This one takes a clip every `every` frames (default 30), `frames_per_clip` consecutive
//! frames each (default 1); with `modality` `flow` or `rgb+flow` (the host adds the job's
//! modality to the params) each frame also gets a flow to the next one. A sampler is pure:
//! no clock, no randomness, no files, no network. Anything else is refused at upload, and
//! the same `info`, params and seed must always give the same plan.

mod bindings {
    wit_bindgen::generate!({
        // Where frameflow's WIT lives: adjust when you copy this folder elsewhere.
        path: "../../../wit",
        world: "frameflow:sampler/sampler",
        generate_all,
    });
}

use bindings::exports::frameflow::sampler::plan::Guest;
use bindings::frameflow::media::types::{FrameSelector, VideoInfo};
use bindings::frameflow::sampler::types::{Clip, PlanError};

struct EveryNth;

/// A rejected parameter, named so the job's error says which one to fix.
fn bad(param: &str, message: &str) -> PlanError {
    PlanError { param: Some(param.to_string()), message: message.to_string() }
}

/// A whole-number parameter in `1..=max`, or its default.
fn number(params: &serde_json::Value, name: &str, default: u64, max: u64) -> Result<u64, PlanError> {
    match params.get(name) {
        None => Ok(default),
        Some(v) => match v.as_u64() {
            Some(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(bad(name, &format!("must be a whole number from 1 to {max}"))),
        },
    }
}

impl Guest for EveryNth {
    fn plan(info: VideoInfo, params_json: String, _seed: u64) -> Result<Vec<Clip>, PlanError> {
        let params: serde_json::Value = serde_json::from_str(&params_json).map_err(|e| bad("params", &e.to_string()))?;
        let every = number(&params, "every", 30, 1_000_000)?;
        let frames_per_clip = number(&params, "frames_per_clip", 1, 1000)?;
        let flow = matches!(params.get("modality").and_then(|m| m.as_str()), Some("flow") | Some("rgb+flow"));
        // A flow needs the frame after the clip's last one.
        let span = frames_per_clip + flow as u64;
        if info.frame_count < span {
            return Err(bad("frames_per_clip", &format!("the video has {} frames; a clip needs {span}", info.frame_count)));
        }
        let mut clips = Vec::new();
        let mut start = 0;
        while start + span <= info.frame_count {
            let frames: Vec<u64> = (start..start + frames_per_clip).collect();
            clips.push(Clip {
                flow_to: if flow { frames.iter().map(|&i| FrameSelector::Index(i + 1)).collect() } else { Vec::new() },
                frames: frames.into_iter().map(FrameSelector::Index).collect(),
            });
            start += every;
        }
        Ok(clips)
    }
}

bindings::export!(EveryNth with_types_in bindings);
