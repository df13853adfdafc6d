//! [`Sandbox`]: the data of one HTTP handler's or job step's `Store`, and [`Sandboxes`],
//! the one place such a store is made and its imports are linked.
//!
//! A sandbox holds its own WASI context (no files, no sockets, no environment; outgoing
//! HTTP is refused), the run's [`RequestCtx`] (limits, budget, tenant, deadline, cancel
//! flag) and each capability's context; it hands every capability a [`HostView`] of its
//! own. When the sandbox is dropped (the request answered, timed out or abandoned by its
//! client), its cancel flag stops any host work still running for it at the next decoded
//! picture.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use frameflow_store::TenantStore;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::admission::{Admission, Refusal};
use crate::bindings::frameflow::jobs::plans;
use crate::bindings::frameflow::media::{flow, types as media_types, video};
use crate::bindings::frameflow::sampler::{samplers as sampler_host, types as sampler_types};
use crate::bindings::frameflow::components::uploads;
use crate::bindings::frameflow::store::objects;
use crate::flow::FlowCtx;
use crate::guest_error::{GuestError, Limiter};
use crate::task::AbortOnDrop;
use crate::limits::{limiter, sandboxed_store, Budget, Confined, SandboxLimits};
use crate::media::{MediaCtx, MediaRoot};
use crate::plans::PlansCtx;
use crate::request::{Cancel, HasCapability, HostView, RequestCtx};
use crate::samplers::{SamplerRegistry, SamplersCtx};
use crate::store::StoreCtx;
use crate::uploads::{Checker, UploadsCtx};
use crate::video_pool::VideoPool;

/// The data of one run's `Store`.
pub(crate) struct Sandbox {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: DenyOutgoing,
    table: ResourceTable,
    limiter: Limiter,
    req: RequestCtx,
    media: MediaCtx,
    samplers: SamplersCtx,
    uploads: UploadsCtx,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.req.cancel.cancel();
    }
}

impl Confined for Sandbox {
    fn limiter(&mut self) -> &mut Limiter {
        &mut self.limiter
    }
}

impl Sandbox {
    /// Whether the guest asked for more memory than its limit (an out-of-memory trap).
    pub fn memory_refused(&self) -> bool {
        self.limiter.memory_refused
    }

    fn view<'a, C>(ctx: &'a C, req: &'a mut RequestCtx, table: &'a mut ResourceTable) -> HostView<'a, C> {
        HostView { ctx, req, table }
    }
    fn media(&mut self) -> HostView<'_, MediaCtx> {
        Self::view(&self.media, &mut self.req, &mut self.table)
    }
    fn flow(&mut self) -> HostView<'_, FlowCtx> {
        Self::view(&FlowCtx, &mut self.req, &mut self.table)
    }
    fn plans(&mut self) -> HostView<'_, PlansCtx> {
        Self::view(&PlansCtx, &mut self.req, &mut self.table)
    }
    fn store(&mut self) -> HostView<'_, StoreCtx> {
        Self::view(&StoreCtx, &mut self.req, &mut self.table)
    }
    fn samplers(&mut self) -> HostView<'_, SamplersCtx> {
        Self::view(&self.samplers, &mut self.req, &mut self.table)
    }
    fn uploads(&mut self) -> HostView<'_, UploadsCtx> {
        Self::view(&self.uploads, &mut self.req, &mut self.table)
    }
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for Sandbox {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

/// Links everything a handler or job component may import: WASI, `wasi:http` types and
/// frameflow's capabilities, each on its own view.
pub(crate) fn linker(engine: &Engine) -> anyhow::Result<Linker<Sandbox>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    media_types::add_to_linker::<_, HasCapability<MediaCtx>>(&mut linker, Sandbox::media)?;
    video::add_to_linker::<_, HasCapability<MediaCtx>>(&mut linker, Sandbox::media)?;
    flow::add_to_linker::<_, HasCapability<FlowCtx>>(&mut linker, Sandbox::flow)?;
    plans::add_to_linker::<_, HasCapability<PlansCtx>>(&mut linker, Sandbox::plans)?;
    objects::add_to_linker::<_, HasCapability<StoreCtx>>(&mut linker, Sandbox::store)?;
    sampler_types::add_to_linker::<_, HasCapability<SamplersCtx>>(&mut linker, Sandbox::samplers)?;
    sampler_host::add_to_linker::<_, HasCapability<SamplersCtx>>(&mut linker, Sandbox::samplers)?;
    uploads::add_to_linker::<_, HasCapability<UploadsCtx>>(&mut linker, Sandbox::uploads)?;
    Ok(linker)
}

/// Makes the sandboxed stores of handlers and job steps: what they share with the rest of
/// the process, and the limits each one gets.
pub(crate) struct Sandboxes {
    pub engine: Engine,
    pub videos: Arc<VideoPool>,
    pub media_root: Arc<MediaRoot>,
    /// Encode slots (clips, previews), shared by every request.
    pub encodes: Arc<tokio::sync::Semaphore>,
    pub samplers: Arc<SamplerRegistry>,
    /// The check of tenants' uploads.
    pub uploads: Arc<Checker>,
    pub admission: Arc<Admission>,
    pub limits: SandboxLimits,
    /// How long a request waits in line for an instance slot.
    pub queue_wait: Duration,
}

impl Sandboxes {
    /// A slot to run one component instance, waiting in line at most `wait`.
    pub async fn admit(&self, wait: Duration) -> Result<tokio::sync::OwnedSemaphorePermit, Refusal> {
        self.admission.instance(wait).await
    }

    /// Runs one export call (`call`, given the fresh store to instantiate in) for `tenant`
    /// as component `name`: an instance slot waited for at most `wait`, the guest stopped
    /// at `deadline`, and a host call still running then (decoding a chunk) cancelled by
    /// dropping its store. A guest that gave no answer is a [`GuestError`].
    pub async fn run<T: Send + 'static>(
        &self,
        name: &str,
        tenant: TenantStore,
        wait: Duration,
        deadline: Duration,
        call: impl for<'s> FnOnce(&'s mut Store<Sandbox>) -> Pin<Box<dyn Future<Output = wasmtime::Result<T>> + Send + 's>> + Send + 'static,
    ) -> Result<T, GuestError> {
        let component = || name.to_string();
        let permit = self.admit(wait).await.map_err(|r| GuestError::Busy { component: component(), reason: r.to_string() })?;
        let deadline_at = Instant::now() + deadline;
        let mut store = self.store(tenant, deadline_at);
        let task = AbortOnDrop::new(tokio::spawn(async move {
            let _permit = permit;
            let ran = call(&mut store).await;
            (ran, store.data().memory_refused())
        }));
        let grace = Duration::from_millis(500);
        let ran = tokio::time::timeout_at((deadline_at + grace).into(), task)
            .await
            .map_err(|_| GuestError::Timeout { component: component(), deadline })?;
        match ran {
            Ok((Ok(value), _)) => Ok(value),
            Ok((Err(e), memory_refused)) => Err(GuestError::classify(name, e, memory_refused, self.limits.memory_bytes, deadline)),
            Err(join) => Err(GuestError::Failed { component: component(), reason: format!("crashed: {join}") }),
        }
    }

    /// A fresh store for one run on behalf of `tenant`, stopped at `deadline_at`.
    pub fn store(&self, tenant: TenantStore, deadline_at: Instant) -> Store<Sandbox> {
        let wasi = WasiCtx::builder().inherit_stderr().allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false).build();
        let sandbox = Sandbox {
            wasi,
            http: WasiHttpCtx::new(),
            hooks: DenyOutgoing,
            table: ResourceTable::new(),
            limiter: limiter(self.limits.memory_bytes),
            req: RequestCtx {
                limits: self.limits.clone(),
                budget: Budget::default(),
                tenant,
                admission: self.admission.clone(),
                deadline_at,
                cancel: Cancel::default(),
            },
            media: MediaCtx { videos: self.videos.clone(), media_root: self.media_root.clone(), encodes: self.encodes.clone() },
            samplers: SamplersCtx { registry: self.samplers.clone() },
            uploads: UploadsCtx { checker: self.uploads.clone() },
        };
        sandboxed_store(&self.engine, sandbox, deadline_at)
    }
}

/// Components get no network: `wasi:http/outgoing-handler` always answers "denied".
struct DenyOutgoing;

impl WasiHttpHooks for DenyOutgoing {
    fn send_request(
        &mut self,
        _request: hyper::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    hyper::Response<wasmtime_wasi_http::WasiBody>,
                    Box<dyn Future<Output = wasmtime_wasi_http::Result<(), wasmtime_wasi_http::Error>> + Send>,
                )>,
            > + Send,
    > {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}
