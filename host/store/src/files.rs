//! Local files to and from the store a chunk at a time, so an object bigger than memory
//! (a processed video, a detections database) never sits whole in it.

use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{Result, StoreError, TenantStore};

/// Bytes moved per request.
const CHUNK: usize = 8 << 20;

impl TenantStore {
    /// Stores the file at `path` as `key` (replacing it in one write: readers see the old
    /// object or the new one).
    pub async fn put_file(&self, key: &str, path: &Path) -> Result<u64> {
        let mut file = tokio::fs::File::open(path).await.map_err(|e| StoreError::io(format!("reading {}", path.display()), e))?;
        let mut upload = self.upload(key, u64::MAX)?;
        let mut chunk = vec![0u8; CHUNK];
        loop {
            let n = file.read(&mut chunk).await.map_err(|e| StoreError::io(format!("reading {}", path.display()), e))?;
            if n == 0 {
                break;
            }
            upload.write(&chunk[..n]).await?;
        }
        let written = upload.written();
        upload.finish().await?;
        Ok(written)
    }

    /// Copies the object at `key` (`size` bytes) into a new file at `path`.
    pub async fn get_file(&self, key: &str, size: u64, path: &Path) -> Result<()> {
        let mut file = tokio::fs::File::create(path).await.map_err(|e| StoreError::io(format!("writing {}", path.display()), e))?;
        let mut at = 0u64;
        while at < size {
            let end = (at + CHUNK as u64).min(size);
            let bytes = self.get_range(key, at..end).await?;
            file.write_all(&bytes).await.map_err(|e| StoreError::io(format!("writing {}", path.display()), e))?;
            at = end;
        }
        file.flush().await.map_err(|e| StoreError::io(format!("writing {}", path.display()), e))
    }
}
