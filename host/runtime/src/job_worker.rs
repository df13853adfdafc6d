//! [`JobWorker`]: one background step of a job-lifecycle component's
//! `frameflow:jobs/worker` export, in its own sandboxed store.

use std::sync::Arc;
use std::time::Duration;

use frameflow_store::TenantStore;

pub use crate::bindings::job_worker::exports::frameflow::jobs::worker::{ChunkOutcome, StepReport};
use crate::bindings::job_worker::exports::frameflow::jobs::worker::StepError;
use crate::bindings::job_worker::JobWorkerPre;
use crate::guest_error::GuestError;
use crate::sandbox::{Sandbox, Sandboxes};

/// A component's job worker, ready to instantiate for each step.
pub struct JobWorker {
    name: String,
    pre: JobWorkerPre<Sandbox>,
    sandboxes: Arc<Sandboxes>,
}

impl JobWorker {
    pub(crate) fn new(name: &str, pre: JobWorkerPre<Sandbox>, sandboxes: Arc<Sandboxes>) -> JobWorker {
        JobWorker { name: name.to_string(), pre, sandboxes }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ids of `tenant`'s unfinished jobs, oldest first.
    pub async fn runnable(&self, tenant: TenantStore, deadline: Duration) -> Result<Vec<String>, GuestError> {
        let pre = self.pre.clone();
        let listed = self
            .sandboxes
            .run(&self.name, tenant, deadline, deadline, move |store| {
                Box::pin(async move {
                    let instance = pre.instantiate_async(&mut *store).await?;
                    instance.frameflow_jobs_worker().call_runnable(&mut *store).await
                })
            })
            .await?;
        listed.map_err(|e| self.failure(e))
    }

    /// One step of job `job` of `tenant`, as host `owner` holding the job's lease for
    /// `lease`: whether it did work, and whether it took a chunk over from another host. `deadline` bounds the whole step; a host call still
    /// running then (decoding a chunk) is stopped by dropping its store, which cancels the
    /// host work it started.
    /// `run_chunks` false: a work queue carries the job's chunks ([`Self::run_chunk`]), so
    /// the step plans and finishes only (and runs a chunk of a job stalled for a lease).
    pub async fn step(&self, tenant: TenantStore, job: &str, owner: &str, lease: Duration, deadline: Duration, run_chunks: bool) -> Result<StepReport, GuestError> {
        let (pre, job, owner, lease_ms) = (self.pre.clone(), job.to_string(), owner.to_string(), lease.as_millis() as u64);
        let stepped = self
            .sandboxes
            .run(&self.name, tenant, deadline, deadline, move |store| {
                Box::pin(async move {
                    let instance = pre.instantiate_async(&mut *store).await?;
                    instance.frameflow_jobs_worker().call_step(&mut *store, &job, &owner, lease_ms, run_chunks).await
                })
            })
            .await?;
        stepped.map_err(|e| self.failure(e))
    }

    /// Chunk `chunk` of job `job` of `tenant`, for a work message: run here, done already, or
    /// held by another live host (the message should come back later).
    pub async fn run_chunk(&self, tenant: TenantStore, job: &str, chunk: u64, owner: &str, lease: Duration, deadline: Duration) -> Result<ChunkOutcome, GuestError> {
        let (pre, job, owner, lease_ms) = (self.pre.clone(), job.to_string(), owner.to_string(), lease.as_millis() as u64);
        let ran = self
            .sandboxes
            .run(&self.name, tenant, deadline, deadline, move |store| {
                Box::pin(async move {
                    let instance = pre.instantiate_async(&mut *store).await?;
                    instance.frameflow_jobs_worker().call_run_chunk(&mut *store, &job, chunk, &owner, lease_ms).await
                })
            })
            .await?;
        ran.map_err(|e| self.failure(e))
    }

    fn failure(&self, error: StepError) -> GuestError {
        let reason = match error {
            StepError::Store(e) => format!("the store failed: {e}"),
            StepError::Failed(message) => message,
        };
        GuestError::Failed { component: self.name.clone(), reason }
    }
}
