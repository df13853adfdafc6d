//! One background step ([`step`]): the host calls it until it says no work is left.
//!
//! A step does one of: plan a pending job (under the job's lease, an if-match on the
//! record: every video through its sampler, clips grouped into chunks, `plan.json`); run
//! one chunk (claimed on its own, `claims/{chunk:06}.json`, create-only or taken over when
//! its holder's time ran out, so hosts on one store run a job's chunks side by side: one
//! `plans.execute` host call writes the outputs, then `manifest/{chunk:06}.jsonl`, then the
//! chunk is counted done in the record, once); or finish (under the job's lease:
//! `manifest.jsonl` assembled from the parts). A host killed mid-chunk leaves it not done;
//! whoever claims it next rewrites the same outputs and manifest part, so nothing is
//! missing or listed twice.

use frameflow_guest::bindings::frameflow::jobs::plans::{self, OutputKind, OutputSpec, PlannedClip};
use frameflow_guest::bindings::frameflow::media::types::{ImageFormat, RenderOptions};
use frameflow_guest::bindings::frameflow::media::video::Video;
use frameflow_guest::bindings::frameflow::sampler::samplers;
use frameflow_guest::bindings::frameflow::store::objects::{self, PutMode};
use frameflow_guest::{ApiError, ApiResult};
use frameflow_selector::FrameSelector;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::state::{self, Job, Lease, State};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlanClip {
    pub number: u32,
    /// In `plan.json` as `{"index": 5}`, `{"pts": 1001}` or `{"seconds": 1.5}`.
    pub frames: Vec<FrameSelector>,
    pub flow_to: Vec<FrameSelector>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Chunk {
    /// Position of the video in the job's spec.
    pub video: usize,
    pub clips: Vec<PlanClip>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlanFile {
    pub chunks: Vec<Chunk>,
}

pub fn plan_key(id: &str) -> String {
    format!("jobs/{id}/plan.json")
}

pub fn part_key(id: &str, chunk: u64) -> String {
    format!("jobs/{id}/manifest/{chunk:06}.jsonl")
}

enum Outcome {
    Worked,
    /// Worked, on a chunk taken over from a host whose lease had run out.
    TookOver,
    /// Planned the job into this many chunks.
    Planned(u64),
    Idle,
}

/// What one step did (the WIT `step-report`).
pub struct Stepped {
    pub worked: bool,
    pub took_over: bool,
    pub planned_chunks: u64,
}

/// What became of a work message's chunk (the WIT `chunk-outcome`).
#[derive(Debug, PartialEq)]
pub enum ChunkRun {
    Ran,
    TookOver,
    DoneAlready,
    Held,
}

/// The ids of this tenant's unfinished jobs, oldest first (ids start with their creation
/// time).
pub fn runnable() -> Result<Vec<String>, objects::StoreError> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = objects::list("job-active/", after.as_deref(), 1000)?;
        ids.extend(page.objects.iter().map(|m| m.key.trim_start_matches("job-active/").to_string()));
        match page.next_start_after {
            Some(next) => after = Some(next),
            None => return Ok(ids),
        }
    }
}

/// Advances job `id` by one step, as host `owner`, holding the job's lease for `lease_ms`
/// (renewed by every step). `run_chunks` false: chunks arrive as work messages
/// ([`run_one`]); this step runs one only when the job made no progress for `lease_ms`.
pub fn step(id: &str, owner: &str, lease_ms: u64, run_chunks: bool) -> Result<Stepped, String> {
    if !state::valid_id(id) {
        return Err(format!("'{id}' is not a job id"));
    }
    let stepped = |worked, took_over, planned_chunks| Stepped { worked, took_over, planned_chunks };
    match step_job(id, owner, lease_ms, run_chunks) {
        Ok(Outcome::Worked) => Ok(stepped(true, false, 0)),
        Ok(Outcome::TookOver) => Ok(stepped(true, true, 0)),
        Ok(Outcome::Planned(chunks)) => Ok(stepped(true, false, chunks)),
        Ok(Outcome::Idle) => Ok(stepped(false, false, 0)),
        Err(e) => Err(format!("job {id}: {}", e.message)),
    }
}

/// Runs chunk `chunk` of job `id` for a work message, as `owner`, unless it is done (or
/// the job is) or another live host holds its claim.
pub fn run_one(id: &str, chunk: u64, owner: &str, lease_ms: u64) -> Result<ChunkRun, String> {
    if !state::valid_id(id) {
        return Err(format!("'{id}' is not a job id"));
    }
    let job = match state::load(id) {
        Ok((job, _)) => job,
        Err(e) if e.status == 404 => return Ok(ChunkRun::DoneAlready),
        Err(e) => return Err(format!("job {id}: {}", e.message)),
    };
    if job.state != State::Running || chunk >= job.chunks || job.done_chunks.contains(&chunk) {
        return Ok(ChunkRun::DoneAlready);
    }
    match run_claimed(job, chunk, owner, lease_ms) {
        Ok(Some(Claim::TakenOver)) => Ok(ChunkRun::TookOver),
        Ok(Some(_)) => Ok(ChunkRun::Ran),
        Ok(None) => Ok(ChunkRun::Held),
        Err(e) => Err(format!("job {id}: {}", e.message)),
    }
}

fn step_job(id: &str, owner: &str, lease_ms: u64, run_chunks: bool) -> ApiResult<Outcome> {
    let (mut job, etag) = match state::load(id) {
        Ok(j) => j,
        Err(e) if e.status == 404 => {
            let _ = objects::delete(&format!("job-active/{id}"));
            return Ok(Outcome::Idle);
        }
        Err(e) => return Err(e),
    };
    if job.state.finished() {
        let _ = objects::delete(&format!("job-active/{id}"));
        return Ok(Outcome::Idle);
    }
    if job.state == State::Running && job.cursor < job.chunks {
        // Work messages carry the chunks; a job with no progress for a lease's time has
        // lost one, and is worked on here as without a queue.
        let stalled = state::now_ms().saturating_sub(job.updated_ms) > lease_ms;
        if !run_chunks && !stalled {
            return Ok(Outcome::Idle);
        }
        // Chunks are claimed one by one, so hosts on one store work a job side by side.
        return run_next_chunk(job, owner, lease_ms);
    }
    let now = state::now_ms();
    if job.lease.as_ref().is_some_and(|l| l.owner != owner && l.until_ms > now) {
        return Ok(Outcome::Idle);
    }
    job.lease = Some(Lease { owner: owner.to_string(), until_ms: now + lease_ms });
    let Some(etag) = state::save(&mut job, &etag)? else {
        return Ok(Outcome::Idle);
    };
    let done = match job.state {
        State::Pending => plan(job.clone(), &etag).map(Outcome::Planned),
        _ => finish(job.clone(), &etag).map(|()| Outcome::Worked),
    };
    match done {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            fail(job, &etag, e.message)?;
            Ok(Outcome::Worked)
        }
    }
}

fn fail(mut job: Job, etag: &str, message: String) -> ApiResult<()> {
    job.state = State::Failed;
    job.error = Some(message);
    job.lease = None;
    state::save(&mut job, etag)?;
    Ok(())
}

fn open(key: &str) -> ApiResult<Video> {
    Video::open(key).map_err(|e| {
        let e: ApiError = e.into();
        ApiError::new(e.status, e.code, format!("video '{key}': {}", e.message))
    })
}

/// Runs the sampler on one video of the job: its clips in plan order.
pub fn plan_video(job: &Job, video: usize) -> ApiResult<Vec<frameflow_guest::bindings::frameflow::sampler::types::Clip>> {
    let spec = &job.spec;
    let key = &spec.videos[video].key;
    let info = open(key)?.info();
    samplers::plan(&spec.sampler, &info, &spec.sampler_params(), spec.video_seed(video)).map_err(|e| {
        let at = e.param.as_ref().map(|p| format!("'{p}': ")).unwrap_or_default();
        ApiError { param: e.param, ..ApiError::new(400, "bad_params", format!("video '{key}': {at}{}", e.message)) }
    })
}

/// Plans the job into chunks of clips; how many.
fn plan(mut job: Job, etag: &str) -> ApiResult<u64> {
    let per_output = job.spec.rgb() as u64 + 2 * job.spec.flow() as u64;
    let mut chunks = Vec::new();
    let (mut number, mut outputs) = (0u32, 0u64);
    for video in 0..job.spec.videos.len() {
        let mut clips: Vec<PlanClip> = plan_video(&job, video)?
            .into_iter()
            .map(|c| {
                let clip = PlanClip {
                    number,
                    frames: c.frames.into_iter().map(FrameSelector::from).collect(),
                    flow_to: c.flow_to.into_iter().map(FrameSelector::from).collect(),
                };
                number += 1;
                outputs += clip.frames.len() as u64 * per_output;
                clip
            })
            .collect();
        // Chunks in video order: each chunk decodes forward from where the last one ended.
        clips.sort_by(|a, b| {
            let first = |c: &PlanClip| c.frames.first().map(|s| s.position()).unwrap_or(0.0);
            first(a).total_cmp(&first(b)).then(a.number.cmp(&b.number))
        });
        for group in clips.chunks(job.spec.chunk_clips as usize) {
            chunks.push(Chunk { video, clips: group.to_vec() });
        }
    }
    let plan = PlanFile { chunks };
    objects::put(&plan_key(&job.id), &serde_json::to_vec(&plan).expect("plans serialize"), &PutMode::Overwrite)?;
    job.state = State::Running;
    job.chunks = plan.chunks.len() as u64;
    job.cursor = 0;
    job.progress.total = outputs;
    job.progress.clips_total = number as u64;
    state::save(&mut job, etag)?;
    Ok(job.chunks)
}

fn load_plan(id: &str) -> ApiResult<PlanFile> {
    let bytes = objects::get(&plan_key(id))?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::new(500, "internal", format!("plan of job {id} is corrupt: {e}")))
}

fn kind_name(kind: OutputKind) -> &'static str {
    match kind {
        OutputKind::Rgb => "rgb",
        OutputKind::FlowX => "flow_x",
        OutputKind::FlowY => "flow_y",
    }
}

/// A chunk's claim: which host runs it, until when (`jobs/{id}/claims/{chunk:06}.json`).
fn claim_key(id: &str, chunk: u64) -> String {
    format!("jobs/{id}/claims/{chunk:06}.json")
}

/// How a chunk's claim went.
#[derive(PartialEq)]
enum Claim {
    /// Another live host holds it.
    Held,
    /// Ours: new, or this host's own from before a restart.
    Fresh,
    /// Ours, taken from another host whose lease had run out.
    TakenOver,
}

/// Claims a chunk for `owner` for `lease_ms`: created once (create-only), taken over when
/// its holder's time ran out or it is this host's own (a restarted host).
fn claim(id: &str, chunk: u64, owner: &str, lease_ms: u64) -> ApiResult<Claim> {
    let key = claim_key(id, chunk);
    let lease = serde_json::to_vec(&Lease { owner: owner.to_string(), until_ms: state::now_ms() + lease_ms }).expect("leases serialize");
    match objects::put(&key, &lease, &PutMode::Create) {
        Ok(_) => return Ok(Claim::Fresh),
        Err(objects::StoreError::PreconditionFailed(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let meta = objects::head(&key)?;
    let held: Option<Lease> = objects::get(&key).ok().and_then(|b| serde_json::from_slice(&b).ok());
    if held.as_ref().is_some_and(|l| l.owner != owner && l.until_ms > state::now_ms()) {
        return Ok(Claim::Held);
    }
    match objects::put(&key, &lease, &PutMode::IfMatch(meta.etag.unwrap_or_default())) {
        Ok(_) if held.is_some_and(|l| l.owner != owner) => Ok(Claim::TakenOver),
        Ok(_) => Ok(Claim::Fresh),
        Err(objects::StoreError::PreconditionFailed(_)) => Ok(Claim::Held),
        Err(e) => Err(e.into()),
    }
}

/// Runs the first chunk not done whose claim this host gets; `Idle` when every remaining
/// chunk is claimed by another live host.
fn run_next_chunk(job: Job, owner: &str, lease_ms: u64) -> ApiResult<Outcome> {
    let pending: Vec<u64> = (0..job.chunks).filter(|c| !job.done_chunks.contains(c)).take(64).collect();
    for chunk in pending {
        match run_claimed(job.clone(), chunk, owner, lease_ms)? {
            None => continue,
            Some(Claim::TakenOver) => return Ok(Outcome::TookOver),
            Some(_) => return Ok(Outcome::Worked),
        }
    }
    Ok(Outcome::Idle)
}

/// Claims chunk `chunk` and runs it (a failing chunk fails the job); the claim it got, or
/// `None` when another live host holds it.
fn run_claimed(job: Job, chunk: u64, owner: &str, lease_ms: u64) -> ApiResult<Option<Claim>> {
    let claimed = claim(&job.id, chunk, owner, lease_ms)?;
    if claimed == Claim::Held {
        return Ok(None);
    }
    let ran = run_chunk(&job, chunk);
    let _ = objects::delete(&claim_key(&job.id, chunk));
    if let Err(e) = ran {
        let (job, etag) = state::load(&job.id)?;
        if job.state == State::Running {
            fail(job, &etag, e.message)?;
        }
    }
    Ok(Some(claimed))
}

/// Runs chunk `chunk` of `job`: outputs written, then its manifest part, then the chunk
/// counted done in the record (once: a chunk run twice, by a host whose claim ran out, is
/// counted once).
fn run_chunk(job: &Job, chunk_number: u64) -> ApiResult<()> {
    let plan = load_plan(&job.id)?;
    let chunk = plan
        .chunks
        .get(chunk_number as usize)
        .ok_or_else(|| ApiError::new(500, "internal", format!("job {} has no chunk {chunk_number}", job.id)))?;
    let spec = &job.spec;
    let video = &spec.videos[chunk.video];
    let source = open(&video.key)?;
    let clips: Vec<PlannedClip> = chunk
        .clips
        .iter()
        .map(|c| PlannedClip {
            number: c.number,
            frames: c.frames.iter().map(|&s| s.into()).collect(),
            flow_to: c.flow_to.iter().map(|&s| s.into()).collect(),
        })
        .collect();
    let prefix = format!("jobs/{}/clips", job.id);
    let output_spec = OutputSpec {
        prefix: prefix.clone(),
        rgb: spec.rgb(),
        flow: spec.flow(),
        format: if spec.format == "png" { ImageFormat::Png } else { ImageFormat::Jpeg },
        quality: spec.quality,
        render: RenderOptions { crop: None, width: spec.width, height: spec.height, pad: None },
        // Checked when the job was created.
        algorithm: frameflow_guest::flow_algorithm("flow.algorithm", &spec.flow.algorithm)?,
        bound: spec.flow.bound,
    };
    let mut run = plans::execute(&source, &clips, &output_spec).map_err(|e| {
        let e: ApiError = e.into();
        ApiError::new(e.status, e.code, format!("video '{}': {}", video.key, e.message))
    })?;
    run.outputs.sort_by(|a, b| (a.clip, a.k, kind_name(a.kind)).cmp(&(b.clip, b.k, kind_name(b.kind))));
    let mut lines = String::new();
    for out in &run.outputs {
        let file = out.key.strip_prefix(&format!("{prefix}/")).unwrap_or(&out.key);
        let stem = file.rsplit_once('.').map(|(s, _)| s).unwrap_or(file);
        let mut line = json!({
            "id": format!("{}:{stem}", job.id),
            "clip": out.clip,
            "k": out.k,
            "kind": kind_name(out.kind),
            "video": video.key,
            "index": out.index,
            "pts": out.pts,
            "seconds": out.seconds,
            "label": video.label,
            "path": out.key,
            "url": format!("/v1/jobs/{}/outputs/{file}", job.id),
            "bytes": out.bytes,
        });
        if let Some(to) = out.to_index {
            line["to_index"] = to.into();
            line["bound"] = spec.flow.bound.into();
        }
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    objects::put(&part_key(&job.id, chunk_number), lines.as_bytes(), &PutMode::Overwrite)?;

    // Count it done; other hosts update the record too, so retry on a lost if-match.
    for _ in 0..20 {
        let (mut current, etag) = match state::load(&job.id) {
            Ok(j) => j,
            Err(e) if e.status == 404 => {
                // Deleted while this chunk ran: take its outputs with it.
                let _ = state::delete_prefix(&format!("jobs/{}/", job.id));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if current.state != State::Running || !current.done_chunks.insert(chunk_number) {
            return Ok(());
        }
        current.cursor = current.done_chunks.len() as u64;
        current.progress.done += run.outputs.len() as u64;
        current.progress.clips_done += chunk.clips.len() as u64;
        current.stats.frames_needed += run.stats.frames_needed;
        current.stats.frames_decoded += run.stats.frames_decoded;
        current.stats.flows_computed += run.stats.flows_computed;
        if state::save(&mut current, &etag)?.is_some() {
            return Ok(());
        }
    }
    Err(ApiError::new(503, "busy", format!("job {}: the record kept changing while counting chunk {chunk_number}", job.id)))
}

/// Every manifest line written so far, in chunk order.
pub fn manifest_parts(id: &str) -> ApiResult<Vec<u8>> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = objects::list(&format!("jobs/{id}/manifest/"), after.as_deref(), 1000)?;
        for meta in &page.objects {
            all.extend_from_slice(&objects::get(&meta.key)?);
        }
        match page.next_start_after {
            Some(next) => after = Some(next),
            None => return Ok(all),
        }
    }
}

fn finish(mut job: Job, etag: &str) -> ApiResult<()> {
    let manifest = manifest_parts(&job.id)?;
    objects::put(&format!("jobs/{}/manifest.jsonl", job.id), &manifest, &PutMode::Overwrite)?;
    job.state = State::Succeeded;
    job.lease = None;
    state::save(&mut job, etag)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_files_name_frames_the_way_they_were_planned() {
        let plan = PlanFile {
            chunks: vec![Chunk {
                video: 0,
                clips: vec![PlanClip {
                    number: 3,
                    frames: vec![FrameSelector::Index(5), FrameSelector::Seconds(1.5)],
                    flow_to: vec![FrameSelector::Pts(1001), FrameSelector::Index(6)],
                }],
            }],
        };
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(
            json["chunks"][0]["clips"][0],
            serde_json::json!({"number": 3, "frames": [{"index": 5}, {"seconds": 1.5}], "flow_to": [{"pts": 1001}, {"index": 6}]})
        );
        let back: PlanFile = serde_json::from_value(json).unwrap();
        assert_eq!(back.chunks[0].clips[0].flow_to, plan.chunks[0].clips[0].flow_to);
    }
}
