//! Guest bindings for the host's `frameflow:media` and `frameflow:store` imports.

wit_bindgen::generate!({
    path: "../../wit",
    world: "frameflow:sampler/handler-imports",
    generate_all,
});
