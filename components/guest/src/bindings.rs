//! Guest bindings for the host's imports: `frameflow:media` (video, flow, plans),
//! `frameflow:store` and `frameflow:sampler/samplers`; the WIT `frame-selector` converts to
//! and from the shared [`frameflow_selector::FrameSelector`].

wit_bindgen::generate!({
    path: "../../wit",
    world: "frameflow:sampler/handler-imports",
    generate_all,
});

frameflow_selector::wit_conversions!(frameflow::media::types::FrameSelector);
