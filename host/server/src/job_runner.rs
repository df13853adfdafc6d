//! [`JobRunner`]: background work for job components.
//!
//! Jobs live in the store, not in this process. The runner asks each job component's
//! `job-worker.step` to advance each tenant's jobs one chunk at a time until it says no work
//! is left, then sleeps until a request may have created work ([`JobRunner::wake`]) or a
//! poll interval passes (another host may have left a lease to expire). Steps run one at a
//! time per process: a chunk already keeps the cores busy.

use std::sync::Arc;
use std::time::Duration;

use frameflow_runtime::HttpComponent;
use frameflow_store::ObjectStorage;
use tokio::sync::Notify;

/// How often idle tenants are looked at again without a wake-up.
const POLL: Duration = Duration::from_secs(2);
/// Pause after a failed step, so a broken job cannot spin.
const BACKOFF: Duration = Duration::from_millis(500);

pub struct JobRunner {
    workers: Vec<Arc<HttpComponent>>,
    storage: Arc<ObjectStorage>,
    tenants: Vec<String>,
    owner: String,
    step_deadline: Duration,
    wake: Arc<Notify>,
}

impl JobRunner {
    pub fn new(
        workers: Vec<Arc<HttpComponent>>,
        storage: Arc<ObjectStorage>,
        tenants: Vec<String>,
        owner: String,
        step_deadline: Duration,
    ) -> JobRunner {
        JobRunner { workers, storage, tenants, owner, step_deadline, wake: Arc::new(Notify::new()) }
    }

    /// Tells the runner that work may be waiting.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Starts the loop on the current tokio runtime (nothing to do without job components).
    pub fn start(&self) {
        if self.workers.is_empty() {
            return;
        }
        let (workers, storage, tenants, owner) = (self.workers.clone(), self.storage.clone(), self.tenants.clone(), self.owner.clone());
        let (deadline, wake) = (self.step_deadline, self.wake.clone());
        tokio::spawn(async move {
            loop {
                for worker in &workers {
                    for tenant in &tenants {
                        let Ok(store) = storage.tenant(tenant) else { continue };
                        loop {
                            match worker.job_step(store.clone(), &owner, deadline).await {
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
                let _ = tokio::time::timeout(POLL, wake.notified()).await;
            }
        });
    }
}
