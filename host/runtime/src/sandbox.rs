//! The per-request sandbox: the data of one wasmtime `Store` and the limits it runs under.
//!
//! Every request gets a fresh [`Sandbox`]: its own WASI context (no files, no sockets, no
//! environment), a memory cap enforced by [`wasmtime::StoreLimits`], an epoch deadline set
//! by the caller, and a [`Budget`] that caps the host resources (videos, frames, uploads)
//! the guest can hold. Outgoing HTTP is refused. When the sandbox is dropped (the request
//! answered, timed out or was abandoned by its client), its [`Cancel`] flag stops any
//! host work still running for it at the next decoded picture.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use frameflow_store::TenantStore;
use wasmtime::component::ResourceTable;
use wasmtime::StoreLimitsBuilder;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::admission::{Admission, MemoryPermit, Refusal};
use crate::bindings::frameflow::media::types::MediaError;
use crate::guest_error::Limiter;
use crate::sampler_host::SamplerRegistry;
use crate::video_pool::VideoPool;

/// What one request may use. The defaults suit the frames API on a small machine.
#[derive(Clone, Debug)]
pub struct SandboxLimits {
    /// Linear memory of the component instance, all memories together.
    pub memory_bytes: usize,
    /// Wall-clock time the guest may run before it is interrupted.
    pub deadline: Duration,
    /// Open `video` resources at once.
    pub max_videos: usize,
    /// Live `frame` resources at once.
    pub max_frames: usize,
    /// Decoded RGB bytes held by live frames.
    pub max_frame_bytes: usize,
    /// Frames in one batch call.
    pub max_batch: usize,
    /// Bytes one upload may write (the API's upload size limit; the server's default too).
    pub upload_bytes: u64,
    /// Largest rendered output side, pixels (width and height each).
    pub max_output_side: u32,
    /// Largest frame optical flow is computed on, pixels (width × height).
    pub max_flow_pixels: u64,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            memory_bytes: 256 << 20,
            deadline: Duration::from_secs(30),
            max_videos: 8,
            max_frames: 256,
            max_frame_bytes: 1 << 30,
            max_batch: 256,
            upload_bytes: 2 << 30,
            max_output_side: 8192,
            max_flow_pixels: 4096 * 2160,
        }
    }
}

/// Host resources held by the guest right now, checked against [`SandboxLimits`].
#[derive(Default, Debug)]
pub(crate) struct Budget {
    pub videos: usize,
    pub frames: usize,
    pub frame_bytes: usize,
    pub uploads: usize,
}

/// Set when the work it belongs to is abandoned; host work polls it between pictures.
#[derive(Clone, Default, Debug)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    /// The flag itself, for the media core's interrupt check.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

/// The data of one request's `Store`.
pub(crate) struct Sandbox {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: DenyOutgoing,
    pub table: ResourceTable,
    pub limiter: Limiter,
    pub limits: SandboxLimits,
    pub budget: Budget,
    pub tenant: TenantStore,
    pub videos: Arc<VideoPool>,
    pub samplers: Arc<SamplerRegistry>,
    pub admission: Arc<Admission>,
    /// When the guest's time is up: host calls waiting in line give up then.
    pub deadline_at: Instant,
    pub cancel: Cancel,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// What a sandbox shares with the rest of the runtime.
#[derive(Clone)]
pub(crate) struct SandboxShared {
    pub videos: Arc<VideoPool>,
    pub samplers: Arc<SamplerRegistry>,
    pub admission: Arc<Admission>,
}

impl Sandbox {
    pub fn new(tenant: TenantStore, shared: SandboxShared, limits: SandboxLimits, deadline_at: Instant) -> Sandbox {
        let wasi = WasiCtx::builder()
            .inherit_stderr()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let limiter = Limiter::new(StoreLimitsBuilder::new()
            .memory_size(limits.memory_bytes)
            .instances(64)
            .tables(64)
            .memories(16)
            .trap_on_grow_failure(true)
            .build());
        Sandbox {
            wasi,
            http: WasiHttpCtx::new(),
            hooks: DenyOutgoing,
            table: ResourceTable::new(),
            limiter,
            limits,
            budget: Budget::default(),
            tenant,
            videos: shared.videos,
            samplers: shared.samplers,
            admission: shared.admission,
            deadline_at,
            cancel: Cancel::default(),
        }
    }

    /// Reserves media memory for `what`, waiting in line until this request's deadline.
    /// (The future borrows nothing from the sandbox, which is not `Sync`.)
    pub fn reserve_memory(&self, what: &str, bytes: u64) -> impl Future<Output = Result<MemoryPermit, MediaError>> + Send + 'static {
        let (admission, until, what) = (self.admission.clone(), self.deadline_at, what.to_string());
        async move {
            admission.memory(&what, bytes, until).await.map_err(|r| match r {
                Refusal::Busy(m) => MediaError::Busy(m),
                Refusal::TooLarge(m) => MediaError::TooLarge(m),
            })
        }
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
