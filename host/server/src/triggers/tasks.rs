//! [`TasksTrigger`]: every tenant's analysis tasks that are active but run by no live host
//! are resumed here from their checkpoints — at start (this host's own, at once) and then
//! every half lease (another host's, once its lease has run out). The tasks run on their own
//! threads, in `frameflow-tasks`; they are created through the HTTP trigger.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use frameflow_store::ObjectStorage;
use frameflow_tasks::TaskManager;

use crate::auth::Auth;

pub struct TasksTrigger {
    pub(crate) manager: Arc<TaskManager>,
    pub(crate) storage: Arc<ObjectStorage>,
    pub(crate) auth: Arc<Auth>,
    /// How often tasks without a live host are looked for.
    pub(crate) every: std::time::Duration,
}

impl super::Trigger for TasksTrigger {
    fn kind(&self) -> &'static str {
        "tasks"
    }

    fn run(self: Arc<Self>) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> {
        Box::pin(async move {
            loop {
                for tenant in self.auth.tenants().await {
                    let Ok(store) = self.storage.tenant(&tenant) else { continue };
                    match self.manager.recover(&store).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(tenant = %tenant, resumed = n, "analysis tasks resumed"),
                        Err(e) => tracing::warn!(tenant = %tenant, "analysis tasks cannot be resumed now: {e}"),
                    }
                }
                tokio::time::sleep(self.every.max(std::time::Duration::from_millis(500))).await;
            }
        })
    }
}
