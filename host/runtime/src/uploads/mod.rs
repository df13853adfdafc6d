//! Tenant components — samplers, object-event handlers and analyzers — uploaded, checked and kept in
//! the tenant's store: the host side of `frameflow:components/uploads`, on a [`HostView`]
//! of [`UploadsCtx`], and the lookup the samplers capability runs them from. One upload
//! path and one check ([`check`]) for every kind.
//!
//! ```text
//! {folder}/{name}.json                 the pointer: {name, sha256, size, uploaded_ms}
//! {folder}/blobs/{name}-{sha256}.wasm  the component's bytes
//! ```
//! (`folder` is `samplers`, `event-handlers` or `analyzers`.) The bytes go first, then the pointer in
//! one write: a reader sees the old component or the new one, whole, and the last upload
//! of a name wins. Blobs no pointer names are removed a minute after they were replaced, so
//! a reader that has just read an older pointer still finds its bytes.

mod check;

use std::sync::Arc;

use bytes::Bytes;
use frameflow_store::{StoreError, TenantStore, WriteMode};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::bindings::frameflow::components::uploads::{ComponentInfo, Host, Kind, UploadError};
use crate::bindings::UploadFailure;
use crate::blocking::blocking;
use crate::request::HostView;
use crate::samplers::valid_sampler_name;

pub(crate) use check::Checker;
pub use check::{kind_name, CheckError, ComponentKind};

/// Replaced blobs are kept this long for readers of the pointer they replaced.
const BLOB_GRACE_MS: u64 = 60_000;

pub(crate) struct UploadsCtx {
    pub checker: Arc<Checker>,
}

/// What `{folder}/{name}.json` holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Pointer {
    name: String,
    sha256: String,
    size: u64,
    uploaded_ms: u64,
}

impl Pointer {
    fn blob_key(&self, kind: ComponentKind) -> String {
        format!("{}/blobs/{}-{}.wasm", kind.folder(), self.name, self.sha256)
    }
}

fn pointer_key(kind: ComponentKind, name: &str) -> String {
    format!("{}/{name}.json", kind.folder())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

async fn pointer(tenant: &TenantStore, kind: ComponentKind, name: &str) -> Result<Option<Pointer>, StoreError> {
    match tenant.get(&pointer_key(kind, name)).await {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The bytes of the tenant's component `name` of `kind`, if it uploaded one.
pub(crate) async fn load(tenant: &TenantStore, kind: ComponentKind, name: &str) -> Result<Option<Bytes>, StoreError> {
    let Some(pointer) = pointer(tenant, kind, name).await? else { return Ok(None) };
    match tenant.get(&pointer.blob_key(kind)).await {
        Ok(bytes) => Ok(Some(bytes)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The names of the tenant's uploads of `kind` (a listing: no pointer is read), sorted.
pub(crate) async fn names(tenant: &TenantStore, kind: ComponentKind) -> Result<Vec<String>, StoreError> {
    let folder = format!("{}/", kind.folder());
    let mut names = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = tenant.list(&folder, after.as_deref(), 1000).await?;
        let pointers = page.objects.iter().filter_map(|m| m.key.strip_prefix(&folder)?.strip_suffix(".json"));
        names.extend(pointers.filter(|name| !name.contains('/')).map(str::to_string));
        match page.next_start_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    names.sort();
    Ok(names)
}

/// The tenant's uploads of `kind`, by name.
async fn uploaded(tenant: &TenantStore, kind: ComponentKind) -> Result<Vec<Pointer>, StoreError> {
    let mut pointers = Vec::new();
    for name in names(tenant, kind).await? {
        pointers.extend(pointer(tenant, kind, &name).await?);
    }
    Ok(pointers)
}

/// Removes `name`'s blobs other than `keep` that were replaced over a minute ago.
async fn sweep_blobs(tenant: &TenantStore, kind: ComponentKind, name: &str, keep: Option<&str>) -> Result<(), StoreError> {
    let page = tenant.list(&format!("{}/blobs/{name}-", kind.folder()), None, 1000).await?;
    let cutoff = now_ms().saturating_sub(BLOB_GRACE_MS);
    for meta in page.objects {
        if Some(meta.key.as_str()) != keep && meta.last_modified_ms < cutoff {
            tenant.delete(&meta.key).await?;
        }
    }
    Ok(())
}

fn info(kind: Kind, p: &Pointer) -> ComponentInfo {
    ComponentInfo { kind, name: p.name.clone(), builtin: false, size: p.size, sha256: p.sha256.clone(), uploaded_ms: p.uploaded_ms }
}

fn builtin_info(kind: Kind, name: String) -> ComponentInfo {
    ComponentInfo { kind, name, builtin: true, size: 0, sha256: String::new(), uploaded_ms: 0 }
}

fn host_kind(kind: Kind) -> ComponentKind {
    match kind {
        Kind::Sampler => ComponentKind::Sampler,
        Kind::EventHandler => ComponentKind::EventHandler,
        Kind::Analyzer => ComponentKind::Analyzer,
    }
}

impl From<CheckError> for UploadError {
    fn from(e: CheckError) -> UploadError {
        match e {
            CheckError::TooLarge { limit, .. } => UploadError::TooLarge(limit),
            CheckError::NotAComponent(m) => UploadError::NotAComponent(m),
            CheckError::WrongWorld(m) => UploadError::WrongWorld(m),
            CheckError::ForbiddenImports { imports, .. } => UploadError::ForbiddenImports(imports),
            e @ CheckError::DoesNotCompile(_) => UploadError::DoesNotCompile(e.to_string()),
        }
    }
}

type UploadsView<'a> = HostView<'a, UploadsCtx>;

impl UploadsView<'_> {
    fn builtins(&self, kind: Kind) -> Vec<String> {
        match kind {
            Kind::Sampler => self.ctx.checker.samplers.builtin_names(),
            // Event handlers bound in the manifest are the deployment's, not listed here.
            Kind::EventHandler => Vec::new(),
            Kind::Analyzer => self.ctx.checker.analyzers.builtin_names(),
        }
    }

    fn checked_name(&self, kind: Kind, name: &str) -> Result<(), UploadError> {
        if !valid_sampler_name(name) {
            return Err(UploadError::BadName(format!("'{name}' is not a name: 1-64 of lowercase letters, digits, '-' and '_'")));
        }
        if self.builtins(kind).iter().any(|b| b == name) {
            return Err(UploadError::Builtin(format!("'{name}' is built in; choose another name")));
        }
        Ok(())
    }
}

impl Host for UploadsView<'_> {
    fn convert_upload_error(&mut self, err: UploadFailure) -> wasmtime::Result<UploadError> {
        err.into_guest_error()
    }

    async fn install(&mut self, kind: Kind, name: String, component: Vec<u8>) -> Result<ComponentInfo, UploadFailure> {
        self.checked_name(kind, &name)?;
        let which = host_kind(kind);
        let checker = self.ctx.checker.clone();
        // Validation and compilation are CPU work: off the reactor.
        let (component, checked) = blocking(move || {
            let checked = checker.check(which, &component);
            (component, checked)
        })
        .await?;
        checked.map_err(UploadError::from)?;
        let sha256 = hex::encode(sha2::Sha256::digest(&component));
        let pointer = Pointer { name: name.clone(), sha256, size: component.len() as u64, uploaded_ms: now_ms() };
        let tenant = &self.req.tenant;
        tenant.put(&pointer.blob_key(which), Bytes::from(component), WriteMode::Overwrite).await?;
        let json = serde_json::to_vec(&pointer).expect("pointers serialize");
        tenant.put(&pointer_key(which, &name), Bytes::from(json), WriteMode::Overwrite).await?;
        let blob = pointer.blob_key(which);
        if let Err(e) = sweep_blobs(tenant, which, &name, Some(&blob)).await {
            tracing::warn!(component = %name, "old uploads were not removed: {e}");
        }
        tracing::info!(tenant = tenant.tenant_name(), kind = kind_name(which), component = %name, size = pointer.size, "component uploaded");
        Ok(info(kind, &pointer))
    }

    async fn describe(&mut self, kind: Kind, name: String) -> Result<Option<ComponentInfo>, UploadFailure> {
        if self.builtins(kind).contains(&name) {
            return Ok(Some(builtin_info(kind, name)));
        }
        if !valid_sampler_name(&name) {
            return Ok(None);
        }
        Ok(pointer(&self.req.tenant, host_kind(kind), &name).await?.map(|p| info(kind, &p)))
    }

    async fn installed(&mut self, kind: Kind) -> Result<Vec<ComponentInfo>, UploadFailure> {
        let mut all: Vec<ComponentInfo> = self.builtins(kind).into_iter().map(|n| builtin_info(kind, n)).collect();
        all.extend(uploaded(&self.req.tenant, host_kind(kind)).await?.iter().map(|p| info(kind, p)));
        Ok(all)
    }

    async fn remove(&mut self, kind: Kind, name: String) -> Result<bool, UploadFailure> {
        self.checked_name(kind, &name)?;
        let which = host_kind(kind);
        let tenant = &self.req.tenant;
        let Some(_) = pointer(tenant, which, &name).await? else { return Ok(false) };
        tenant.delete(&pointer_key(which, &name)).await?;
        if let Err(e) = sweep_blobs(tenant, which, &name, None).await {
            tracing::warn!(component = %name, "old uploads were not removed: {e}");
        }
        Ok(true)
    }
}

