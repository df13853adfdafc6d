//! [`JobWorker`]: one background step of a job-lifecycle component's
//! `frameflow:jobs/worker` export, in its own sandboxed store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use frameflow_store::TenantStore;

use crate::bindings::job_worker::exports::frameflow::jobs::worker::StepError;
use crate::bindings::job_worker::JobWorkerPre;
use crate::guest_error::GuestError;
use crate::sandbox::{Sandbox, Sandboxes};
use crate::task::AbortOnDrop;

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

    /// One step for `tenant`, as host `owner` holding job leases for `lease`: whether
    /// runnable work remains. `deadline` bounds the whole step; a host call still running
    /// then (decoding a chunk) is stopped by dropping its store, which cancels the host
    /// work it started.
    pub async fn step(&self, tenant: TenantStore, owner: &str, lease: Duration, deadline: Duration) -> Result<bool, GuestError> {
        let component = || self.name.clone();
        let permit = self.sandboxes.admit(deadline).await.map_err(|r| GuestError::Busy { component: component(), reason: r.to_string() })?;
        let deadline_at = Instant::now() + deadline;
        let mut store = self.sandboxes.store(tenant, deadline_at);
        let (pre, owner, lease_ms) = (self.pre.clone(), owner.to_string(), lease.as_millis() as u64);
        let task = AbortOnDrop::new(tokio::spawn(async move {
            let _permit = permit;
            let ran = async {
                let instance = pre.instantiate_async(&mut store).await?;
                instance.frameflow_jobs_worker().call_step(&mut store, &owner, lease_ms).await
            }
            .await;
            (ran, store.data().memory_refused())
        }));
        let grace = Duration::from_millis(500);
        let ran = tokio::time::timeout_at((deadline_at + grace).into(), task)
            .await
            .map_err(|_| GuestError::Timeout { component: component(), deadline })?;
        let memory = self.sandboxes.limits.memory_bytes;
        match ran {
            Ok((Ok(Ok(more)), _)) => Ok(more),
            Ok((Ok(Err(StepError::Store(e))), _)) => Err(GuestError::Failed { component: component(), reason: format!("the store failed: {e}") }),
            Ok((Ok(Err(StepError::Failed(message))), _)) => Err(GuestError::Failed { component: component(), reason: message }),
            Ok((Err(e), memory_refused)) => Err(GuestError::classify(&self.name, e, memory_refused, memory, deadline)),
            Err(join) => Err(GuestError::Failed { component: component(), reason: format!("crashed: {join}") }),
        }
    }
}
