//! The host side of `frameflow:store`: the guest's object calls, scoped to its tenant.
//!
//! Every key goes through [`frameflow_store::TenantStore`], which validates it and
//! prefixes it with the tenant; the guest never sees or names the prefix.

use frameflow_store::{StoreError as CoreError, Upload, WriteMode};
use wasmtime::component::Resource;

use crate::bindings::frameflow::store::objects::{Host, HostUpload, ListPage, ObjectMeta, PutMode, StoreError};
use crate::sandbox::Sandbox;

/// Uploads a request may have open at once.
const MAX_OPEN_UPLOADS: usize = 4;

/// A guest's `upload`: the streamed write, or the error that ended it.
pub struct UploadHandle {
    key: String,
    upload: Option<Upload>,
    /// Why `upload` is gone: refused at creation or failed on a write.
    error: Option<StoreError>,
}

impl UploadHandle {
    fn ended(&self) -> StoreError {
        self.error.clone().unwrap_or_else(|| StoreError::Io(format!("upload of '{}' already finished", self.key)))
    }
}

type StoreResult<T> = wasmtime::Result<Result<T, StoreError>>;

fn to_wit(err: CoreError) -> StoreError {
    let message = err.to_string();
    match err {
        CoreError::NotFound(_) => StoreError::NotFound(message),
        CoreError::InvalidKey { .. } => StoreError::InvalidKey(message),
        CoreError::PreconditionFailed(_) => StoreError::PreconditionFailed(message),
        CoreError::TooLarge(_) => StoreError::TooLarge(message),
        CoreError::Io(_) => StoreError::Io(message),
    }
}

fn meta(m: frameflow_store::ObjectMeta) -> ObjectMeta {
    ObjectMeta { key: m.key, size: m.size, etag: m.etag, last_modified_ms: m.last_modified_ms }
}

impl Host for Sandbox {
    async fn get(&mut self, key: String) -> StoreResult<Vec<u8>> {
        Ok(self.tenant.get(&key).await.map(|b| b.to_vec()).map_err(to_wit))
    }

    async fn head(&mut self, key: String) -> StoreResult<ObjectMeta> {
        Ok(self.tenant.head(&key).await.map(meta).map_err(to_wit))
    }

    async fn put(&mut self, key: String, data: Vec<u8>, mode: PutMode) -> StoreResult<ObjectMeta> {
        let mode = match mode {
            PutMode::Overwrite => WriteMode::Overwrite,
            PutMode::Create => WriteMode::Create,
            PutMode::IfMatch(etag) => WriteMode::IfMatch(etag),
        };
        Ok(self.tenant.put(&key, data.into(), mode).await.map(meta).map_err(to_wit))
    }

    async fn list(&mut self, prefix: String, start_after: Option<String>, limit: u32) -> StoreResult<ListPage> {
        let page = self.tenant.list(&prefix, start_after.as_deref(), limit as usize).await;
        Ok(page
            .map(|p| ListPage { objects: p.objects.into_iter().map(meta).collect(), next_start_after: p.next_start_after })
            .map_err(to_wit))
    }

    async fn delete(&mut self, key: String) -> StoreResult<()> {
        Ok(self.tenant.delete(&key).await.map_err(to_wit))
    }
}

impl HostUpload for Sandbox {
    async fn new(&mut self, key: String) -> wasmtime::Result<Resource<UploadHandle>> {
        // Errors (a bad key, too many uploads) surface on the first write, where the guest
        // can see them: a WIT constructor cannot fail.
        let (upload, error) = if self.budget.uploads >= MAX_OPEN_UPLOADS {
            (None, Some(StoreError::TooLarge(format!("at most {MAX_OPEN_UPLOADS} uploads may be open at once"))))
        } else {
            match self.tenant.upload(&key, self.limits.upload_bytes) {
                Ok(up) => (Some(up), None),
                Err(e) => (None, Some(to_wit(e))),
            }
        };
        self.budget.uploads += 1;
        Ok(self.table.push(UploadHandle { key, upload, error })?)
    }

    async fn write(&mut self, upload: Resource<UploadHandle>, chunk: Vec<u8>) -> StoreResult<()> {
        let handle = self.table.get_mut(&upload)?;
        let Some(up) = handle.upload.as_mut() else {
            return Ok(Err(handle.ended()));
        };
        let result = up.write(&chunk).await.map_err(to_wit);
        if let Err(e) = &result {
            handle.upload = None;
            handle.error = Some(e.clone());
        }
        Ok(result)
    }

    async fn finish(&mut self, upload: Resource<UploadHandle>) -> StoreResult<ObjectMeta> {
        let handle = self.table.get_mut(&upload)?;
        let Some(up) = handle.upload.take() else {
            return Ok(Err(handle.ended()));
        };
        Ok(up.finish().await.map(meta).map_err(to_wit))
    }

    async fn drop(&mut self, upload: Resource<UploadHandle>) -> wasmtime::Result<()> {
        self.table.delete(upload)?;
        self.budget.uploads -= 1;
        Ok(())
    }
}
