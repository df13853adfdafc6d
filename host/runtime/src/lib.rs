//! The component runtime: where WebAssembly components run and what they can reach.
//!
//! - [`Runtime`] (`runtime.rs`) owns the one wasmtime [`wasmtime::Engine`] (pooling
//!   allocator, epoch interruption), the epoch ticker, and loads [`HttpComponent`]s.
//! - `compile_cache.rs` compiles each component once and keeps the machine code on disk,
//!   keyed by the engine's compatibility hash and authenticated with a host secret, so the
//!   host never deserializes code it did not compile itself.
//! - `admission.rs` ([`Admission`]) decides what work may start: one fair queue of
//!   component-instance slots and one pool of media working memory, shared by requests and
//!   job steps, with [`admission::estimate`]s of what decoding and flow need.
//! - `blocking.rs`: CPU-bound host work goes to tokio's blocking pool, never the reactor.
//! - `sandbox.rs` is the per-request store: memory cap, epoch deadline, host-resource
//!   budget ([`SandboxLimits`]), tenant identity.
//! - `media_host.rs` implements `frameflow:media` over the media core; decoding and
//!   encoding run on blocking threads, never on the async reactor.
//! - `flow_host.rs` implements `frameflow:media/flow`: optical flow between two frames on a
//!   bounded pool of flow workers ([`FLOW_WORKERS`] at a time), encoded in the host.
//! - `video_pool.rs` ([`VideoPool`]) keeps opened videos (packet index + warm decoders)
//!   between requests and caches each packet index next to its video in the store.
//! - `store_host.rs` implements `frameflow:store` over a [`frameflow_store::TenantStore`].
//! - `plans_host.rs` implements `frameflow:media/plans`: a chunk of a sampling plan in one
//!   call ([`frameflow_plans::execute`]), outputs streamed to the tenant's store.
//! - `sampler_host.rs` ([`SamplerRegistry`]) implements `frameflow:sampler/samplers`: built-in
//!   and tenant-uploaded sampler components, each call in a pure sandbox.
//! - `guest_error.rs`: [`GuestError`], why a component gave no answer (deadline, memory
//!   limit, trap), decided from the epoch deadline and a limiter flag, never from strings.
//! - `http_handler.rs` invokes a component's `wasi:http/incoming-handler` for one request,
//!   and a job component's `job-worker.step` for background work.

#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod admission;
mod bindings;
mod blocking;
mod compile_cache;
mod flow_host;
mod guest_error;
mod http_handler;
mod media_host;
mod plans_host;
mod runtime;
mod sampler_host;
mod sandbox;
mod store_host;
mod video_pool;

pub use admission::{Admission, Refusal};
pub use flow_host::FLOW_WORKERS;
pub use guest_error::GuestError;
pub use http_handler::{HandlerOutcome, HttpComponent, ResponseBody};
pub use runtime::{Runtime, RuntimeConfig};
pub use sampler_host::{valid_sampler_name, SamplerRegistry, MAX_SAMPLER_BYTES};
pub use sandbox::SandboxLimits;
/// The WIT types a sampler returns, for hosts that run samplers directly (the CLI).
pub mod sampler_types {
    pub use crate::bindings::frameflow::media::types::{FrameSelector, VideoInfo};
    pub use crate::bindings::frameflow::sampler::types::{Clip, PlanError};
    pub use crate::media_host::video_info;
}
pub use video_pool::VideoPool;
