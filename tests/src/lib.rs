//! frameflow's test kit, shared by the media-core tests and the end-to-end tests:
//! - [`pattern`]: videos generated with the FFmpeg CLI whose frames show their own index
//!   as big black/white blocks that survive compression, and the decoder for that pattern;
//! - [`corpus`]: the shared real-video corpus, found through one setting;
//! - [`reference`]: reference pixels from the FFmpeg CLI on this machine and from
//!   torchcodec's `.pt` tensors;
//! - [`http_client`]: a raw HTTP/1.1 client for talking to a real server;
//! - [`s3`]: a real S3-compatible server (moto) on loopback, shared by the tests;
//! - [`live`]: sources and sinks for analysis tasks (a square video, an HTTP file server
//!   with ranges, a webhook receiver, GStreamer's RTSP server).

pub mod corpus;
pub mod http_client;
pub mod live;
pub mod pattern;
pub mod reference;
pub mod s3;

use std::path::PathBuf;

/// The workspace root: the first folder with a `Cargo.lock` above the running test's
/// package (`CARGO_MANIFEST_DIR` as `cargo test` sets it when the test runs, so a build
/// shared between two checkouts through one target dir still reads its own checkout).
pub fn workspace_root() -> PathBuf {
    let package = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    package
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf())
}

/// Scratch space under the target dir that survives between test runs.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("testkit")
        .join(name);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// A program of the Python tools venv `scripts/setup.sh` makes (`$FRAMEFLOW_TOOLS/venv`,
/// default `~/.cache/frameflow-tools/venv`): `moto_server`, `kubernetes-validate`.
pub fn python_tool(name: &str) -> PathBuf {
    tools_dir().join("venv/bin").join(name)
}

/// The tools venv's Python when it can import every one of `modules` (comma-separated, as
/// an `import` statement takes them); `None` says the test should SKIP.
pub fn python_with(modules: &str) -> Option<PathBuf> {
    let python = python_tool("python");
    let ok = std::process::Command::new(&python).args(["-c", &format!("import {modules}")]).output().is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

/// Where `scripts/setup.sh` keeps the test tools: `$FRAMEFLOW_TOOLS`, default
/// `~/.cache/frameflow-tools` (the venv, hls.js for the browser test).
pub fn tools_dir() -> PathBuf {
    std::env::var_os("FRAMEFLOW_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(".cache/frameflow-tools"))
}
