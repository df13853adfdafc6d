//! [`JobsTrigger`]: background work for job components, and the one scheduler of it.
//!
//! Jobs live in the store, not in this process. Each pass of the scheduler gives every
//! tenant one step (a chunk of clips) of one of its jobs, round-robin across tenants and,
//! within a tenant, across its jobs (at most `max_running_jobs` of them, oldest first), so
//! a small job submitted behind a big one of another tenant, or of the same tenant, is not
//! starved. Runnable jobs are listed again every pass, so new jobs join at once. When no
//! tenant had work the trigger sleeps until a request may have created some ([`JobWake`])
//! or a poll interval passes (another host may have left a lease to expire). Steps run
//! one at a time per process: a chunk already keeps the cores busy. When the host drains,
//! no new step starts; the running one finishes (its writes are stored, its claim marked).
//!
//! With a work queue (`[[trigger.queue]]` with `work = true`), a step that plans a job sends
//! a work message per chunk, and the scheduler's steps only plan and finish: chunks run
//! where their messages are received ([`JobsTrigger::run_work`]).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use frameflow_runtime::JobWorker;
use frameflow_store::ObjectStorage;

use crate::drain::Drain;
use tokio::sync::Notify;
use tracing::Instrument;

/// How often idle tenants are looked at again without a wake-up.
const POLL: Duration = Duration::from_secs(2);
/// Pause after a failed step, so a broken job cannot spin.
const BACKOFF: Duration = Duration::from_millis(500);

/// Tells the job trigger that work may be waiting (a request created or stopped a job).
#[derive(Clone, Default)]
pub struct JobWake(Arc<Notify>);

impl JobWake {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

pub struct JobsTrigger {
    pub(crate) workers: Vec<Arc<JobWorker>>,
    pub(crate) storage: Arc<ObjectStorage>,
    /// Whose jobs run here: asked on every round, so tenants made since are served too.
    pub(crate) auth: Arc<crate::auth::Auth>,
    /// This host's id: the owner name of the leases it takes.
    pub(crate) owner: String,
    pub(crate) step_deadline: Duration,
    /// How long a job's lease lasts without renewal (each step renews it).
    pub(crate) lease: Duration,
    pub(crate) wake: JobWake,
    /// Limits of tenants whose record sets none.
    pub(crate) tenant_defaults: crate::auth::TenantLimits,
    /// The job stepped last, per tenant and job component: where its next turn starts.
    pub(crate) last_stepped: Mutex<HashMap<(String, String), String>>,
    pub(crate) drain: Drain,
    /// The queue carrying chunks as work messages, when there is one.
    pub(crate) work: crate::triggers::queue::WorkQueue,
}

impl JobsTrigger {
    /// Runs passes until one finds no work anywhere (or the host drains).
    async fn run_passes(&self) {
        while !self.drain.is_draining() && self.pass().await {}
    }

    /// Runs passes until one finds no work or `until` passes (a function invocation's time);
    /// how many passes worked.
    pub(crate) async fn run_until(&self, until: std::time::Instant) -> u64 {
        let mut worked = 0;
        while std::time::Instant::now() < until && !self.drain.is_draining() && self.pass().await {
            worked += 1;
        }
        worked
    }

    /// One pass: at most one step per tenant and job component. Whether any step worked.
    async fn pass(&self) -> bool {
        let mut worked = false;
        for tenant in self.auth.tenants().await {
            let Ok(store) = self.storage.tenant(&tenant) else { continue };
            let limits = self.auth.limits_of(&tenant).await;
            let max_running = limits.max_running_jobs.or(self.tenant_defaults.max_running_jobs).map_or(usize::MAX, |n| n as usize);
            for worker in &self.workers {
                let span = tracing::info_span!("job_step", tenant = %tenant, component = %worker.name(), job = tracing::field::Empty);
                let mut jobs = match worker.runnable(store.clone(), self.step_deadline).instrument(span.clone()).await {
                    Ok(jobs) => jobs,
                    Err(failure) => {
                        span.in_scope(|| tracing::warn!(code = failure.code(), "listing jobs failed: {failure}"));
                        continue;
                    }
                };
                metrics::gauge!("frameflow_jobs_runnable", "tenant" => tenant.clone()).set(jobs.len() as f64);
                jobs.truncate(max_running);
                // Round-robin within the tenant: start after the job stepped last time, and
                // go on to the next when one has nothing to do here (its chunks are all
                // held by other hosts).
                let turn = (tenant.clone(), worker.name().to_string());
                let last = self.last_stepped.lock().expect("scheduler lock").get(&turn).cloned();
                let first = last.and_then(|l| jobs.iter().position(|j| *j > l)).unwrap_or(0);
                for job in jobs[first..].iter().chain(&jobs[..first]) {
                    if self.drain.is_draining() {
                        return worked;
                    }
                    let _working = self.drain.working();
                    span.record("job", job.as_str());
                    let started = std::time::Instant::now();
                    let queued = self.work.is_set();
                    let stepped = worker.step(store.clone(), job, &self.owner, self.lease, self.step_deadline, !queued).instrument(span.clone()).await;
                    if let (true, Ok(report)) = (queued, &stepped) {
                        if report.planned_chunks > 0 {
                            // Sent after the plan is stored; if this fails, the job's stalled
                            // chunks are run by the scheduler after a lease.
                            if let Err(e) = self.work.send_chunks(&tenant, worker.name(), job, report.planned_chunks).await {
                                span.in_scope(|| tracing::warn!("the job's work messages were not sent: {e}"));
                            } else {
                                span.in_scope(|| tracing::info!(chunks = report.planned_chunks, "planned; a work message per chunk sent"));
                            }
                        }
                    }
                    span.in_scope(|| tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, worked = stepped.as_ref().is_ok_and(|r| r.worked), "stepped"));
                    let outcome = match &stepped {
                        Ok(r) if r.worked => "worked",
                        Ok(_) => "idle",
                        Err(_) => "failed",
                    };
                    metrics::counter!("frameflow_job_steps_total", "tenant" => tenant.clone(), "outcome" => outcome).increment(1);
                    if stepped.as_ref().is_ok_and(|r| r.took_over) {
                        metrics::counter!("frameflow_chunk_takeovers_total").increment(1);
                        span.in_scope(|| tracing::info!("took over a chunk whose holder's lease ran out"));
                    }
                    match stepped.map(|r| r.worked) {
                        Ok(true) => {
                            self.last_stepped.lock().expect("scheduler lock").insert(turn.clone(), job.clone());
                            worked = true;
                            break;
                        }
                        Ok(false) => continue,
                        Err(failure) => {
                            failure.record(&tenant);
                            span.in_scope(|| tracing::warn!(code = failure.code(), "job step failed: {failure}"));
                            tokio::time::sleep(BACKOFF).await;
                            continue;
                        }
                    }
                }
            }
        }
        worked
    }
}

impl JobsTrigger {
    /// Runs a work message's chunk: `Done` when it ran here or needs nothing (done, or its
    /// job gone), `Again` when another live host holds it or running it failed.
    pub(crate) async fn run_work(&self, work: &crate::triggers::queue::WorkMessage) -> crate::triggers::queue::Handled {
        use crate::triggers::queue::Handled;
        use frameflow_runtime::ChunkOutcome;
        let count = |outcome: &'static str| metrics::counter!("frameflow_work_messages_total", "outcome" => outcome).increment(1);
        let Some(worker) = self.workers.iter().find(|w| w.name() == work.component) else {
            count("unknown_component");
            return Handled::Again(format!("no job component '{}' on this host", work.component));
        };
        if !self.auth.tenants().await.iter().any(|t| *t == work.tenant) {
            count("unknown_tenant");
            return Handled::Again(format!("no tenant '{}'", work.tenant));
        }
        let store = match self.storage.tenant(&work.tenant) {
            Ok(store) => store,
            Err(e) => return Handled::Again(e.to_string()),
        };
        let span = tracing::info_span!("work", tenant = %work.tenant, component = %work.component, job = %work.job, chunk = work.chunk);
        let ran = worker.run_chunk(store, &work.job, work.chunk, &self.owner, self.lease, self.step_deadline).instrument(span.clone()).await;
        match ran {
            Ok(ChunkOutcome::Ran | ChunkOutcome::TookOver) => {
                count("ran");
                span.in_scope(|| tracing::info!("ran a chunk from a work message"));
                // The last chunk lets the job finish: the scheduler looks now.
                self.wake.wake();
                Handled::Done
            }
            Ok(ChunkOutcome::DoneAlready) => {
                count("done_already");
                Handled::Done
            }
            Ok(ChunkOutcome::Held) => {
                count("held");
                Handled::Again("another live host holds the chunk's claim".into())
            }
            Err(failure) => {
                count("failed");
                failure.record(&work.tenant);
                Handled::Again(failure.to_string())
            }
        }
    }
}

impl super::Trigger for JobsTrigger {
    fn kind(&self) -> &'static str {
        "jobs"
    }

    fn run(self: Arc<Self>) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> {
        Box::pin(async move {
            if self.workers.is_empty() {
                return Ok(());
            }
            while !self.drain.is_draining() {
                self.run_passes().await;
                tokio::select! {
                    _ = tokio::time::timeout(POLL, self.wake.0.notified()) => {}
                    _ = self.drain.started() => {}
                }
            }
            Ok(())
        })
    }
}
