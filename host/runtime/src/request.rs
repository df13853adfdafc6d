//! [`RequestCtx`]: what every host capability of one component run shares — its limits and
//! budget, its tenant's store, its deadline and cancel flag, the process's admission queues —
//! and [`HostView`], the borrowed view a capability's host functions run on (in the manner
//! of wasmtime's `WasiCtxView`): the capability's own context, the shared request state
//! and the resource table.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use frameflow_media::RenderOptions;
use frameflow_store::TenantStore;
use wasmtime::component::{HasData, ResourceTable};

use crate::admission::{Admission, MemoryPermit};
use crate::bindings::frameflow::media::types::MediaError;
use crate::limits::{Budget, SandboxLimits};

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

/// The state one component run's host calls share.
pub(crate) struct RequestCtx {
    pub limits: SandboxLimits,
    pub budget: Budget,
    pub tenant: TenantStore,
    pub admission: Arc<Admission>,
    /// When the guest's time is up: host calls waiting in line give up then.
    pub deadline_at: Instant,
    pub cancel: Cancel,
}

impl RequestCtx {
    /// Reserves media memory for `what`, waiting in line until this run's deadline.
    /// (The future borrows nothing from the request, which is not `Sync`.)
    pub fn reserve_memory(&self, what: &str, bytes: u64) -> impl Future<Output = Result<MemoryPermit, MediaError>> + Send + 'static {
        let (admission, until, what) = (self.admission.clone(), self.deadline_at, what.to_string());
        async move { admission.memory(&what, bytes, until).await.map_err(MediaError::from) }
    }

    /// Refuses a decode that would take the request over its frame budget, before any
    /// memory is spent on it.
    pub fn check_frame_budget(&self, count: usize, bytes: usize) -> Result<(), MediaError> {
        let (budget, limits) = (&self.budget, &self.limits);
        if budget.frames + count > limits.max_frames || budget.frame_bytes + bytes > limits.max_frame_bytes {
            return Err(MediaError::Busy(format!(
                "{count} more frames ({} MiB) would go over this request's budget of {} frames / {} MiB; it holds {} ({} MiB)",
                bytes >> 20,
                limits.max_frames,
                limits.max_frame_bytes >> 20,
                budget.frames,
                budget.frame_bytes >> 20
            )));
        }
        Ok(())
    }

    /// Checks a render request against the video and this host's limits before anything
    /// is spent on it: a bad crop is a 400 however big it is, an output over the size
    /// limit a 413. Returns the output size.
    pub fn check_render(&self, options: &RenderOptions, display: (u32, u32)) -> Result<(u32, u32), MediaError> {
        options.validate(display.0, display.1).map_err(|e| MediaError::Invalid(e.to_string()))?;
        let (w, h) = options.output_size(display.0, display.1);
        let max = self.limits.max_output_side;
        if w > max || h > max {
            return Err(MediaError::TooLarge(format!("the output would be {w}x{h}; this host renders at most {max}x{max}")));
        }
        Ok((w, h))
    }

    /// Refuses optical flow on frames over this host's flow size limit (413), before
    /// anything is decoded or computed: one check for single flows and plan chunks.
    pub fn check_flow_size(&self, w: u32, h: u32) -> Result<(), MediaError> {
        let max = self.limits.max_flow_pixels;
        if w as u64 * h as u64 > max {
            return Err(MediaError::TooLarge(format!(
                "optical flow on {w}x{h} frames is over this host's limit of {:.1} megapixels; ask for smaller frames (width/height)",
                max as f64 / 1e6
            )));
        }
        Ok(())
    }
}

/// What a capability's host functions see: its own context `C`, the run's shared state,
/// and the resource table its handles live in.
pub(crate) struct HostView<'a, C> {
    pub ctx: &'a C,
    pub req: &'a mut RequestCtx,
    pub table: &'a mut ResourceTable,
}

/// The `HasData` marker that links a capability's interfaces with a [`HostView`] of `C`.
pub(crate) struct HasCapability<C>(PhantomData<C>);

impl<C: Send + Sync + 'static> HasData for HasCapability<C> {
    type Data<'a> = HostView<'a, C>;
}
