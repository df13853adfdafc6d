//! [`EventHandler`]: one object event through a component's `frameflow:events/handler`
//! export, in its own sandboxed store (the same limits as a request).

use std::sync::Arc;

use frameflow_store::TenantStore;

use crate::bindings::events::frameflow::events::types::EventError;
use crate::bindings::events::frameflow::events::types::ObjectEvent as WitEvent;
use crate::bindings::events::HandlerExportPre;
use crate::guest_error::GuestError;
use crate::sandbox::{Sandbox, Sandboxes};

/// An object event, scoped to the tenant that owns the object (see `frameflow:events`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ObjectEvent {
    /// Stable across deliveries of the same event.
    pub id: String,
    pub name: String,
    pub bucket: String,
    /// The key in the tenant's space.
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
    pub time: String,
    pub sequencer: Option<String>,
}

/// Why an event was not handled.
#[derive(Debug, thiserror::Error)]
pub enum EventFailure {
    /// Worth trying again later.
    #[error("{0}")]
    Retry(String),
    /// Will not work however often it is tried.
    #[error("{0}")]
    Rejected(String),
}

/// A component's event handler, ready to instantiate for each event.
pub struct EventHandler {
    name: String,
    pre: HandlerExportPre<Sandbox>,
    sandboxes: Arc<Sandboxes>,
}

impl EventHandler {
    pub(crate) fn new(name: &str, pre: HandlerExportPre<Sandbox>, sandboxes: Arc<Sandboxes>) -> EventHandler {
        EventHandler { name: name.to_string(), pre, sandboxes }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Handles `event` for `tenant` with the trigger's settings (`trigger_json`): what the
    /// handler says it did, or why not. A guest that ran out of time or found the host busy
    /// is worth a retry; one that trapped or ran out of memory is not.
    pub async fn handle(&self, tenant: TenantStore, event: &ObjectEvent, trigger_json: &str) -> Result<String, EventFailure> {
        let limits = &self.sandboxes.limits;
        let wit = WitEvent {
            id: event.id.clone(),
            name: event.name.clone(),
            bucket: event.bucket.clone(),
            key: event.key.clone(),
            size: event.size,
            etag: event.etag.clone(),
            time: event.time.clone(),
            sequencer: event.sequencer.clone(),
        };
        let (pre, settings) = (self.pre.clone(), trigger_json.to_string());
        let wait = self.sandboxes.queue_wait.min(limits.deadline);
        let handled = self.sandboxes.run(&self.name, tenant, wait, limits.deadline, move |store| {
            Box::pin(async move {
                let instance = pre.instantiate_async(&mut *store).await?;
                instance.frameflow_events_handler().call_handle(&mut *store, &wit, &settings).await
            })
        });
        match handled.await {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(EventError::Retry(m))) => Err(EventFailure::Retry(m)),
            Ok(Err(EventError::Rejected(m))) => Err(EventFailure::Rejected(m)),
            Err(failure @ (GuestError::Timeout { .. } | GuestError::Busy { .. })) => Err(EventFailure::Retry(failure.to_string())),
            Err(failure) => Err(EventFailure::Rejected(failure.to_string())),
        }
    }
}
