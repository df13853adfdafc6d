//! Guest bindings for the host's imports: `frameflow:media` (video, flow, plans),
//! `frameflow:store` and `frameflow:sampler/samplers`.

wit_bindgen::generate!({
    path: "../../wit",
    world: "frameflow:sampler/handler-imports",
    generate_all,
});
