//! Host bindings for frameflow's worlds, one module per world: `frameflow:platform/
//! handler-imports` (what every HTTP handler may import), `frameflow:sampler/sampler` (what
//! a sampler exports), `frameflow:jobs/job-worker` (what a job-lifecycle component
//! exports for background work), `frameflow:events/handler-export` (an object-event
//! handler's export) and `frameflow:analyzer/analyzer-component` (an analyzer's export). The last two reuse the first's types, so a `video-info`,
//! a `clip` or a `store-error` is one Rust type.
//!
//! Host calls that can fail return [`HostFailure`]: the WIT error the guest receives, or
//! a trap that ends the guest (bindgen's trappable error types), so a host function uses
//! `?` on both and never writes `Ok(Err(..))`.

use std::marker::PhantomData;

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "frameflow:platform/handler-imports",
    imports: { default: async | trappable | tracing },
    trappable_error_type: {
        "frameflow:media/types.media-error" => crate::bindings::MediaFailure,
        "frameflow:store/objects.store-error" => crate::bindings::StoreFailure,
        "frameflow:sampler/types.plan-error" => crate::bindings::PlanFailure,
        "frameflow:components/uploads.upload-error" => crate::bindings::UploadFailure,
    },
    with: {
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "frameflow:media/video.video": crate::handles::VideoHandle,
        "frameflow:media/video.encoded": crate::handles::EncodedHandle,
        "frameflow:media/video.frame": crate::handles::FrameHandle,
        "frameflow:media/video.rendition": crate::handles::RenditionHandle,
        "frameflow:media/flow.flow-field": crate::handles::FlowHandle,
        "frameflow:store/objects.upload": crate::handles::UploadHandle,
    },
});

pub mod sampler {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "frameflow:sampler/sampler",
        exports: { default: async },
        with: {
            "frameflow:media/types": crate::bindings::frameflow::media::types,
            "frameflow:sampler/types": crate::bindings::frameflow::sampler::types,
        },
    });
}

pub mod job_worker {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "frameflow:jobs/job-worker",
        exports: { default: async },
        with: {
            "frameflow:store/objects": crate::bindings::frameflow::store::objects,
        },
    });
}

pub mod analyzer {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "frameflow:analyzer/analyzer-component",
        exports: { default: async },
    });
}

pub mod events {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "frameflow:events/handler-export",
        exports: { default: async },
    });
}

/// A host call's failure: an error `E` handed to the guest, or a trap that stops it.
pub struct HostFailure<E> {
    error: wasmtime::Error,
    _kind: PhantomData<fn() -> E>,
}

/// A failed `frameflow:media` call.
pub type MediaFailure = HostFailure<frameflow::media::types::MediaError>;
/// A failed `frameflow:store` call.
pub type StoreFailure = HostFailure<frameflow::store::objects::StoreError>;
/// A failed `frameflow:sampler/samplers.plan` call.
pub type PlanFailure = HostFailure<frameflow::sampler::types::PlanError>;

impl<E: std::error::Error + Send + Sync + 'static> HostFailure<E> {
    /// The error for the guest; any other failure is the trap it was.
    pub fn into_guest_error(self) -> wasmtime::Result<E> {
        self.error.downcast()
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HostFailure<E> {
    fn from(error: E) -> Self {
        HostFailure { error: error.into(), _kind: PhantomData }
    }
}

impl<E> std::fmt::Debug for HostFailure<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

/// A failed `frameflow:components/uploads` call.
pub type UploadFailure = HostFailure<frameflow::components::uploads::UploadError>;

impl From<frameflow_store::StoreError> for UploadFailure {
    fn from(error: frameflow_store::StoreError) -> Self {
        frameflow::components::uploads::UploadError::Store(error.into()).into()
    }
}

/// Traps: a failure of the host itself or a bad handle from the guest.
macro_rules! traps_from {
    ($($failure:ty),*) => {$(
        impl From<wasmtime::Error> for $failure {
            fn from(error: wasmtime::Error) -> Self {
                HostFailure { error, _kind: PhantomData }
            }
        }
        impl From<wasmtime::component::ResourceTableError> for $failure {
            fn from(error: wasmtime::component::ResourceTableError) -> Self {
                HostFailure { error: error.into(), _kind: PhantomData }
            }
        }
        impl From<tokio::task::JoinError> for $failure {
            fn from(error: tokio::task::JoinError) -> Self {
                HostFailure { error: error.into(), _kind: PhantomData }
            }
        }
    )*};
}
traps_from!(MediaFailure, StoreFailure, PlanFailure, UploadFailure);
