//! The component runtime: where WebAssembly components run and what they can reach.
//!
//! The runtime is organised by capability, in the manner of wasmtime's `WasiView`: each
//! frameflow interface has its own module with its own context, and its host functions run
//! on a [`request::HostView`] — that context, the run's shared state and the resource table.
//!
//! - [`Runtime`] (`runtime.rs`) owns the one wasmtime [`wasmtime::Engine`] (pooling
//!   allocator, epoch interruption), the epoch ticker, and loads [`HttpComponent`]s (and
//!   their [`JobWorker`]s).
//! - `sandbox.rs`: the store data of a handler or job step and `Sandboxes`, the one place
//!   such a store is made and its imports linked; `limits.rs`: [`SandboxLimits`], the
//!   resource budget, and `sandboxed_store`, the store builder every component kind uses
//!   (memory limit + epoch deadline); `request.rs`: what a run's host calls share.
//! - Capabilities: `media/` (`frameflow:media/video`: videos and frames, the media root),
//!   `flow/` (`frameflow:media/flow` on [`FLOW_WORKERS`] bounded workers), `plans/`
//!   (`frameflow:jobs/plans`: a chunk of a sampling plan in one call), `store/`
//!   (`frameflow:store` over a [`frameflow_store::TenantStore`]), `samplers/` (built-in and
//!   tenant samplers, each `plan` in a pure sandbox; [`SamplerRegistry`]), `analyzers/`
//!   (built-in and tenant analyzers, one pure instance per task; [`AnalyzerRegistry`]).
//! - `bindings.rs` (bindgen; host failures as trappable error types), `handles.rs` (the
//!   resource types guests hold), `conversions.rs` (every WIT ↔ host type conversion).
//! - `admission.rs` ([`Admission`]): one fair queue of component-instance slots and one
//!   pool of media working memory, shared by requests and job steps.
//! - `video_pool.rs` ([`VideoPool`]): opened videos (packet index + warm decoders) kept
//!   between requests; `compile_cache.rs`: compiled components on disk, authenticated
//!   with a host secret; `blocking.rs`: CPU-bound host work off the reactor.
//! - `handler.rs` ([`HttpComponent`]) runs `wasi:http/incoming-handler` for one request,
//!   `job_worker.rs` ([`JobWorker`]) one background job step, `event_handler.rs`
//!   ([`EventHandler`]) one object event; `guest_error.rs`:
//!   [`GuestError`], why a component gave no answer, decided from typed facts.

#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod admission;
mod analyzers;
mod bindings;
mod blocking;
mod compile_cache;
mod conversions;
mod event_handler;
mod flow;
mod guest_error;
mod handler;
mod handles;
mod job_worker;
mod limits;
mod media;
mod plans;
mod request;
mod runtime;
mod sandbox;
mod samplers;
mod store;
mod task;
mod uploads;
mod video_pool;

pub use admission::{Admission, Refusal};
pub use analyzers::{AnalyzerFailure, AnalyzerRegistry, AnalyzerSession};
/// The WIT types an analyzer is given and answers (`frameflow:analyzer/types`).
pub mod analyzer_types {
    pub use crate::bindings::analyzer::frameflow::analyzer::types::*;
}
pub use event_handler::{EventFailure, EventHandler, ObjectEvent};
pub use flow::FLOW_WORKERS;
pub use guest_error::GuestError;
pub use handler::{HandlerOutcome, HttpComponent, ResponseBody};
pub use job_worker::{ChunkOutcome, JobWorker, StepReport};
pub use limits::SandboxLimits;
pub use runtime::{Runtime, RuntimeConfig};
pub use samplers::{valid_sampler_name, SamplerRegistry, MAX_SAMPLER_BYTES};
/// The WIT types a sampler returns, for hosts that run samplers directly (the CLI). The
/// WIT `frame-selector` converts to and from [`frameflow_selector::FrameSelector`] with `From`.
pub mod sampler_types {
    pub use crate::bindings::frameflow::media::types::{FrameSelector, VideoInfo};
    pub use crate::bindings::frameflow::sampler::types::{Clip, PlanError};
}
pub use uploads::{CheckError, ComponentKind};
pub use video_pool::{PooledVideo, VideoPool};
/// Objects of a remote store as media read by ranged GETs (what `frameflow:media/video.open`
/// does for an S3 store), for tools and benchmarks that use the media core directly.
pub mod object_media {
    pub use crate::media::media_path;
    pub use crate::media::object_source::{register, BYTES_FETCHED};
}
