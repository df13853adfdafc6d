//! The host side of `frameflow:store`: the guest's object calls, scoped to its tenant, on a
//! [`HostView`] of [`StoreCtx`].
//!
//! Every key goes through [`frameflow_store::TenantStore`], which validates it and
//! prefixes it with the tenant; the guest never sees or names the prefix.

use frameflow_store::StoreError as CoreError;
use wasmtime::component::Resource;
use wasmtime_wasi::p2::{DynOutputStream, StreamError};

use crate::bindings::frameflow::store::objects::{Host, HostUpload, ListPage, ObjectMeta, PutMode, StoreError};
use crate::bindings::StoreFailure;
use crate::handles::UploadHandle;
use crate::request::HostView;

/// Bytes read from the store per step of `copy-range-to`.
const COPY_CHUNK: u64 = 1 << 20;

/// Uploads a request may have open at once.
const MAX_OPEN_UPLOADS: usize = 4;

/// `frameflow:store` reaches only the request's tenant store.
pub(crate) struct StoreCtx;

type StoreView<'a> = HostView<'a, StoreCtx>;
type StoreResult<T> = Result<T, StoreFailure>;

/// Wraps a core store error for the guest.
fn guest(err: CoreError) -> StoreFailure {
    StoreError::from(err).into()
}

impl Host for StoreView<'_> {
    fn convert_store_error(&mut self, err: StoreFailure) -> wasmtime::Result<StoreError> {
        err.into_guest_error()
    }

    async fn get(&mut self, key: String) -> StoreResult<Vec<u8>> {
        Ok(self.req.tenant.get(&key).await.map_err(guest)?.to_vec())
    }

    async fn head(&mut self, key: String) -> StoreResult<ObjectMeta> {
        Ok(self.req.tenant.head(&key).await.map_err(guest)?.into())
    }

    async fn put(&mut self, key: String, data: Vec<u8>, mode: PutMode) -> StoreResult<ObjectMeta> {
        Ok(self.req.tenant.put(&key, data.into(), mode.into()).await.map_err(guest)?.into())
    }

    async fn list(&mut self, prefix: String, start_after: Option<String>, limit: u32) -> StoreResult<ListPage> {
        let page = self.req.tenant.list(&prefix, start_after.as_deref(), limit as usize).await.map_err(guest)?;
        Ok(ListPage { objects: page.objects.into_iter().map(Into::into).collect(), next_start_after: page.next_start_after })
    }

    async fn delete(&mut self, key: String) -> StoreResult<()> {
        self.req.tenant.delete(&key).await.map_err(guest)
    }

    async fn copy_range_to(&mut self, key: String, start: u64, length: u64, out: Resource<DynOutputStream>) -> StoreResult<()> {
        let size = self.req.tenant.head(&key).await.map_err(guest)?.size;
        let end: u64 = start.checked_add(length).filter(|&end| end <= size).ok_or_else(|| {
            StoreFailure::from(StoreError::InvalidKey(format!("bytes {start}..{} are past the end of '{key}' ({size} bytes)", start.saturating_add(length))))
        })?;
        // Chunk k+1 is read from the store while chunk k is written to the client: two
        // chunks in memory at most, and the store's latency overlaps the client's.
        let tenant = self.req.tenant.clone();
        let fetch = |range: std::ops::Range<u64>| {
            let (tenant, key) = (tenant.clone(), key.clone());
            tokio::spawn(async move { tenant.get_range(&key, range).await })
        };
        let mut at = start;
        let mut pending = (at < end).then(|| fetch(at..end.min(at + COPY_CHUNK)));
        while let Some(reading) = pending.take() {
            let bytes = reading.await?.map_err(guest)?;
            at += bytes.len() as u64;
            if bytes.is_empty() {
                return Err(StoreError::Io(format!("'{key}' ended early at byte {at}")).into());
            }
            if at < end {
                pending = Some(fetch(at..end.min(at + COPY_CHUNK)));
            }
            if self.req.cancel.flag().load(std::sync::atomic::Ordering::Relaxed) {
                return Err(StoreError::Io("the request was abandoned".into()).into());
            }
            let stream = self.table.get_mut(&out)?;
            match stream.blocking_write_and_flush(bytes).await {
                Ok(()) => {}
                Err(StreamError::Closed) => return Err(StoreError::Io("the response body was closed: the client went away".into()).into()),
                Err(StreamError::LastOperationFailed(e)) => return Err(StoreError::Io(format!("writing the response body: {e:#}")).into()),
                Err(StreamError::Trap(e)) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

impl HostUpload for StoreView<'_> {
    async fn new(&mut self, key: String) -> wasmtime::Result<Resource<UploadHandle>> {
        // Errors (a bad key, too many uploads) surface on the first write, where the guest
        // can see them: a WIT constructor cannot fail.
        let (upload, error) = if self.req.budget.uploads >= MAX_OPEN_UPLOADS {
            (None, Some(CoreError::TooLarge(format!("at most {MAX_OPEN_UPLOADS} uploads may be open at once"))))
        } else {
            match self.req.tenant.upload(&key, self.req.limits.upload_bytes) {
                Ok(up) => (Some(up), None),
                Err(e) => (None, Some(e)),
            }
        };
        self.req.budget.uploads += 1;
        Ok(self.table.push(UploadHandle { key, upload, error })?)
    }

    async fn write(&mut self, upload: Resource<UploadHandle>, chunk: Vec<u8>) -> StoreResult<()> {
        let handle = self.table.get_mut(&upload)?;
        let Some(up) = handle.upload.as_mut() else {
            return Err(guest(handle.ended()));
        };
        if let Err(e) = up.write(&chunk).await {
            handle.upload = None;
            handle.error = Some(e.clone());
            return Err(guest(e));
        }
        Ok(())
    }

    async fn finish(&mut self, upload: Resource<UploadHandle>) -> StoreResult<ObjectMeta> {
        let handle = self.table.get_mut(&upload)?;
        let Some(up) = handle.upload.take() else {
            return Err(guest(handle.ended()));
        };
        Ok(up.finish().await.map_err(guest)?.into())
    }

    async fn drop(&mut self, upload: Resource<UploadHandle>) -> wasmtime::Result<()> {
        self.table.delete(upload)?;
        self.req.budget.uploads -= 1;
        Ok(())
    }
}
