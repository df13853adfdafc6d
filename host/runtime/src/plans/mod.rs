//! The host side of `frameflow:jobs/plans`: a whole chunk of a sampling plan in one call,
//! on a [`HostView`] of [`PlansCtx`].
//!
//! The plan runs on a blocking thread through [`frameflow_plans::execute`] (one decode pass,
//! flow from the decoded frames); each output is handed over a small bounded channel to an
//! async task that writes it to the tenant's store, so decoding and writing overlap and at
//! most a few encoded outputs wait in memory.

use bytes::Bytes;
use frameflow_flow::Algorithm;
use frameflow_media::{ImageFormat, RenderOptions};
use frameflow_plans::{OutputKind as CoreKind, OutputSpec as CoreSpec, PlanError as CorePlanError, PlannedClip as CoreClip};
use frameflow_store::WriteMode;
use wasmtime::component::Resource;

use crate::admission::{estimate, Refusal};
use crate::bindings::frameflow::jobs::plans::{Host, Output, OutputKind, OutputSpec, PlannedClip, RunResult, RunStats};
use crate::bindings::frameflow::media::types::{ImageFormat as WitFormat, MediaError};
use crate::bindings::MediaFailure;
use crate::blocking::blocking;
use crate::conversions::media_error;
use crate::flow::flow_slots;
use crate::handles::VideoHandle;
use crate::media::video_handle;
use crate::request::HostView;

/// Encoded outputs waiting for the store at once.
const WRITE_QUEUE: usize = 8;

/// `frameflow:jobs/plans` needs nothing beyond the request and the video handle it gets.
pub(crate) struct PlansCtx;

impl Host for HostView<'_, PlansCtx> {
    async fn execute(
        &mut self,
        source: Resource<VideoHandle>,
        clips: Vec<PlannedClip>,
        spec: OutputSpec,
    ) -> Result<RunResult, MediaFailure> {
        if let Err(e) = frameflow_store::validate_key(&format!("{}/00000/img_00000.jpg", spec.prefix)) {
            return Err(MediaError::Invalid(format!("output prefix: {e}")).into());
        }
        if !(1..=100).contains(&spec.quality) {
            return Err(MediaError::Invalid(format!("quality {} is outside 1..=100", spec.quality)).into());
        }
        if spec.flow && !(spec.bound.is_finite() && spec.bound > 0.0) {
            return Err(MediaError::Invalid(format!("flow bound {} must be a positive number", spec.bound)).into());
        }
        if matches!(spec.format, WitFormat::Rgb24) {
            return Err(MediaError::Invalid("plan outputs are jpeg or png images, not rgb24".into()).into());
        }
        let format = ImageFormat::from(spec.format);
        let handle = video_handle(self.table, &source)?;
        let (pooled, label) = (handle.video.clone(), handle.label.clone());
        let render = RenderOptions::from(spec.render);
        let (coded_w, coded_h) = (pooled.info().coded_width, pooled.info().coded_height);
        let (w, h) = self.req.check_render(&render, (pooled.info().width, pooled.info().height))?;
        let algorithm = Algorithm::from(spec.algorithm);
        if spec.flow {
            self.req.check_flow_size(w, h)?;
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
            .map(|c| CoreClip { number: c.number, frames: c.frames.into_iter().map(Into::into).collect(), flow_to: c.flow_to.into_iter().map(Into::into).collect() })
            .collect();

        let (tx, mut rx) = tokio::sync::mpsc::channel::<(String, Bytes)>(WRITE_QUEUE);
        let tenant = self.req.tenant.clone();
        let writer = tokio::spawn(async move {
            while let Some((key, bytes)) = rx.recv().await {
                tenant.put(&key, bytes, WriteMode::Overwrite).await.map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        });
        let _flow_slot = match spec.flow {
            true => Some(flow_slots().clone().acquire_owned().await.map_err(wasmtime::Error::from)?),
            false => None,
        };
        let prefix = spec.prefix;
        let (admission, deadline_at, interrupt) = (self.req.admission.clone(), self.req.deadline_at, Some(self.req.cancel.flag()));
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
                        let busy = matches!(refusal, Refusal::Busy(_));
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
        writer.await?.map_err(|e| MediaError::Internal(format!("writing outputs to the store: {e}")))?;
        let stats = match stats {
            Ok(Ok(s)) => s,
            Ok(Err(e @ (CorePlanError::Flow(_) | CorePlanError::Emit { .. }))) => return Err(MediaError::Internal(e.to_string()).into()),
            Ok(Err(CorePlanError::Refused { reason, busy: true })) => return Err(MediaError::Busy(reason).into()),
            Ok(Err(CorePlanError::Refused { reason, busy: false })) => return Err(MediaError::TooLarge(reason).into()),
            Ok(Err(e)) => return Err(MediaError::Invalid(e.to_string()).into()),
            Err(e) => return Err(media_error(e, pooled.path(), &label).into()),
        };
        Ok(RunResult {
            outputs,
            stats: RunStats {
                frames_needed: stats.frames_needed,
                frames_decoded: stats.frames_decoded,
                flows_computed: stats.flows_computed,
            },
        })
    }
}
