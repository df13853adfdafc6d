//! The host side of `frameflow:media/flow`: optical flow between two frames the guest
//! holds, on a [`HostView`] of [`FlowCtx`].
//!
//! Flow is the heaviest thing a request can ask for, so it runs on a bounded pool: at most
//! [`FLOW_WORKERS`] computations at once across all requests, each on a blocking thread
//! (OpenCV parallelises inside one computation with its own threads), never on the reactor.
//! A flow field counts against the request's frame budget (8 bytes a pixel).

use std::sync::{Arc, OnceLock};

use frameflow_flow::{Algorithm, FlowEngine, GrayImage};
use wasmtime::component::Resource;

use crate::admission::estimate;
use crate::bindings::frameflow::media::flow::{Algorithm as WitAlgorithm, FlowEncoding, Host, HostFlowField};
use crate::bindings::frameflow::media::types::MediaError;
use crate::bindings::MediaFailure;
use crate::blocking::blocking;
use crate::handles::{FlowHandle, FrameHandle};
use crate::request::HostView;

/// Flow computations at once, process-wide: the machine's cores.
pub static FLOW_WORKERS: OnceLock<usize> = OnceLock::new();

/// The process-wide flow slots (single flows and plan chunks with flow take one each).
pub(crate) fn flow_slots() -> &'static Arc<tokio::sync::Semaphore> {
    static SLOTS: OnceLock<Arc<tokio::sync::Semaphore>> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let n = *FLOW_WORKERS.get_or_init(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        Arc::new(tokio::sync::Semaphore::new(n))
    })
}

/// `frameflow:media/flow` needs nothing beyond the request: the flow slots are process-wide.
pub(crate) struct FlowCtx;

type FlowView<'a> = HostView<'a, FlowCtx>;
type MediaResult<T> = Result<T, MediaFailure>;

impl Host for FlowView<'_> {}

impl HostFlowField for FlowView<'_> {
    async fn compute(&mut self, prev: Resource<FrameHandle>, next: Resource<FrameHandle>, algo: WitAlgorithm) -> MediaResult<Resource<FlowHandle>> {
        let a = self.table.get(&prev)?.frame.clone();
        let b = self.table.get(&next)?.frame.clone();
        let (w, h) = (a.image.width, a.image.height);
        if (w, h) != (b.image.width, b.image.height) {
            return Err(MediaError::Invalid(format!("flow needs frames of one size: {w}x{h} and {}x{}", b.image.width, b.image.height)).into());
        }
        self.req.check_flow_size(w, h)?;
        self.req.check_frame_budget(1, (w as usize) * (h as usize) * 8)?;
        let algorithm = Algorithm::from(algo);
        let mut memory = self.req.reserve_memory("optical flow", estimate::flow(w, h, algorithm) + estimate::flow_field(w, h)).await?;
        let field_memory = memory.split(estimate::flow_field(w, h));
        let _slot = flow_slots().clone().acquire_owned().await.map_err(wasmtime::Error::from)?;
        let computed = blocking(move || {
            let _working = memory;
            let prev = GrayImage::from_rgb(&a.image.data, w, h)?;
            let next = GrayImage::from_rgb(&b.image.data, w, h)?;
            FlowEngine::new(algorithm).compute(&prev, &next)
        })
        .await?;
        let field = computed.map_err(|e| MediaError::Internal(format!("optical flow failed: {e}")))?;
        let handle = FlowHandle { field: Arc::new(field), _memory: field_memory };
        self.req.budget.frames += 1;
        self.req.budget.frame_bytes += handle.bytes();
        Ok(self.table.push(handle)?)
    }

    async fn width(&mut self, flow: Resource<FlowHandle>) -> wasmtime::Result<u32> {
        Ok(self.table.get(&flow)?.field.width)
    }

    async fn height(&mut self, flow: Resource<FlowHandle>) -> wasmtime::Result<u32> {
        Ok(self.table.get(&flow)?.field.height)
    }

    async fn encode(&mut self, flow: Resource<FlowHandle>, encoding: FlowEncoding, bound: f32) -> MediaResult<Vec<u8>> {
        let field = self.table.get(&flow)?.field.clone();
        let encoded = blocking(move || match encoding {
            FlowEncoding::JpegX => field.to_jpeg_plane(bound, true),
            FlowEncoding::JpegY => field.to_jpeg_plane(bound, false),
            FlowEncoding::Flo => Ok(field.to_flo()),
            FlowEncoding::Color => field.to_color_png(),
        })
        .await?;
        Ok(encoded.map_err(|e| match e {
            frameflow_flow::FlowError::BadBound(_) => MediaError::Invalid(e.to_string()),
            other => MediaError::Internal(other.to_string()),
        })?)
    }

    async fn drop(&mut self, flow: Resource<FlowHandle>) -> wasmtime::Result<()> {
        let handle = self.table.delete(flow)?;
        self.req.budget.frames -= 1;
        self.req.budget.frame_bytes = self.req.budget.frame_bytes.saturating_sub(handle.bytes());
        Ok(())
    }
}
