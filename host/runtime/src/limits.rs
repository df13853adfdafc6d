//! What a component may use, and the one place a sandboxed store is built.
//!
//! [`SandboxLimits`] are the per-request limits of HTTP handlers and job steps; [`Budget`]
//! counts the host resources a guest holds against them. [`sandboxed_store`] builds the
//! `Store` of every component kind (handler, job step, sampler): a memory limit through a
//! [`Limiter`] and an epoch deadline that interrupts the guest when its time is up.

use std::time::{Duration, Instant};

use wasmtime::{Engine, ResourceLimiter, Store, StoreLimitsBuilder, UpdateDeadline};

use crate::guest_error::Limiter;

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
    /// Most frames one re-encoded clip or preview may hold.
    pub max_clip_frames: u64,
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
            // A minute at 30 fps: clips are previews and review cuts, encoded per request.
            max_clip_frames: 1800,
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

/// The data of a sandboxed store: it carries the store's [`Limiter`].
pub(crate) trait Confined: Send + 'static {
    fn limiter(&mut self) -> &mut Limiter;
}

/// A [`Limiter`] allowing `memory_bytes` of linear memory in all.
pub(crate) fn limiter(memory_bytes: usize) -> Limiter {
    Limiter::new(
        StoreLimitsBuilder::new()
            .memory_size(memory_bytes)
            .instances(64)
            .tables(64)
            .memories(16)
            .trap_on_grow_failure(true)
            .build(),
    )
}

/// A store for one component run: its data's memory limit enforced, and the guest
/// interrupted at `deadline_at` (checked at every epoch tick, yielding in between so a busy
/// guest cannot hold a reactor thread for its whole deadline).
pub(crate) fn sandboxed_store<T: Confined>(engine: &Engine, data: T, deadline_at: Instant) -> Store<T> {
    let mut store = Store::new(engine, data);
    store.limiter(|data| -> &mut dyn ResourceLimiter { data.limiter() });
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| Ok(if Instant::now() >= deadline_at { UpdateDeadline::Interrupt } else { UpdateDeadline::Yield(1) }));
    store
}
