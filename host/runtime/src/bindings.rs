//! Host bindings for frameflow's worlds, one module per world: `handler-imports` (what
//! every HTTP handler may import), `sampler` (what a sampler exports) and
//! `job-worker-export` (what a job-lifecycle component exports for background work). The
//! last two reuse the first's types, so a `video-info` or `clip` is one Rust type.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "frameflow:sampler/handler-imports",
    imports: { default: async | trappable },
    with: {
        "frameflow:media/video.video": crate::media_host::VideoHandle,
        "frameflow:media/video.frame": crate::media_host::FrameHandle,
        "frameflow:media/flow.flow-field": crate::flow_host::FlowHandle,
        "frameflow:store/objects.upload": crate::store_host::UploadHandle,
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
        world: "frameflow:sampler/job-worker-export",
        exports: { default: async },
    });
}
