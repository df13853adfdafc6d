//! The host side of `frameflow:media/flow`: optical flow between two frames the guest holds.
//!
//! Flow is the heaviest thing a request can ask for, so it runs on a bounded pool: at most
//! [`FLOW_WORKERS`] computations at once across all requests, each on a blocking thread
//! (OpenCV parallelises inside one computation with its own threads), never on the reactor.
//! A flow field counts against the request's frame budget (8 bytes a pixel).

use std::sync::{Arc, OnceLock};

use frameflow_flow::{Algorithm, FlowEngine, FlowField, GrayImage};
use wasmtime::component::Resource;

use crate::bindings::frameflow::media::flow::{Algorithm as WitAlgorithm, FlowEncoding, Host, HostFlowField};
use crate::bindings::frameflow::media::types::MediaError;
use crate::admission::{estimate, MemoryPermit};
use crate::blocking::blocking;
use crate::media_host::FrameHandle;
use crate::sandbox::Sandbox;

/// Flow computations at once, process-wide: the machine's cores.
pub static FLOW_WORKERS: OnceLock<usize> = OnceLock::new();

pub(crate) fn flow_slots() -> &'static Arc<tokio::sync::Semaphore> {
    static SLOTS: OnceLock<Arc<tokio::sync::Semaphore>> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let n = *FLOW_WORKERS.get_or_init(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        Arc::new(tokio::sync::Semaphore::new(n))
    })
}

/// A guest's `flow-field`, holding its share of the media-memory pool while it lives.
pub struct FlowHandle {
    field: Arc<FlowField>,
    _memory: MemoryPermit,
}

type MediaResult<T> = wasmtime::Result<Result<T, MediaError>>;

pub(crate) fn algorithm(a: WitAlgorithm) -> Algorithm {
    match a {
        WitAlgorithm::Farneback => Algorithm::Farneback,
        WitAlgorithm::DisUltrafast => Algorithm::DisUltrafast,
        WitAlgorithm::DisFast => Algorithm::DisFast,
        WitAlgorithm::DisMedium => Algorithm::DisMedium,
        WitAlgorithm::Tvl1 => Algorithm::Tvl1,
    }
}

fn field_bytes(f: &FlowField) -> usize {
    f.data.len() * std::mem::size_of::<f32>()
}

impl Host for Sandbox {}

impl HostFlowField for Sandbox {
    async fn compute(&mut self, prev: Resource<FrameHandle>, next: Resource<FrameHandle>, algo: WitAlgorithm) -> MediaResult<Resource<FlowHandle>> {
        let a = self.table.get(&prev)?.frame.clone();
        let b = self.table.get(&next)?.frame.clone();
        let (w, h) = (a.image.width, a.image.height);
        if (w, h) != (b.image.width, b.image.height) {
            return Ok(Err(MediaError::Invalid(format!(
                "flow needs frames of one size: {w}x{h} and {}x{}",
                b.image.width, b.image.height
            ))));
        }
        if let Err(e) = self.check_flow_size(w, h) {
            return Ok(Err(e));
        }
        if let Err(e) = self.check_frame_budget(1, (w as usize) * (h as usize) * 8) {
            return Ok(Err(e));
        }
        let algorithm = algorithm(algo);
        let mut memory = match self.reserve_memory("optical flow", estimate::flow(w, h, algorithm) + estimate::flow_field(w, h)).await {
            Ok(m) => m,
            Err(e) => return Ok(Err(e)),
        };
        let field_memory = memory.split(estimate::flow_field(w, h));
        let _slot = flow_slots().clone().acquire_owned().await?;
        let computed = blocking(move || {
            let _working = memory;
            let prev = GrayImage::from_rgb(&a.image.data, w, h)?;
            let next = GrayImage::from_rgb(&b.image.data, w, h)?;
            FlowEngine::new(algorithm).compute(&prev, &next)
        })
        .await?;
        let field = match computed {
            Ok(f) => f,
            Err(e) => return Ok(Err(MediaError::Internal(format!("optical flow failed: {e}")))),
        };
        self.budget.frames += 1;
        self.budget.frame_bytes += field_bytes(&field);
        Ok(Ok(self.table.push(FlowHandle { field: Arc::new(field), _memory: field_memory })?))
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
        }))
    }

    async fn drop(&mut self, flow: Resource<FlowHandle>) -> wasmtime::Result<()> {
        let handle = self.table.delete(flow)?;
        self.budget.frames -= 1;
        self.budget.frame_bytes = self.budget.frame_bytes.saturating_sub(field_bytes(&handle.field));
        Ok(())
    }
}
