//! [`Admission`]: what a piece of work may take from the process before it starts.
//!
//! Two shared, first-come-first-served queues (tokio semaphores are fair):
//! - **instance slots**: every component instance that runs on behalf of a request or a
//!   job step (HTTP handlers, job workers) takes one slot for its whole life. A sampler
//!   runs nested inside the instance that called it and uses that caller's slot; the
//!   instance pool is sized for one nested instance per slot, so planning can never take
//!   instances that frame requests need.
//! - **media memory**: decoding, rendering and optical flow reserve their estimated working
//!   memory (and the decoded frames they hand out hold their share until dropped). A
//!   request that would need more than the whole pool is refused at once; otherwise it waits
//!   in line until its deadline.
//!
//! Estimates are deliberately generous: they decide who waits, not who crashes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Memory is reserved in units of this many bytes.
const UNIT: u64 = 64 << 10;

/// Why work was not admitted.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Everything is in use; try again shortly (503 with `Retry-After`).
    Busy(String),
    /// The work alone needs more than this host ever grants (413).
    TooLarge(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Busy(m) | Refusal::TooLarge(m) => f.write_str(m),
        }
    }
}

/// The process-wide queues. One per [`crate::Runtime`].
pub struct Admission {
    instances: Arc<Semaphore>,
    max_instances: u32,
    memory: Arc<Semaphore>,
    memory_units: u64,
}

/// A reservation of media memory; returned to the pool when dropped.
#[derive(Debug)]
pub struct MemoryPermit {
    permit: Option<OwnedSemaphorePermit>,
}

impl MemoryPermit {
    /// Splits off the part covering `bytes` (rounded up to whole units), e.g. to let a
    /// decoded frame keep its share after the decoder's working memory is returned.
    pub fn split(&mut self, bytes: u64) -> MemoryPermit {
        let units = units(bytes) as usize;
        let part = self.permit.as_mut().and_then(|p| p.split(units.min(p.num_permits())));
        MemoryPermit { permit: part }
    }
}

fn units(bytes: u64) -> u64 {
    bytes.div_ceil(UNIT).max(1)
}

fn mib(bytes: u64) -> u64 {
    bytes.div_ceil(1 << 20)
}

impl Admission {
    pub fn new(max_instances: u32, media_memory_bytes: u64) -> Admission {
        let memory_units = units(media_memory_bytes).min(Semaphore::MAX_PERMITS as u64);
        Admission {
            instances: Arc::new(Semaphore::new(max_instances.max(1) as usize)),
            max_instances: max_instances.max(1),
            memory: Arc::new(Semaphore::new(memory_units as usize)),
            memory_units,
        }
    }

    /// The media-memory pool, bytes.
    pub fn media_memory_bytes(&self) -> u64 {
        self.memory_units * UNIT
    }

    /// Media memory free right now, bytes.
    pub fn free_media_memory(&self) -> u64 {
        self.memory.available_permits() as u64 * UNIT
    }

    /// Instance slots taken now, and the most there are.
    pub fn instances(&self) -> (u32, u32) {
        (self.max_instances.saturating_sub(self.instances.available_permits() as u32), self.max_instances)
    }

    /// Waits in line (at most `wait`) for an instance slot.
    pub async fn instance(&self, wait: Duration) -> Result<OwnedSemaphorePermit, Refusal> {
        match tokio::time::timeout(wait, self.instances.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(Refusal::Busy("the runtime is shutting down".into())),
            Err(_) => Err(Refusal::Busy(format!(
                "all {} component instance slots stayed busy for {:.1} s",
                self.max_instances,
                wait.as_secs_f64()
            ))),
        }
    }

    /// Waits in line (until `until`) for `bytes` of media memory, for `what` (named in
    /// messages). Work that needs more than the whole pool is refused at once.
    pub async fn memory(&self, what: &str, bytes: u64, until: Instant) -> Result<MemoryPermit, Refusal> {
        let wanted = units(bytes);
        if wanted > self.memory_units {
            return Err(Refusal::TooLarge(format!(
                "{what} needs about {} MiB of working memory; this host grants at most {} MiB (media_memory_mib)",
                mib(bytes),
                mib(self.media_memory_bytes())
            )));
        }
        let acquire = self.memory.clone().acquire_many_owned(wanted as u32);
        match tokio::time::timeout_at(until.into(), acquire).await {
            Ok(Ok(permit)) => Ok(MemoryPermit { permit: Some(permit) }),
            Ok(Err(_)) => Err(Refusal::Busy("the runtime is shutting down".into())),
            Err(_) => Err(Refusal::Busy(format!(
                "{what} needs about {} MiB of working memory and only {} MiB came free before the deadline",
                mib(bytes),
                mib(self.free_media_memory())
            ))),
        }
    }

    /// [`Admission::memory`] from a blocking thread (the plan executor reserves after it
    /// has worked out what a chunk holds).
    pub fn memory_blocking(&self, what: &str, bytes: u64, until: Instant, handle: &tokio::runtime::Handle) -> Result<MemoryPermit, Refusal> {
        handle.block_on(self.memory(what, bytes, until))
    }
}

/// The media-memory pool when none is configured: half of this machine's memory, at least
/// 1 GiB (read from `/proc/meminfo`; 4 GiB where that is unreadable).
pub fn default_media_memory_bytes() -> u64 {
    let total_kib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    });
    match total_kib {
        Some(kib) => (kib * 1024 / 2).max(1 << 30),
        None => 4 << 30,
    }
}

/// Working memory estimates, bytes.
pub mod estimate {
    use frameflow_flow::Algorithm;

    /// Pictures a decoder may hold at once: reference frames, frame threads, reordering.
    const DECODER_PICTURES: u64 = 24;

    /// Decoding `frames` pictures of a `source_w`×`source_h` stream and rendering them to
    /// `out_w`×`out_h` RGB: the decoder's pictures (up to 16 bits × 3 planes a pixel), a
    /// full-size RGB conversion, and the rendered outputs.
    pub fn decode(source_w: u32, source_h: u32, out_w: u32, out_h: u32, frames: usize) -> u64 {
        let source = source_w as u64 * source_h as u64;
        let out = out_w as u64 * out_h as u64 * 3;
        source * 3 * DECODER_PICTURES / 2 + source * 3 + out * frames as u64
    }

    /// Optical flow between two `w`×`h` frames: greyscale inputs, pyramids, the solver's
    /// buffers, and the float field. Generous per-pixel figures for OpenCV 4.6.
    pub fn flow(w: u32, h: u32, algorithm: Algorithm) -> u64 {
        let per_pixel: u64 = match algorithm {
            Algorithm::Tvl1 => 256,
            Algorithm::Farneback => 128,
            Algorithm::DisUltrafast | Algorithm::DisFast | Algorithm::DisMedium => 96,
        };
        w as u64 * h as u64 * per_pixel
    }

    /// A float flow field as a guest holds it.
    pub fn flow_field(w: u32, h: u32) -> u64 {
        w as u64 * h as u64 * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_is_granted_in_line_and_refused_when_it_never_fits() {
        let admission = Admission::new(2, 100 << 20);
        let soon = || Instant::now() + Duration::from_millis(50);
        let mut big = admission.memory("a decode", 80 << 20, soon()).await.unwrap();
        // 30 MiB more does not fit now: waits, then busy.
        match admission.memory("another", 30 << 20, soon()).await {
            Err(Refusal::Busy(m)) => assert!(m.contains("30 MiB"), "{m}"),
            other => panic!("expected busy, got {other:?}"),
        }
        // Keeping 10 MiB of the first and returning the rest lets it in.
        let kept = big.split(10 << 20);
        drop(big);
        let second = admission.memory("another", 30 << 20, soon()).await.unwrap();
        assert_eq!(admission.free_media_memory(), 60 << 20);
        drop((kept, second));
        assert_eq!(admission.free_media_memory(), 100 << 20);
        match admission.memory("a bomb", 1 << 40, soon()).await {
            Err(Refusal::TooLarge(m)) => assert!(m.contains("at most 100 MiB"), "{m}"),
            other => panic!("expected too large, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn instance_slots_are_bounded() {
        let admission = Admission::new(1, 1 << 20);
        let held = admission.instance(Duration::from_millis(10)).await.unwrap();
        assert!(matches!(admission.instance(Duration::from_millis(20)).await, Err(Refusal::Busy(_))));
        drop(held);
        let _again = admission.instance(Duration::from_millis(10)).await.unwrap();
    }
}
