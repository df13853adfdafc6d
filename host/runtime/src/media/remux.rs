//! `video.remux`: a stream copy of a video (`frameflow-delivery`) into another container,
//! written to a temporary file off the reactor, then streamed into the tenant's store.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use frameflow_delivery::{Container, TempFile};
use frameflow_store::TenantStore;

use crate::bindings::frameflow::media::types::MediaError;
use crate::blocking::blocking;
use crate::conversions::{delivery_error, store_error_for_media};

/// Copies the video at `source` (named `label` to the guest) into `container` and stores
/// it at `key`; at most `max_bytes` are stored. The size stored.
pub(crate) async fn remux_to_store(
    source: &Path,
    label: &str,
    container: &str,
    key: &str,
    tenant: &TenantStore,
    max_bytes: u64,
    cancel: Arc<AtomicBool>,
) -> Result<u64, MediaError> {
    let container = Container::parse(container)
        .ok_or_else(|| MediaError::Invalid(format!("'container' must be mp4, mkv or ts, got '{container}'")))?;
    frameflow_store::validate_key(key).map_err(|e| MediaError::Invalid(e.to_string()))?;
    let temp = TempFile::new(container.extension());
    let (from, to) = (source.to_path_buf(), temp.path().to_path_buf());
    let copied = blocking(move || frameflow_delivery::remux(&from, container, &to, &cancel))
        .await
        .map_err(|e| MediaError::Internal(format!("the stream copy stopped: {e}")))?;
    let report = copied.map_err(|e| delivery_error(e, source, label))?;
    tracing::debug!(streams = ?report.streams, skipped = ?report.skipped, packets = report.packets, "stream copy done");
    // Streamed into the store a chunk at a time: never whole in memory.
    let mut file = tokio::fs::File::open(temp.path()).await.map_err(|e| MediaError::Internal(format!("reading the copy back: {e}")))?;
    let mut upload = tenant.upload(key, max_bytes).map_err(|e| store_error_for_media(e, key))?;
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        use tokio::io::AsyncReadExt;
        let n = file.read(&mut chunk).await.map_err(|e| MediaError::Internal(format!("reading the copy back: {e}")))?;
        if n == 0 {
            break;
        }
        upload.write(&chunk[..n]).await.map_err(|e| store_error_for_media(e, key))?;
    }
    let meta = upload.finish().await.map_err(|e| store_error_for_media(e, key))?;
    Ok(meta.size)
}
