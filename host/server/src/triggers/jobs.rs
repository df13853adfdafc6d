//! [`JobsTrigger`]: background work for job components.
//!
//! Jobs live in the store, not in this process. The trigger asks each job component's
//! `frameflow:jobs/worker.step` to advance each tenant's jobs one chunk at a time until it says no work
//! is left, then sleeps until a request may have created work ([`JobWake`]) or a poll
//! interval passes (another host may have left a lease to expire). Steps run one at a time
//! per process: a chunk already keeps the cores busy.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use frameflow_runtime::JobWorker;
use frameflow_store::ObjectStorage;
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
    pub(crate) tenants: Vec<String>,
    /// This host's id: the owner name of the leases it takes.
    pub(crate) owner: String,
    pub(crate) step_deadline: Duration,
    /// How long a job's lease lasts without renewal (each step renews it).
    pub(crate) lease: Duration,
    pub(crate) wake: JobWake,
}

impl JobsTrigger {
    /// Steps every worker for every tenant until none has runnable work left.
    async fn drain(&self) {
        for worker in &self.workers {
            for tenant in &self.tenants {
                let Ok(store) = self.storage.tenant(tenant) else { continue };
                let span = tracing::info_span!("job_step", tenant = %tenant, component = %worker.name());
                loop {
                    let started = std::time::Instant::now();
                    let stepped = worker.step(store.clone(), &self.owner, self.lease, self.step_deadline).instrument(span.clone()).await;
                    span.in_scope(|| tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, more = matches!(stepped, Ok(true)), "stepped"));
                    match stepped {
                        Ok(true) => continue,
                        Ok(false) => break,
                        Err(failure) => {
                            tracing::warn!(tenant = %tenant, component = %worker.name(), code = failure.code(), "job step failed: {failure}");
                            tokio::time::sleep(BACKOFF).await;
                            break;
                        }
                    }
                }
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
            loop {
                self.drain().await;
                let _ = tokio::time::timeout(POLL, self.wake.0.notified()).await;
            }
        })
    }
}
