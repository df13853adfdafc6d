//! [`Trigger`]: what starts work for components. One trait for every source of work —
//! HTTP requests (`http.rs`, [`HttpTrigger`]), background job steps (`jobs.rs`,
//! [`JobsTrigger`]), object-storage events (`objects.rs`, [`ObjectTrigger`]) and analysis
//! tasks resumed at start (`tasks.rs`, [`TasksTrigger`]) — so the server runs a list of
//! triggers.

pub mod http;
pub mod jobs;
pub mod objects;
pub mod tasks;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use http::HttpTrigger;
pub use jobs::{JobWake, JobsTrigger};
pub use objects::ObjectTrigger;
pub use tasks::TasksTrigger;

/// A source of work that runs until the process stops.
pub trait Trigger: Send + Sync + 'static {
    /// What starts the work, for logs: `http`, `jobs`.
    fn kind(&self) -> &'static str;

    /// Runs the trigger. It returns only when it can go on no longer (an error), or when
    /// it has nothing to do at all (`Ok`: a job trigger without job components).
    fn run(self: Arc<Self>) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;
}

/// Runs every trigger until one fails; triggers with nothing to do simply end.
pub async fn run_all(triggers: Vec<Arc<dyn Trigger>>) -> anyhow::Result<()> {
    let mut running = tokio::task::JoinSet::new();
    for trigger in triggers {
        let kind = trigger.kind();
        tracing::debug!(trigger = kind, "starting");
        running.spawn(async move { trigger.run().await.map_err(|e| e.context(format!("the {kind} trigger stopped"))) });
    }
    while let Some(done) = running.join_next().await {
        done??;
    }
    Ok(())
}
