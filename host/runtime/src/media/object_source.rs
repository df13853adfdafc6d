//! Objects of a remote store (S3) as media: each object version is registered with the
//! media core as a [`RangeSource`] answered by ranged GETs, so opening a video, indexing it
//! and decoding a frame from its middle fetch only the bytes FFmpeg reads (plus a bounded
//! read-ahead), never the whole object.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use frameflow_media::remote::{self, RangeSource};
use frameflow_store::{StoreError, TenantStore};

/// Bytes fetched by ranged reads since the process started (for benchmarks and logs).
pub static BYTES_FETCHED: AtomicU64 = AtomicU64::new(0);

/// One object version, read with ranged GETs from a blocking thread.
struct ObjectSource {
    tenant: TenantStore,
    key: String,
    size: u64,
    runtime: tokio::runtime::Handle,
}

impl RangeSource for ObjectSource {
    fn len(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        // The media core runs on tokio's blocking pool, where waiting on the runtime is allowed.
        let n = remote::read_range(self.size, offset, buf, |range| {
            self.runtime.block_on(self.tenant.get_range(&self.key, range)).map_err(|e| std::io::Error::other(e.to_string()))
        })?;
        BYTES_FETCHED.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Registers the current version of the object at `key` with the media core; returns the
/// name to open it by (`s3://bucket/.../key#etag`).
pub async fn register(tenant: &TenantStore, key: &str) -> Result<PathBuf, StoreError> {
    let meta = tenant.head(key).await?;
    let version = meta.etag.clone().unwrap_or_else(|| format!("{}-{}", meta.size, meta.last_modified_ms));
    let name = PathBuf::from(tenant.object_name(key, version.trim_matches('"'))?);
    if remote::source(&name).is_none() {
        let source = ObjectSource { tenant: tenant.clone(), key: key.to_string(), size: meta.size, runtime: tokio::runtime::Handle::current() };
        remote::register(name.clone(), Arc::new(source));
    }
    Ok(name)
}
