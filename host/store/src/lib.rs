//! Object storage for frameflow, scoped by tenant.
//!
//! [`ObjectStorage`] opens the backing store from a URL (`file://` under a local directory,
//! the embedded default, or `s3://bucket/prefix` with the standard AWS environment
//! variables). [`TenantStore`] is what a request sees: every key it is given is checked by
//! [`validate_key`] and prefixed with `tenants/{tenant}/` (see [`TenantStore::full_key`]),
//! so one tenant can never name another's object. [`Upload`] streams a large object in;
//! `files.rs`: [`TenantStore::put_file`] / [`TenantStore::get_file`], local files in and out a
//! chunk at a time.

#![forbid(unsafe_code)]
#![warn(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload, UpdateVersion};
use tokio::io::AsyncWriteExt;

mod files;

/// Longest key a guest may use (S3 allows 1024 bytes in all; the tenant prefix needs some).
pub const MAX_KEY_LEN: usize = 900;
/// Largest object `get` reads into memory at once.
pub const MAX_GET_BYTES: u64 = 64 << 20;

#[derive(Debug, thiserror::Error, Clone)]
pub enum StoreError {
    #[error("no object at key '{0}'")]
    NotFound(String),
    #[error("invalid key '{key}': {why}")]
    InvalidKey { key: String, why: &'static str },
    #[error("precondition failed for '{0}'")]
    PreconditionFailed(String),
    #[error("{0}")]
    TooLarge(String),
    /// The backing store or the file system failed; `source` says how.
    #[error("object store: {context}: {source}")]
    Io { context: String, #[source] source: Arc<dyn std::error::Error + Send + Sync> },
    /// The store is configured wrongly: an unsupported URL, unusable S3 settings.
    #[error("{0}")]
    Config(String),
    /// The upload was already finished, or failed earlier.
    #[error("upload of '{0}' already ended")]
    Ended(String),
}

impl StoreError {
    /// An I/O failure of the store, keeping its source.
    pub fn io(context: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError::Io { context: context.into(), source: Arc::new(source) }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

fn map_err(key: &str, err: object_store::Error) -> StoreError {
    match err {
        object_store::Error::NotFound { .. } => StoreError::NotFound(key.to_string()),
        object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. } => {
            StoreError::PreconditionFailed(key.to_string())
        }
        other => StoreError::io(key, other),
    }
}

/// Checks a guest-supplied key: relative, `/`-separated, no empty/`.`/`..` parts, no
/// control characters or backslashes, at most [`MAX_KEY_LEN`] bytes.
pub fn validate_key(key: &str) -> Result<()> {
    let bad = |why| Err(StoreError::InvalidKey { key: key.chars().take(200).collect(), why });
    if key.is_empty() {
        return bad("empty");
    }
    if key.len() > MAX_KEY_LEN {
        return bad("longer than 900 bytes");
    }
    if key.starts_with('/') {
        return bad("absolute keys are not allowed");
    }
    if key.chars().any(|c| c.is_control() || c == '\\') {
        return bad("control characters and backslashes are not allowed");
    }
    if key.split('/').any(|part| part.is_empty() || part == "." || part == "..") {
        return bad("empty, '.' and '..' path parts are not allowed");
    }
    Ok(())
}

/// Prefixes are keys that may end with `/` or be empty (everything of the tenant).
fn validate_prefix(prefix: &str) -> Result<()> {
    match prefix.strip_suffix('/').unwrap_or(prefix) {
        "" => Ok(()),
        p => validate_key(p),
    }
}

/// Tenant names become a key segment: a short, plain identifier.
pub fn validate_tenant(tenant: &str) -> Result<()> {
    let ok = !tenant.is_empty()
        && tenant.len() <= 64
        && tenant.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidKey { key: tenant.to_string(), why: "tenant names are 1-64 of [A-Za-z0-9_-]" })
    }
}

/// How a put treats an existing object.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteMode {
    Overwrite,
    Create,
    IfMatch(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObjectMeta {
    /// The key as the tenant names it (without the tenant prefix).
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
    pub last_modified_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    pub objects: Vec<ObjectMeta>,
    pub next_start_after: Option<String>,
}

/// The backing store, shared by all tenants and requests.
pub struct ObjectStorage {
    inner: Arc<dyn ObjectStore>,
    /// Set for `file://` stores: objects are plain files under it, which FFmpeg reads in place.
    local_root: Option<PathBuf>,
    /// Where remote objects are copied so FFmpeg can seek in them.
    download_dir: PathBuf,
    /// The local filesystem store has no native if-match; this makes check-then-write atomic
    /// within the process (the embedded default is one process).
    local_cas: tokio::sync::Mutex<()>,
    url: String,
    /// The S3 bucket, and the prefix every key of this deployment is under (`""` for none).
    bucket: Option<String>,
    prefix: String,
    /// Told of every object written to a local store (which has no notifications of its own).
    on_write: std::sync::OnceLock<WriteHook>,
}

/// An object written to the store, as [`ObjectStorage::on_write`] hears of it.
#[derive(Clone, Debug, PartialEq)]
pub struct WrittenObject {
    pub tenant: String,
    /// The key in the tenant's space.
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
}

type WriteHook = Box<dyn Fn(WrittenObject) + Send + Sync>;

impl std::fmt::Debug for ObjectStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStorage").field("url", &self.url).finish()
    }
}

impl ObjectStorage {
    /// Opens `file://DIR` (or a bare directory path) or `s3://bucket[/prefix]`, the latter
    /// configured by the standard AWS environment (`AWS_ENDPOINT_URL` or `AWS_ENDPOINT`,
    /// `AWS_ALLOW_HTTP`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`).
    /// `download_dir` holds local copies of remote videos.
    pub fn open(url: &str, download_dir: &FsPath) -> Result<ObjectStorage> {
        ObjectStorage::open_with(url, download_dir, &[])
    }

    /// [`ObjectStorage::open`] with S3 settings that override the environment, named as
    /// the environment names them (`AWS_ENDPOINT_URL`, ...).
    pub fn open_with(url: &str, download_dir: &FsPath, s3_settings: &[(&str, &str)]) -> Result<ObjectStorage> {
        let mut location = (None, String::new());
        let (inner, local_root): (Arc<dyn ObjectStore>, _) = if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            location = (Some(bucket.to_string()), prefix.trim_matches('/').to_string());
            let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
            for (name, value) in s3_settings {
                let key = name.to_ascii_lowercase().parse().map_err(|e| StoreError::Config(format!("S3 setting {name}: {e}")))?;
                builder = builder.with_config(key, *value);
            }
            // Leases need if-match writes (create-only writes use If-None-Match: *). A store
            // that is down fails a request within seconds (a few quick retries), so the
            // caller answers 503 instead of waiting out its deadline.
            let retry = object_store::RetryConfig {
                max_retries: 3,
                retry_timeout: std::time::Duration::from_secs(10),
                ..Default::default()
            };
            use object_store::aws::AmazonS3ConfigKey::Client;
            use object_store::ClientConfigKey::{ConnectTimeout, Timeout};
            let s3 = builder
                .with_retry(retry)
                .with_config(Client(ConnectTimeout), "5s")
                .with_config(Client(Timeout), "60s")
                .with_conditional_put(object_store::aws::S3ConditionalPut::ETagMatch)
                .build()
                .map_err(|e| StoreError::Config(format!("cannot configure S3 store {url}: {e}")))?;
            let s3: Arc<dyn ObjectStore> = Arc::new(s3);
            let prefix = prefix.trim_matches('/');
            let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                s3
            } else {
                Arc::new(object_store::prefix::PrefixStore::new(s3, prefix))
            };
            (store, None)
        } else {
            let dir = url.strip_prefix("file://").unwrap_or(url);
            if dir.contains("://") {
                return Err(StoreError::Config(format!("unsupported store URL '{url}': use file://DIR or s3://BUCKET/PREFIX")));
            }
            std::fs::create_dir_all(dir).map_err(|e| StoreError::io(format!("cannot create store directory {dir}"), e))?;
            let root = std::fs::canonicalize(dir).map_err(|e| StoreError::io(dir, e))?;
            let local = object_store::local::LocalFileSystem::new_with_prefix(&root)
                .map_err(|e| StoreError::io(format!("cannot open store directory {}", root.display()), e))?
                .with_automatic_cleanup(true);
            (Arc::new(local), Some(root))
        };
        Ok(ObjectStorage {
            inner,
            local_root,
            download_dir: download_dir.to_path_buf(),
            local_cas: tokio::sync::Mutex::new(()),
            url: url.to_string(),
            bucket: location.0,
            prefix: location.1,
            on_write: std::sync::OnceLock::new(),
        })
    }

    /// The S3 bucket, `None` for a local store.
    pub fn bucket(&self) -> Option<&str> {
        self.bucket.as_deref()
    }

    /// Whether objects live in a local directory (the embedded default), which sends no
    /// event notifications: [`ObjectStorage::on_write`] stands in for them.
    pub fn is_local(&self) -> bool {
        self.local_root.is_some()
    }

    /// Calls `hook` after every object written to a local store (puts and finished
    /// uploads), for tenants' object triggers. Set once; later calls are ignored.
    pub fn on_write(&self, hook: impl Fn(WrittenObject) + Send + Sync + 'static) {
        let _ = self.on_write.set(Box::new(hook));
    }

    /// The tenant and tenant-relative key of an object named by a bucket notification
    /// (`bucket`, full `key`): `None` when it is another bucket's, outside this deployment's
    /// prefix, or not under `tenants/{tenant}/` with a valid key. A local store has no
    /// bucket and takes any.
    pub fn locate(&self, bucket: &str, key: &str) -> Option<(String, String)> {
        if self.bucket.as_deref().is_some_and(|b| b != bucket) {
            return None;
        }
        let rest = match self.prefix.as_str() {
            "" => key,
            prefix => key.strip_prefix(prefix)?.strip_prefix('/')?,
        };
        let (tenant, key) = rest.strip_prefix("tenants/")?.split_once('/')?;
        (validate_tenant(tenant).is_ok() && validate_key(key).is_ok()).then(|| (tenant.to_string(), key.to_string()))
    }

    fn written(&self, tenant_prefix: &str, meta: &ObjectMeta) {
        // Only tenants' objects are events; the host's own (`system/`) are not.
        let Some(tenant) = tenant_prefix.strip_prefix("tenants/") else { return };
        if let (true, Some(hook)) = (self.is_local(), self.on_write.get()) {
            let tenant = tenant.trim_end_matches('/').to_string();
            hook(WrittenObject { tenant, key: meta.key.clone(), size: meta.size, etag: meta.etag.clone() });
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The view of one tenant.
    pub fn tenant(self: &Arc<Self>, tenant: &str) -> Result<TenantStore> {
        validate_tenant(tenant)?;
        Ok(TenantStore { storage: self.clone(), prefix: format!("tenants/{tenant}/") })
    }

    /// The host's own keys (`system/`: tenants, API keys), apart from every tenant's root,
    /// so no tenant can name them.
    pub fn system(self: &Arc<Self>) -> TenantStore {
        TenantStore { storage: self.clone(), prefix: "system/".to_string() }
    }
}

/// Counts bytes read from the store (`frameflow_store_read_bytes_total`).
fn count_read(bytes: usize) {
    metrics::counter!("frameflow_store_read_bytes_total").increment(bytes as u64);
}

/// Counts one request to the store by operation (`frameflow_store_requests_total{op}`):
/// what a coordination scheme (claims, queues) costs per unit of work.
fn count_request(op: &'static str) {
    metrics::counter!("frameflow_store_requests_total", "op" => op).increment(1);
}

/// One tenant's keys. Cheap to clone.
#[derive(Clone, Debug)]
pub struct TenantStore {
    storage: Arc<ObjectStorage>,
    prefix: String,
}

impl TenantStore {
    /// Where a tenant's key lives in the backing store: `tenants/{tenant}/{key}`.
    pub fn full_key(&self, key: &str) -> Result<Path> {
        validate_key(key)?;
        Ok(Path::from(format!("{}{key}", self.prefix)))
    }

    fn meta(&self, meta: object_store::ObjectMeta) -> ObjectMeta {
        let full = meta.location.to_string();
        ObjectMeta {
            key: full.strip_prefix(&self.prefix).unwrap_or(&full).to_string(),
            size: meta.size,
            etag: meta.e_tag,
            last_modified_ms: meta.last_modified.timestamp_millis().max(0) as u64,
        }
    }

    pub async fn get(&self, key: &str) -> Result<Bytes> {
        let path = self.full_key(key)?;
        count_request("get");
        let got = self.storage.inner.get(&path).await.map_err(|e| map_err(key, e))?;
        if got.meta.size > MAX_GET_BYTES {
            return Err(StoreError::TooLarge(format!(
                "'{key}' is {} bytes; get reads at most {MAX_GET_BYTES}",
                got.meta.size
            )));
        }
        let bytes = got.bytes().await.map_err(|e| map_err(key, e))?;
        count_read(bytes.len());
        Ok(bytes)
    }

    pub async fn head(&self, key: &str) -> Result<ObjectMeta> {
        let path = self.full_key(key)?;
        count_request("head");
        let meta = self.storage.inner.head(&path).await.map_err(|e| map_err(key, e))?;
        Ok(self.meta(meta))
    }

    pub async fn put(&self, key: &str, data: Bytes, mode: WriteMode) -> Result<ObjectMeta> {
        let path = self.full_key(key)?;
        count_request("put");
        let size = data.len() as u64;
        let payload = PutPayload::from_bytes(data);
        let put = |mode| PutOptions { mode, ..Default::default() };
        let result = match mode {
            WriteMode::Overwrite => self.storage.inner.put_opts(&path, payload, put(PutMode::Overwrite)).await,
            WriteMode::Create => self.storage.inner.put_opts(&path, payload, put(PutMode::Create)).await,
            WriteMode::IfMatch(etag) if self.storage.local_root.is_some() => {
                let _guard = self.storage.local_cas.lock().await;
                let current = self.storage.inner.head(&path).await.map_err(|e| match e {
                    object_store::Error::NotFound { .. } => StoreError::PreconditionFailed(key.to_string()),
                    other => map_err(key, other),
                })?;
                if current.e_tag.as_deref() != Some(etag.as_str()) {
                    return Err(StoreError::PreconditionFailed(key.to_string()));
                }
                self.storage.inner.put_opts(&path, payload, put(PutMode::Overwrite)).await
            }
            WriteMode::IfMatch(etag) => {
                let version = UpdateVersion { e_tag: Some(etag), version: None };
                self.storage.inner.put_opts(&path, payload, put(PutMode::Update(version))).await
            }
        }
        .map_err(|e| map_err(key, e))?;
        let meta = ObjectMeta {
            key: key.to_string(),
            size,
            etag: result.e_tag,
            last_modified_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
        };
        self.storage.written(&self.prefix, &meta);
        metrics::counter!("frameflow_store_written_bytes_total").increment(size);
        Ok(meta)
    }

    /// Objects under `prefix` (a key prefix; `""` for all) after `start_after`, in key order.
    pub async fn list(&self, prefix: &str, start_after: Option<&str>, limit: usize) -> Result<ListPage> {
        validate_prefix(prefix)?;
        count_request("list");
        let limit = limit.clamp(1, 1000);
        // object_store lists by path segments; list the directory part, filter the rest.
        let dir = match prefix.rfind('/') {
            Some(i) => &prefix[..i],
            None => "",
        };
        let dir_path = Path::from(format!("{}{dir}", self.prefix));
        let offset = start_after.map(|s| Path::from(format!("{}{s}", self.prefix)));
        let stream = match &offset {
            Some(offset) => self.storage.inner.list_with_offset(Some(&dir_path), offset),
            None => self.storage.inner.list(Some(&dir_path)),
        };
        let mut all: Vec<ObjectMeta> = stream
            .map_ok(|m| self.meta(m))
            .try_filter(|m| futures::future::ready(m.key.starts_with(prefix)))
            .try_collect()
            .await
            .map_err(|e| map_err(prefix, e))?;
        // The local store lists in directory order; S3 in key order. Sort to make pages stable.
        all.sort_by(|a, b| a.key.cmp(&b.key));
        if let Some(after) = start_after {
            all.retain(|m| m.key.as_str() > after);
        }
        let more = all.len() > limit;
        all.truncate(limit);
        let next_start_after = if more { all.last().map(|m| m.key.clone()) } else { None };
        Ok(ListPage { objects: all, next_start_after })
    }

    pub async fn delete(&self, key: &str) -> Result<()> {
        let path = self.full_key(key)?;
        count_request("delete");
        match self.storage.inner.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(map_err(key, e)),
        }
    }

    /// Starts a streamed write of `key`; nothing is visible until [`Upload::finish`].
    pub fn upload(&self, key: &str, max_bytes: u64) -> Result<Upload> {
        let path = self.full_key(key)?;
        Ok(Upload {
            key: key.to_string(),
            writer: Some(BufWriter::new(self.storage.inner.clone(), path)),
            written: 0,
            max_bytes,
            store: self.clone(),
        })
    }

    /// Bytes `range` of the object at `key` (one ranged GET on S3).
    pub async fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Bytes> {
        let path = self.full_key(key)?;
        count_request("get_range");
        let bytes = self.storage.inner.get_range(&path, range).await.map_err(|e| map_err(key, e))?;
        count_read(bytes.len());
        Ok(bytes)
    }

    /// The tenant whose keys these are (`system` for the host's own).
    pub fn tenant_name(&self) -> &str {
        let name = self.prefix.trim_end_matches('/');
        name.strip_prefix("tenants/").unwrap_or(name)
    }

    /// Whether the objects are files FFmpeg can open in place (`file://`).
    pub fn is_local(&self) -> bool {
        self.storage.is_local()
    }

    /// A name for one version of the object at `key` that is no file path
    /// (`s3://bucket/prefix/tenants/t/key#etag`), for media read by ranges.
    pub fn object_name(&self, key: &str, version: &str) -> Result<String> {
        Ok(format!("{}/{}#{version}", self.storage.url.trim_end_matches('/'), self.full_key(key)?))
    }

    /// A local file FFmpeg can open for `key`: the object itself for a `file://` store, a
    /// downloaded copy (reused while the object's etag is unchanged) for a remote one.
    pub async fn local_path(&self, key: &str) -> Result<PathBuf> {
        let path = self.full_key(key)?;
        if let Some(root) = &self.storage.local_root {
            let file = root.join(path.as_ref());
            return match tokio::fs::metadata(&file).await {
                Ok(m) if m.is_file() => Ok(file),
                _ => Err(StoreError::NotFound(key.to_string())),
            };
        }
        let meta = self.storage.inner.head(&path).await.map_err(|e| map_err(key, e))?;
        let tag: String = format!("{}-{}", path, meta.e_tag.as_deref().unwrap_or("none"))
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
            .collect();
        let local = self.storage.download_dir.join(tag);
        if tokio::fs::metadata(&local).await.map(|m| m.len() == meta.size).unwrap_or(false) {
            return Ok(local);
        }
        tokio::fs::create_dir_all(&self.storage.download_dir)
            .await
            .map_err(|e| StoreError::io(self.storage.download_dir.display().to_string(), e))?;
        let partial = local.with_extension("partial");
        let mut file = tokio::fs::File::create(&partial)
            .await
            .map_err(|e| StoreError::io(partial.display().to_string(), e))?;
        let mut stream = self.storage.inner.get(&path).await.map_err(|e| map_err(key, e))?.into_stream();
        while let Some(chunk) = stream.try_next().await.map_err(|e| map_err(key, e))? {
            file.write_all(&chunk).await.map_err(|e| StoreError::io(partial.display().to_string(), e))?;
        }
        file.flush().await.map_err(|e| StoreError::io(local.display().to_string(), e))?;
        tokio::fs::rename(&partial, &local).await.map_err(|e| StoreError::io(local.display().to_string(), e))?;
        Ok(local)
    }
}

/// A streamed object write. Dropped without `finish`, it leaves nothing behind.
pub struct Upload {
    key: String,
    writer: Option<BufWriter>,
    written: u64,
    max_bytes: u64,
    store: TenantStore,
}

impl Upload {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        let writer = self.writer.as_mut().ok_or_else(|| StoreError::Ended(self.key.clone()))?;
        self.written += chunk.len() as u64;
        if self.written > self.max_bytes {
            let mut writer = self.writer.take().expect("checked above");
            let _ = writer.abort().await;
            return Err(StoreError::TooLarge(format!(
                "upload of '{}' is larger than the limit of {} bytes",
                self.key, self.max_bytes
            )));
        }
        writer.write_all(chunk).await.map_err(|e| StoreError::io(self.key.clone(), e))
    }

    pub async fn finish(mut self) -> Result<ObjectMeta> {
        let mut writer = self.writer.take().ok_or_else(|| StoreError::Ended(self.key.clone()))?;
        writer.shutdown().await.map_err(|e| StoreError::io(self.key.clone(), e))?;
        let meta = self.store.head(&self.key).await?;
        self.store.storage.written(&self.store.prefix, &meta);
        Ok(meta)
    }

    pub fn written(&self) -> u64 {
        self.written
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(mut writer) = self.writer.take() {
            // Abort the multipart upload so no partial object or staging file stays behind.
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    let _ = writer.abort().await;
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_name_a_tenant_and_a_key_only_inside_the_deployment() {
        let dir = std::env::temp_dir().join(format!("frameflow-locate-{}", std::process::id()));
        let local = ObjectStorage::open(&format!("file://{}", dir.display()), &dir.join("dl")).unwrap();
        assert_eq!(local.locate("any", "tenants/default/incoming/a.mp4"), Some(("default".into(), "incoming/a.mp4".into())));
        assert_eq!(local.locate("any", "incoming/a.mp4"), None);
        assert_eq!(local.locate("any", "tenants/default/../x"), None);
        assert_eq!(local.locate("any", "tenants/Bad!/x"), None);
        let s3 = ObjectStorage::open_with("s3://media/deploy", &dir.join("dl"), &[("AWS_REGION", "us-east-1")]).unwrap();
        assert_eq!(s3.locate("media", "deploy/tenants/acme/in/a.mp4"), Some(("acme".into(), "in/a.mp4".into())));
        assert_eq!(s3.locate("other", "deploy/tenants/acme/in/a.mp4"), None, "another bucket");
        assert_eq!(s3.locate("media", "tenants/acme/in/a.mp4"), None, "outside the prefix");
        assert_eq!(s3.locate("media", "deployx/tenants/acme/in/a.mp4"), None);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn keys_with_path_tricks_are_refused() {
        for bad in ["", "/abs", "a//b", "a/../b", "..", "./a", "a/", "a\\b", "a\nb", "a/."] {
            assert!(validate_key(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["a", "videos/x.mp4", "jobs/j1/clips/00001/img_00000.jpg", "a..b"] {
            assert!(validate_key(good).is_ok(), "{good:?} refused");
        }
        assert!(validate_key(&"k".repeat(MAX_KEY_LEN + 1)).is_err());
        assert!(validate_tenant("acme-1").is_ok());
        assert!(validate_tenant("../x").is_err());
        assert!(validate_tenant("").is_err());
    }

    fn temp_store() -> (Arc<ObjectStorage>, PathBuf) {
        let dir = std::env::temp_dir().join(format!("frameflow-store-test-{}-{}", std::process::id(), rand_suffix()));
        let storage = ObjectStorage::open(&format!("file://{}", dir.display()), &dir.join(".downloads")).unwrap();
        (Arc::new(storage), dir)
    }

    fn rand_suffix() -> u128 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    }

    #[tokio::test]
    async fn tenants_cannot_see_each_other() {
        let (storage, dir) = temp_store();
        let a = storage.tenant("a").unwrap();
        let b = storage.tenant("b").unwrap();
        a.put("x/1", Bytes::from_static(b"one"), WriteMode::Overwrite).await.unwrap();
        assert!(matches!(b.get("x/1").await, Err(StoreError::NotFound(k)) if k == "x/1"));
        assert!(b.list("", None, 100).await.unwrap().objects.is_empty());
        assert_eq!(&a.get("x/1").await.unwrap()[..], b"one");
        assert!(dir.join("tenants/a/x/1").is_file());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn conditional_puts_and_pages() {
        let (storage, dir) = temp_store();
        let t = storage.tenant("t").unwrap();
        let first = t.put("lease", Bytes::from_static(b"1"), WriteMode::Create).await.unwrap();
        assert!(matches!(t.put("lease", Bytes::from_static(b"2"), WriteMode::Create).await, Err(StoreError::PreconditionFailed(k)) if k == "lease"));
        let etag = first.etag.clone().expect("local store gives etags");
        t.put("lease", Bytes::from_static(b"3"), WriteMode::IfMatch(etag.clone())).await.unwrap();
        assert!(matches!(t.put("lease", Bytes::from_static(b"4"), WriteMode::IfMatch(etag)).await, Err(StoreError::PreconditionFailed(k)) if k == "lease"));
        assert_eq!(&t.get("lease").await.unwrap()[..], b"3");

        for i in 0..5 {
            t.put(&format!("p/{i}"), Bytes::from(vec![i as u8]), WriteMode::Overwrite).await.unwrap();
        }
        let page = t.list("p/", None, 2).await.unwrap();
        let keys: Vec<_> = page.objects.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["p/0", "p/1"]);
        let page = t.list("p/", page.next_start_after.as_deref(), 10).await.unwrap();
        let keys: Vec<_> = page.objects.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["p/2", "p/3", "p/4"]);
        assert_eq!(page.next_start_after, None);
        t.delete("p/3").await.unwrap();
        t.delete("p/3").await.unwrap();
        assert_eq!(t.list("p/", None, 10).await.unwrap().objects.len(), 4);

        let mut up = t.upload("big", 10).unwrap();
        up.write(b"12345").await.unwrap();
        assert!(matches!(up.write(b"678901").await, Err(StoreError::TooLarge(_))));
        drop(up);
        let mut up = t.upload("big", 10).unwrap();
        up.write(b"12345").await.unwrap();
        assert_eq!(up.finish().await.unwrap().size, 5);
        assert_eq!(t.local_path("big").await.unwrap(), dir.canonicalize().unwrap().join("tenants/t/big"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
