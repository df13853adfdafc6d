//! Which host runs a task: `tasks/{id}/lease.json` (`{"owner", "expires_ms"}`), taken and
//! renewed with conditional writes (create-only, if-match), so on a shared store exactly one
//! host runs each task; when its host dies, another takes the task over once the lease has
//! run out, from the task's last checkpoint. A host takes its own lease back at once (a
//! restarted host has the same id), and a host that drains for a shutdown releases its
//! leases ([`release`]) so another host takes the tasks over at its next look, without
//! waiting for them to run out.

use std::time::Duration;

use bytes::Bytes;
use frameflow_store::{StoreError, TenantStore, WriteMode};
use serde::{Deserialize, Serialize};

use crate::manager::now_ms;

#[derive(Serialize, Deserialize)]
struct Record {
    owner: String,
    expires_ms: u64,
}

pub fn lease_key(task: &str) -> String {
    format!("tasks/{task}/lease.json")
}

/// The outcome of [`take`].
#[derive(Debug, PartialEq)]
pub enum Taken {
    /// Ours, with the etag the next renewal must match.
    Yes(String),
    /// Another host's, for this many more milliseconds.
    HeldBy(String, u64),
}

fn body(owner: &str, ttl: Duration) -> Bytes {
    Bytes::from(serde_json::to_vec(&Record { owner: owner.to_string(), expires_ms: now_ms() + ttl.as_millis() as u64 }).expect("leases serialize"))
}

fn etag_of(meta: frameflow_store::ObjectMeta) -> String {
    meta.etag.unwrap_or_else(|| format!("{}-{}", meta.size, meta.last_modified_ms))
}

/// Takes the task's lease for `owner` when nobody holds it, it ran out, or it is already
/// `owner`'s.
pub async fn take(tenant: &TenantStore, task: &str, owner: &str, ttl: Duration) -> Result<Taken, StoreError> {
    let key = lease_key(task);
    let current = match tenant.head(&key).await {
        Ok(meta) => Some(meta),
        Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let mode = match current {
        None => WriteMode::Create,
        Some(meta) => {
            let record: Option<Record> = match tenant.get(&key).await {
                Ok(bytes) => serde_json::from_slice(&bytes).ok(),
                Err(StoreError::NotFound(_)) => None,
                Err(e) => return Err(e),
            };
            match record {
                Some(r) if r.owner != owner && r.expires_ms > now_ms() => return Ok(Taken::HeldBy(r.owner, r.expires_ms - now_ms())),
                _ => WriteMode::IfMatch(etag_of(meta)),
            }
        }
    };
    match tenant.put(&key, body(owner, ttl), mode).await {
        Ok(meta) => Ok(Taken::Yes(etag_of(meta))),
        // Another host was quicker.
        Err(StoreError::PreconditionFailed(_)) => Ok(Taken::HeldBy("another host".into(), ttl.as_millis() as u64)),
        Err(e) => Err(e),
    }
}

/// Renews a lease held with `etag`; `Ok(None)` when it is no longer ours.
pub async fn renew(tenant: &TenantStore, task: &str, owner: &str, ttl: Duration, etag: &str) -> Result<Option<String>, StoreError> {
    match tenant.put(&lease_key(task), body(owner, ttl), WriteMode::IfMatch(etag.to_string())).await {
        Ok(meta) => Ok(Some(etag_of(meta))),
        Err(StoreError::PreconditionFailed(_)) | Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Gives up a lease held with `etag` (it is kept, run out, so the next [`take`] by any host
/// succeeds at once); `Ok(false)` when it was no longer ours.
pub async fn release(tenant: &TenantStore, task: &str, owner: &str, etag: &str) -> Result<bool, StoreError> {
    let expired = Bytes::from(serde_json::to_vec(&Record { owner: owner.to_string(), expires_ms: 0 }).expect("leases serialize"));
    match tenant.put(&lease_key(task), expired, WriteMode::IfMatch(etag.to_string())).await {
        Ok(_) => Ok(true),
        Err(StoreError::PreconditionFailed(_)) | Err(StoreError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}
