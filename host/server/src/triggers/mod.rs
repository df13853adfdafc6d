//! [`Trigger`]: what starts work for components. One trait for every source of work —
//! HTTP requests (`http.rs`, [`HttpTrigger`]), background job steps (`jobs.rs`,
//! [`JobsTrigger`]), object-storage events (`objects.rs`, [`ObjectTrigger`]; from SQS
//! queues, `queue.rs`, [`QueueTrigger`]) and analysis
//! tasks resumed at start (`tasks.rs`, [`TasksTrigger`]) — so the server runs a list of
//! triggers. Each is built with the host's [`Drain`] and ends its loop when the drain
//! starts; [`run_all`] then waits for the work they hold, within the grace.

pub mod http;
pub mod jobs;
pub mod notification;
pub mod objects;
pub mod queue;
pub mod sns;
pub mod tasks;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::drain::Drain;

pub use http::HttpTrigger;
pub use jobs::{JobWake, JobsTrigger};
pub use objects::ObjectTrigger;
pub use queue::QueueTrigger;
pub use tasks::TasksTrigger;

/// A source of work that runs until the process stops.
pub trait Trigger: Send + Sync + 'static {
    /// What starts the work, for logs: `http`, `jobs`.
    fn kind(&self) -> &'static str;

    /// Runs the trigger. It returns when it can go on no longer (an error), when it has
    /// nothing to do at all (`Ok`: a job trigger without job components), or once the
    /// host's drain has started and the work it started has ended.
    fn run(self: Arc<Self>) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;
}

/// Runs every trigger until one fails or `drain` starts; triggers with nothing to do
/// simply end. Once draining, waits (at most until the drain's deadline) for the triggers
/// to end and for every unit of work in flight, then returns `Ok`.
pub async fn run_all(triggers: Vec<Arc<dyn Trigger>>, drain: &Drain) -> anyhow::Result<()> {
    let mut running = tokio::task::JoinSet::new();
    for trigger in triggers {
        let kind = trigger.kind();
        tracing::debug!(trigger = kind, "starting");
        running.spawn(async move { (kind, trigger.run().await.map_err(|e| e.context(format!("the {kind} trigger stopped")))) });
    }
    loop {
        tokio::select! {
            done = running.join_next() => match done {
                Some(done) => done?.1?,
                None => return Ok(()),
            },
            _ = drain.started() => break,
        }
    }
    let ended = tokio::time::timeout(drain.time_left(), async {
        while let Some(done) = running.join_next().await {
            match done {
                Ok((kind, Ok(()))) => tracing::debug!(trigger = kind, "drained"),
                Ok((kind, Err(e))) => tracing::warn!(trigger = kind, "ended with an error while draining: {e:#}"),
                Err(e) => tracing::warn!("a trigger panicked while draining: {e}"),
            }
        }
    })
    .await
    .is_ok();
    let idle = drain.idle().await;
    if ended && idle {
        tracing::info!("drained: every request, job step, event and task in flight has ended");
    } else {
        tracing::warn!(in_flight = drain.in_flight(), "the shutdown grace ran out with work in flight; its leases expire and another host resumes it");
    }
    running.abort_all();
    Ok(())
}
