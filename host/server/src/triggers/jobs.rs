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
                    let stepped = worker.step(store.clone(), job, &self.owner, self.lease, self.step_deadline).instrument(span.clone()).await;
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
