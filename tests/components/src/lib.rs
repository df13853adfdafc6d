//! Paths of the WebAssembly components tests run, built by this crate's `build.rs` from the
//! `components/` workspace: the production components (the same sources `make components`
//! puts in `components/dist/`) and the hostile fixtures, which exist only here.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

/// The directory holding every built component.
pub fn dir() -> &'static Path {
    Path::new(env!("FRAMEFLOW_TEST_COMPONENTS"))
}

fn component(file: &str) -> PathBuf {
    dir().join(file)
}

/// The frames API component (`/v1/videos/...`, seed 001's `/frame/...`).
pub fn frames() -> PathBuf {
    component("frameflow_frames.wasm")
}

/// The job lifecycle component (`/v1/jobs/...`, `/v1/samplers/...`, seed 000's routes).
pub fn jobs() -> PathBuf {
    component("frameflow_jobs.wasm")
}

/// A built-in sampler by its name (`random-clip`, `uniform`, `regular-clip`).
pub fn sampler(name: &str) -> PathBuf {
    component(&format!("frameflow_sampler_{}.wasm", name.replace('-', "_")))
}

/// A plain `wasi:http` component that loops, traps or allocates without end, by path.
pub fn hostile_handler() -> PathBuf {
    component("frameflow_hostile_fixture.wasm")
}

/// A sampler that loops or allocates without bound, by its params (its imports are clean).
pub fn hostile_sampler() -> PathBuf {
    component("frameflow_hostile_sampler_fixture.wasm")
}

/// A sampler that reads the wall clock (it imports `wasi:clocks`, which samplers may not).
pub fn impure_sampler() -> PathBuf {
    component("frameflow_impure_sampler_fixture.wasm")
}

/// `components/samplers/template`: the sampler authors start from ('every-nth').
pub fn sampler_template() -> PathBuf {
    component("frameflow_sampler_template.wasm")
}
