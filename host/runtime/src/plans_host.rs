//! The host side of `frameflow:media/plans`: a whole chunk of a sampling plan in one call.
//!
//! The plan runs on a blocking thread through [`frameflow_plans::execute`] (one decode pass,
//! flow from the decoded frames); each output is handed over a small bounded channel to an
//! async task that writes it to the tenant's store, so decoding and writing overlap and at
//! most a few encoded outputs wait in memory.

use bytes::Bytes;
use frameflow_media::{FrameSelector, ImageFormat};
use frameflow_plans::{OutputKind as CoreKind, OutputSpec as CoreSpec, PlanError as CorePlanError, PlannedClip as CoreClip};
use frameflow_store::WriteMode;
use wasmtime::component::Resource;

use crate::bindings::frameflow::media::plans::{Host, Output, OutputKind, OutputSpec, PlannedClip, RunResult, RunStats};
use crate::bindings::frameflow::media::types::{FrameSelector as WitSelector, ImageFormat as WitFormat, MediaError};
use crate::blocking::blocking;
use crate::media_host::{render_options, selector, to_wit_error, VideoHandle};
use crate::admission::estimate;
use crate::sandbox::Sandbox;

/// Encoded outputs waiting for the store at once.
const WRITE_QUEUE: usize = 8;

fn selectors(at: Vec<WitSelector>) -> Vec<FrameSelector> {
    at.into_iter().map(selector).collect()
}

impl Host for Sandbox {
    async fn execute(
        &mut self,
        source: Resource<VideoHandle>,
        clips: Vec<PlannedClip>,
        spec: OutputSpec,
    ) -> wasmtime::Result<Result<RunResult, MediaError>> {
        if let Err(e) = frameflow_store::validate_key(&format!("{}/00000/img_00000.jpg", spec.prefix)) {
            return Ok(Err(MediaError::Invalid(format!("output prefix: {e}"))));
        }
        if !(1..=100).contains(&spec.quality) {
            return Ok(Err(MediaError::Invalid(format!("quality {} is outside 1..=100", spec.quality))));
        }
        if spec.flow && !(spec.bound.is_finite() && spec.bound > 0.0) {
            return Ok(Err(MediaError::Invalid(format!("flow bound {} must be a positive number", spec.bound))));
        }
        let format = match spec.format {
            WitFormat::Jpeg => ImageFormat::Jpeg,
            WitFormat::Png => ImageFormat::Png,
            WitFormat::Rgb24 => return Ok(Err(MediaError::Invalid("plan outputs are jpeg or png images, not rgb24".into()))),
        };
        let handle = self.video_handle(&source)?;
        let (pooled, label) = (handle.video.clone(), handle.label.clone());
        let render = render_options(spec.render);
        let (coded_w, coded_h) = (pooled.info().coded_width, pooled.info().coded_height);
        let (w, h) = match self.check_render(&render, (pooled.info().width, pooled.info().height)) {
            Ok(size) => size,
            Err(e) => return Ok(Err(e)),
        };
        let algorithm = crate::flow_host::algorithm(spec.algorithm);
        if let (true, Err(e)) = (spec.flow, self.check_flow_size(w, h)) {
            return Ok(Err(e));
        }
        let core_spec = CoreSpec {
            rgb: spec.rgb,
            flow: spec.flow,
            format,
            quality: spec.quality,
            render,
            algorithm,
            bound: spec.bound,
        };
        let core_clips: Vec<CoreClip> = clips
            .into_iter()
            .map(|c| CoreClip { number: c.number, frames: selectors(c.frames), flow_to: selectors(c.flow_to) })
            .collect();

        let (tx, mut rx) = tokio::sync::mpsc::channel::<(String, Bytes)>(WRITE_QUEUE);
        let tenant = self.tenant.clone();
        let writer = tokio::spawn(async move {
            while let Some((key, bytes)) = rx.recv().await {
                tenant.put(&key, bytes, WriteMode::Overwrite).await.map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        });
        let _flow_slot = match spec.flow {
            true => Some(crate::flow_host::flow_slots().clone().acquire_owned().await?),
            false => None,
        };
        let prefix = spec.prefix;
        let (admission, deadline_at, interrupt) = (self.admission.clone(), self.deadline_at, Some(self.cancel.flag()));
        let runtime = tokio::runtime::Handle::current();
        let ran = blocking(move || {
            let mut outputs = Vec::new();
            let stats = pooled.with_video(interrupt, |video| {
                let prepared = match frameflow_plans::prepare(video, &core_clips, &core_spec) {
                    Ok(p) => p,
                    Err(CorePlanError::Media(e)) => return Err(e),
                    Err(e) => return Ok(Err(e)),
                };
                // What this chunk holds at once: one decode, the greyscale frames pending
                // flow pairs keep, the flow solver, and the encoded outputs in the queue.
                let frame = w as u64 * h as u64;
                let mut working = estimate::decode(coded_w, coded_h, w, h, 1)
                    + prepared.peak_held_frames() as u64 * frame
                    + WRITE_QUEUE as u64 * frame * 3;
                if core_spec.flow {
                    working += estimate::flow(w, h, core_spec.algorithm);
                }
                let what = format!("this chunk ({} frames, {} held for flow)", prepared.frames_needed(), prepared.peak_held_frames());
                let _memory = match admission.memory_blocking(&what, working, deadline_at, &runtime) {
                    Ok(m) => m,
                    Err(refusal) => {
                        let busy = matches!(refusal, crate::admission::Refusal::Busy(_));
                        return Ok(Err(CorePlanError::Refused { reason: refusal.to_string(), busy }));
                    }
                };
                let run = prepared.run(video, &core_spec, |out, bytes| {
                    let key = format!("{prefix}/{}", out.name);
                    outputs.push(Output {
                        clip: out.clip,
                        k: out.k,
                        kind: match out.kind {
                            CoreKind::Rgb => OutputKind::Rgb,
                            CoreKind::FlowX => OutputKind::FlowX,
                            CoreKind::FlowY => OutputKind::FlowY,
                        },
                        key: key.clone(),
                        index: out.frame.index as u64,
                        pts: out.frame.pts,
                        seconds: out.frame.seconds,
                        to_index: out.to.map(|t| t.index as u64),
                        bytes: bytes.len() as u64,
                    });
                    tx.blocking_send((key, Bytes::from(bytes))).map_err(|_| "the store writer stopped".to_string())
                });
                // A decoder that failed mid-stream is not returned to the pool.
                match run {
                    Err(CorePlanError::Media(e)) => Err(e),
                    other => Ok(other),
                }
            });
            drop(tx);
            (stats, outputs, pooled)
        })
        .await?;
        let (stats, outputs, pooled) = ran;
        if let Err(e) = writer.await? {
            return Ok(Err(MediaError::Internal(format!("writing outputs to the store: {e}"))));
        }
        let stats = match stats {
            Ok(Ok(s)) => s,
            Ok(Err(e @ (CorePlanError::Flow(_) | CorePlanError::Emit { .. }))) => return Ok(Err(MediaError::Internal(e.to_string()))),
            Ok(Err(CorePlanError::Refused { reason, busy: true })) => return Ok(Err(MediaError::Busy(reason))),
            Ok(Err(CorePlanError::Refused { reason, busy: false })) => return Ok(Err(MediaError::TooLarge(reason))),
            Ok(Err(e)) => return Ok(Err(MediaError::Invalid(e.to_string()))),
            Err(e) => return Ok(Err(to_wit_error(e, pooled.path(), &label))),
        };
        Ok(Ok(RunResult {
            outputs,
            stats: RunStats {
                frames_needed: stats.frames_needed,
                frames_decoded: stats.frames_decoded,
                flows_computed: stats.flows_computed,
            },
        }))
    }
}
