//! [`TasksTrigger`]: every tenant's analysis tasks that are active but run by no live host
//! are resumed here from their checkpoints — at start (this host's own, at once) and then
//! every half lease (another host's, once its lease has run out). The tasks run on their own
//! threads, in `frameflow-tasks`; they are created through the HTTP trigger. When the host
//! drains, every task here saves its checkpoint and releases its lease before the trigger
//! ends.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use frameflow_store::ObjectStorage;
use frameflow_tasks::TaskManager;

use crate::auth::Auth;
use crate::drain::Drain;

pub struct TasksTrigger {
    pub(crate) manager: Arc<TaskManager>,
    pub(crate) storage: Arc<ObjectStorage>,
    pub(crate) auth: Arc<Auth>,
    /// How often tasks without a live host are looked for.
    pub(crate) every: std::time::Duration,
    pub(crate) drain: Drain,
}

impl super::Trigger for TasksTrigger {
    fn kind(&self) -> &'static str {
        "tasks"
    }

    fn run(self: Arc<Self>) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> {
        Box::pin(async move {
            while !self.drain.is_draining() {
                for tenant in self.auth.tenants().await {
                    let Ok(store) = self.storage.tenant(&tenant) else { continue };
                    match self.manager.recover(&store).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(tenant = %tenant, resumed = n, "analysis tasks resumed"),
                        Err(e) => tracing::warn!(tenant = %tenant, "analysis tasks cannot be resumed now: {e}"),
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(self.every.max(std::time::Duration::from_millis(500))) => {}
                    _ = self.drain.started() => {}
                }
            }
            let _working = self.drain.working();
            let left = self.manager.drain(self.drain.time_left()).await;
            if left > 0 {
                tracing::warn!(tasks = left, "analysis tasks still running at the end of the grace; their leases run out instead");
            }
            Ok(())
        })
    }
}
