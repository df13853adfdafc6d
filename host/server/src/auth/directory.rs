//! [`TenantDirectory`]: tenants and their API keys, kept in the store's `system/` namespace
//! so every host on the bucket shares them.
//!
//! ```text
//! system/tenants/{tenant}.json            {name, created_ms, limits}
//! system/keys/{sha256(key)}.json          {id, tenant, scope, label, created_ms}
//! system/tenant-keys/{tenant}/{id}.json   the same record plus its hash (for listing)
//! ```
//! A key is shown once, when it is made; only its SHA-256 is stored. Lookups are cached for
//! [`CACHE_TTL`], so a revoked key stops working on every host within that time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use frameflow_store::{StoreError, TenantStore, WriteMode};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::Scope;

/// How long a key lookup or the tenant list is trusted before the store is asked again.
pub const CACHE_TTL: Duration = Duration::from_secs(2);
/// Cached key lookups kept at most (a flood of wrong keys must not grow memory).
const MAX_CACHED_KEYS: usize = 10_000;
/// Keys a tenant may hold.
const MAX_KEYS_PER_TENANT: usize = 1000;

/// Per-tenant limits; unset fields fall back to the runtime config's defaults.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TenantLimits {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_running_jobs: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_stored_bytes: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TenantRecord {
    pub name: String,
    pub created_ms: u64,
    #[serde(default)]
    pub limits: TenantLimits,
}

/// A stored key, as listed (never the key itself).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyRecord {
    pub id: String,
    pub tenant: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub created_ms: u64,
}

/// Why a directory call failed: the caller's mistake or the store's.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the store does not answer: {0}")]
    Store(#[from] StoreError),
}

/// The SHA-256 of a key, hex: what is stored and looked up.
pub fn key_hash(key: &str) -> String {
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn is_not_found(e: &StoreError) -> bool {
    matches!(e, StoreError::NotFound(_))
}

/// Tenants and keys in the store, with short-lived caches in front.
pub struct TenantDirectory {
    store: TenantStore,
    keys: Mutex<HashMap<String, (Instant, Option<KeyRecord>)>>,
    tenants: Mutex<Option<(Instant, Vec<TenantRecord>)>>,
    /// Bumped by every change to the tenants here, so a listing that began before a change
    /// is not cached after it.
    generation: std::sync::atomic::AtomicU64,
}

impl TenantDirectory {
    pub fn new(system: TenantStore) -> TenantDirectory {
        TenantDirectory { store: system, keys: Default::default(), tenants: Default::default(), generation: Default::default() }
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Result<Option<T>, StoreError> {
        match self.store.get(key).await {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every record under `prefix`, all pages (unreadable ones skipped).
    async fn records<T: for<'de> Deserialize<'de>>(&self, prefix: &str) -> Result<Vec<T>, StoreError> {
        let mut records = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.store.list(prefix, after.as_deref(), 1000).await?;
            for meta in &page.objects {
                records.extend(self.get_json::<T>(&meta.key).await?);
            }
            match page.next_start_after {
                Some(next) => after = Some(next),
                None => return Ok(records),
            }
        }
    }

    async fn put_json(&self, key: &str, value: &impl Serialize, mode: WriteMode) -> Result<(), StoreError> {
        let body = serde_json::to_vec(value).expect("records serialize");
        self.store.put(key, Bytes::from(body), mode).await.map(|_| ())
    }

    /// Creates a tenant; 409 when it exists.
    pub async fn create_tenant(&self, name: &str, limits: TenantLimits) -> Result<TenantRecord, DirectoryError> {
        frameflow_store::validate_tenant(name).map_err(|_| DirectoryError::Invalid(format!("'{name}' is not a tenant name: 1-64 of [A-Za-z0-9_-]")))?;
        let record = TenantRecord { name: name.to_string(), created_ms: now_ms(), limits };
        match self.put_json(&format!("tenants/{name}.json"), &record, WriteMode::Create).await {
            Ok(()) => {}
            Err(StoreError::PreconditionFailed(_)) => return Err(DirectoryError::Conflict(format!("tenant '{name}' exists"))),
            Err(e) => return Err(e.into()),
        }
        self.forget_tenants();
        Ok(record)
    }

    /// Drops the cached tenant list after a change made here.
    fn forget_tenants(&self) {
        let mut cache = self.tenants.lock().expect("tenant cache lock");
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        *cache = None;
    }

    pub async fn tenant(&self, name: &str) -> Result<Option<TenantRecord>, DirectoryError> {
        if frameflow_store::validate_tenant(name).is_err() {
            return Ok(None);
        }
        Ok(self.get_json(&format!("tenants/{name}.json")).await?)
    }

    /// Every tenant in the store, by name; cached for [`CACHE_TTL`].
    pub async fn tenants(&self) -> Result<Vec<TenantRecord>, DirectoryError> {
        if let Some((at, list)) = self.tenants.lock().expect("tenant cache lock").as_ref() {
            if at.elapsed() < CACHE_TTL {
                return Ok(list.clone());
            }
        }
        let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
        let mut list: Vec<TenantRecord> = self.records("tenants/").await?;
        list.sort_by(|a, b| a.name.cmp(&b.name));
        let mut cache = self.tenants.lock().expect("tenant cache lock");
        if self.generation.load(std::sync::atomic::Ordering::SeqCst) == generation {
            *cache = Some((Instant::now(), list.clone()));
        }
        Ok(list)
    }

    /// Deletes a tenant and revokes all its keys. Its objects stay in the store.
    pub async fn delete_tenant(&self, name: &str) -> Result<(), DirectoryError> {
        if self.tenant(name).await?.is_none() {
            return Err(DirectoryError::NotFound(format!("no tenant '{name}'")));
        }
        for key in self.keys_of(name).await? {
            self.revoke_key(name, &key.id).await?;
        }
        self.store.delete(&format!("tenants/{name}.json")).await?;
        self.forget_tenants();
        Ok(())
    }

    /// Makes a key for `tenant` with `scope`; returns the key (shown once) and its record.
    pub async fn create_key(&self, tenant: &str, scope: &Scope, label: Option<String>) -> Result<(String, KeyRecord), DirectoryError> {
        if self.tenant(tenant).await?.is_none() {
            return Err(DirectoryError::NotFound(format!("no tenant '{tenant}'")));
        }
        if matches!(scope, Scope::System) {
            return Err(DirectoryError::Invalid("system keys come from the runtime config, not the store".into()));
        }
        if label.as_ref().is_some_and(|l| l.len() > 200) {
            return Err(DirectoryError::Invalid("a key's label is at most 200 bytes".into()));
        }
        if self.keys_of(tenant).await?.len() >= MAX_KEYS_PER_TENANT {
            return Err(DirectoryError::Conflict(format!("tenant '{tenant}' holds {MAX_KEYS_PER_TENANT} keys; revoke some first")));
        }
        let mut secret = [0u8; 24];
        getrandom::fill(&mut secret).map_err(|e| DirectoryError::Invalid(format!("no randomness for a key: {e}")))?;
        let key = format!("ffk_{}", hex::encode(secret));
        let hash = key_hash(&key);
        let record = KeyRecord { id: hash[..16].to_string(), tenant: tenant.to_string(), scope: scope.to_string(), label, created_ms: now_ms() };
        // The listing entry first: a key that works is always one that can be revoked.
        let mut listed = serde_json::to_value(&record).expect("records serialize");
        listed["hash"] = hash.clone().into();
        self.put_json(&format!("tenant-keys/{tenant}/{}.json", record.id), &listed, WriteMode::Create).await?;
        self.put_json(&format!("keys/{hash}.json"), &record, WriteMode::Create).await?;
        Ok((key, record))
    }

    /// A tenant's keys, oldest first.
    pub async fn keys_of(&self, tenant: &str) -> Result<Vec<KeyRecord>, DirectoryError> {
        frameflow_store::validate_tenant(tenant).map_err(|_| DirectoryError::NotFound(format!("no tenant '{tenant}'")))?;
        let mut keys: Vec<KeyRecord> = self.records(&format!("tenant-keys/{tenant}/")).await?;
        keys.sort_by_key(|k| k.created_ms);
        Ok(keys)
    }

    /// Revokes one key by id: gone from the lookup at once here, on other hosts within
    /// [`CACHE_TTL`].
    pub async fn revoke_key(&self, tenant: &str, id: &str) -> Result<(), DirectoryError> {
        let valid_id = id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit());
        let listed: Option<serde_json::Value> =
            if valid_id && frameflow_store::validate_tenant(tenant).is_ok() { self.get_json(&format!("tenant-keys/{tenant}/{id}.json")).await? } else { None };
        let Some(hash) = listed.as_ref().and_then(|v| v["hash"].as_str()).map(str::to_string) else {
            return Err(DirectoryError::NotFound(format!("tenant '{tenant}' has no key '{id}'")));
        };
        self.store.delete(&format!("keys/{hash}.json")).await?;
        self.store.delete(&format!("tenant-keys/{tenant}/{id}.json")).await?;
        self.keys.lock().expect("key cache lock").remove(&hash);
        Ok(())
    }

    /// The record of a key, by the key's hash; cached (found or not) for [`CACHE_TTL`].
    pub async fn lookup(&self, hash: &str) -> Result<Option<KeyRecord>, DirectoryError> {
        if let Some((at, record)) = self.keys.lock().expect("key cache lock").get(hash) {
            if at.elapsed() < CACHE_TTL {
                return Ok(record.clone());
            }
        }
        let record: Option<KeyRecord> = self.get_json(&format!("keys/{hash}.json")).await?;
        let mut cache = self.keys.lock().expect("key cache lock");
        if cache.len() >= MAX_CACHED_KEYS {
            cache.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
            if cache.len() >= MAX_CACHED_KEYS {
                cache.clear();
            }
        }
        cache.insert(hash.to_string(), (Instant::now(), record.clone()));
        Ok(record)
    }
}
