//! End-to-end tests: the real `frameflow` binary (`CARGO_BIN_EXE_frameflow`, so this test
//! target belongs to the `frameflow` package) and the real components (built by
//! `frameflow-test-components`), one module per area.

mod analytics;
mod audio;
mod browser;
mod cli;
mod clips;
mod delivery;
mod drain;
mod events;
mod flow;
mod http;
mod infra;
mod jobs;
mod lambda;
mod limits;
mod openapi;
mod python;
mod queue;
mod samplers;
mod server;
mod sns;
mod tasks;
mod tenants;

use std::path::Path;

/// The `frameflow` binary cargo built for these tests. It hands `serve`, `flow` and
/// `sample` to `frameflow-full` beside it, which must have been built too.
pub fn frameflow_bin() -> &'static Path {
    let bin = Path::new(env!("CARGO_BIN_EXE_frameflow"));
    let full = bin.with_file_name("frameflow-full");
    assert!(
        full.is_file(),
        "{} is missing: `frameflow serve`, `flow` and `sample` run in it; build it first \
         (cargo build --workspace --bins; make test does)",
        full.display()
    );
    bin
}
