//! The job record and where it lives: `jobs/{id}/job.json`, plus two marker prefixes:
//! `job-index/{id}` (every job, for listing) and `job-active/{id}` (jobs the worker should
//! look at). Updates are compare-and-swap on the record's ETag ([`update`]), which is also
//! how leases work: a host owns a job while its lease is current.

use frameflow_guest::bindings::frameflow::store::objects::{self, PutMode, StoreError};
use frameflow_guest::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};

use crate::spec::JobSpec;

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pending,
    Running,
    Succeeded,
    Failed,
    Stopped,
}

impl State {
    pub fn finished(self) -> bool {
        matches!(self, State::Succeeded | State::Failed | State::Stopped)
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Progress {
    /// Outputs written and listed in the manifest.
    pub done: u64,
    /// Outputs the plan has (known once planned).
    pub total: u64,
    pub clips_done: u64,
    pub clips_total: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Stats {
    pub frames_needed: u64,
    pub frames_decoded: u64,
    pub flows_computed: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Lease {
    pub owner: String,
    pub until_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Job {
    pub id: String,
    pub state: State,
    pub spec: JobSpec,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub progress: Progress,
    /// Chunks of clips in the plan, and how many are done.
    pub chunks: u64,
    pub cursor: u64,
    /// The chunks done (each counted once in `progress`, however often it ran).
    #[serde(default)]
    pub done_chunks: std::collections::BTreeSet<u64>,
    pub stats: Stats,
    pub error: Option<String>,
    pub lease: Option<Lease>,
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Job ids: `j`, the creation time in hex milliseconds (so ids sort by age), 4 random hex.
pub fn new_id() -> String {
    format!("j{:011x}{:04x}", now_ms(), frameflow_guest::random_u64() & 0xffff)
}

pub fn valid_id(id: &str) -> bool {
    id.len() == 16 && id.starts_with('j') && id[1..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub fn record_key(id: &str) -> String {
    format!("jobs/{id}/job.json")
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("no job with id '{id}'"))
}

/// The job and the ETag to update it with.
pub fn load(id: &str) -> ApiResult<(Job, String)> {
    if !valid_id(id) {
        return Err(not_found(id));
    }
    let missing = |e: StoreError| match e {
        StoreError::NotFound(_) => not_found(id),
        other => other.into(),
    };
    // head then get: if the record changes in between, the ETag is older than the body
    // and the next update fails its if-match, which is safe (the caller retries).
    let meta = objects::head(&record_key(id)).map_err(missing)?;
    let bytes = objects::get(&record_key(id)).map_err(missing)?;
    let job: Job = serde_json::from_slice(&bytes).map_err(|e| ApiError::new(500, "internal", format!("job record {id} is corrupt: {e}")))?;
    Ok((job, meta.etag.unwrap_or_default()))
}

/// Stores a new job and its markers.
pub fn create(job: &Job) -> ApiResult<()> {
    let bytes = serde_json::to_vec(job).expect("jobs serialize");
    objects::put(&record_key(&job.id), &bytes, &PutMode::Create)?;
    write_markers(job)
}

/// The job's entry in the history (`job-index/`) and, while it is not finished, in the
/// worker's list (`job-active/`). Idempotent.
pub fn write_markers(job: &Job) -> ApiResult<()> {
    objects::put(&format!("job-index/{}", job.id), b"", &PutMode::Overwrite)?;
    if !job.state.finished() {
        objects::put(&format!("job-active/{}", job.id), b"", &PutMode::Overwrite)?;
    }
    Ok(())
}

/// Writes `job` if the record still has `etag`; returns the new ETag, or `None` when
/// someone else changed it first.
pub fn save(job: &mut Job, etag: &str) -> ApiResult<Option<String>> {
    job.updated_ms = now_ms();
    let bytes = serde_json::to_vec(job).expect("jobs serialize");
    match objects::put(&record_key(&job.id), &bytes, &PutMode::IfMatch(etag.to_string())) {
        Ok(meta) => {
            if job.state.finished() {
                let _ = objects::delete(&format!("job-active/{}", job.id));
            }
            Ok(Some(meta.etag.unwrap_or_default()))
        }
        Err(StoreError::PreconditionFailed(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Applies `change` to the current record until the write goes through (a few tries).
pub fn update(id: &str, mut change: impl FnMut(&mut Job) -> ApiResult<()>) -> ApiResult<Job> {
    for _ in 0..8 {
        let (mut job, etag) = load(id)?;
        change(&mut job)?;
        if save(&mut job, &etag)?.is_some() {
            return Ok(job);
        }
    }
    Err(ApiError::new(409, "conflict", format!("job {id} kept changing; try again")))
}

/// Deletes every object under `prefix`; returns how many.
pub fn delete_prefix(prefix: &str) -> ApiResult<u64> {
    let mut deleted = 0;
    loop {
        let page = objects::list(prefix, None, 1000)?;
        if page.objects.is_empty() {
            return Ok(deleted);
        }
        for meta in page.objects {
            match objects::delete(&meta.key) {
                Ok(()) | Err(StoreError::NotFound(_)) => deleted += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// The public view of a job.
pub fn describe(job: &Job) -> serde_json::Value {
    let mut v = serde_json::to_value(job).expect("jobs serialize");
    let o = v.as_object_mut().expect("jobs are objects");
    o.remove("lease");
    o.insert("results_url".into(), format!("/v1/jobs/{}/results", job.id).into());
    if job.state == State::Succeeded {
        o.insert("manifest_url".into(), format!("/v1/jobs/{}/outputs/manifest.jsonl", job.id).into());
    }
    v
}
