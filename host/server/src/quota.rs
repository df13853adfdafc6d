//! [`StoredBytes`]: how many bytes each tenant keeps in the store, for the
//! `tenant_max_stored_bytes` limit. A listing of the tenant's keys is summed at most every
//! [`RECOUNT`] (on each host), and the bodies this host accepted since are added to it, so
//! a burst of uploads cannot slip past the limit between two counts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use frameflow_store::{StoreError, TenantStore};

/// How long a count of a tenant's bytes is trusted.
pub const RECOUNT: Duration = Duration::from_secs(30);

#[derive(Default)]
pub struct StoredBytes {
    counts: Mutex<HashMap<String, (Instant, u64)>>,
}

impl StoredBytes {
    /// The bytes `store`'s tenant keeps, counted at most [`RECOUNT`] ago.
    pub async fn usage(&self, store: &TenantStore) -> Result<u64, StoreError> {
        let tenant = store.tenant_name().to_string();
        if let Some((at, bytes)) = self.counts.lock().expect("quota lock").get(&tenant) {
            if at.elapsed() < RECOUNT {
                return Ok(*bytes);
            }
        }
        let mut total = 0u64;
        let mut after: Option<String> = None;
        loop {
            let page = store.list("", after.as_deref(), 1000).await?;
            total += page.objects.iter().map(|m| m.size).sum::<u64>();
            match page.next_start_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        self.counts.lock().expect("quota lock").insert(tenant, (Instant::now(), total));
        Ok(total)
    }

    /// Counts `bytes` a request of `tenant` was allowed to bring, until the next recount.
    pub fn add(&self, tenant: &str, bytes: u64) {
        if let Some((_, total)) = self.counts.lock().expect("quota lock").get_mut(tenant) {
            *total += bytes;
        }
    }
}
