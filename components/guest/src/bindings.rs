//! Guest bindings for the host's imports: `frameflow:media` (video, flow, plans),
//! `frameflow:store` and `frameflow:sampler/samplers`; the WIT `frame-selector` converts to
//! and from the shared [`frameflow_selector::FrameSelector`].

wit_bindgen::generate!({
    path: "../../wit",
    world: "frameflow:platform/handler-imports",
    // spin-sdk's own wasi:io types, so a response body's stream can be handed to the host.
    with: {
        "wasi:io/error@0.2.0": ::wasi::io::error,
        "wasi:io/poll@0.2.0": ::wasi::io::poll,
        "wasi:io/streams@0.2.0": ::wasi::io::streams,
    },
    generate_all,
});

frameflow_selector::wit_conversions!(frameflow::media::types::FrameSelector);
