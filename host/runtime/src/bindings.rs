//! Host bindings for the `frameflow:sampler/handler-imports` world (media + store).

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
