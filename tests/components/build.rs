//! Builds every guest of the `components/` workspace for wasm32-wasip2 (release), as
//! wasmtime's test-programs and Spin's test-components do, into this crate's own target
//! directory (a nested cargo on the outer build's directory would wait on its lock), and
//! tells the crate where they are (`FRAMEFLOW_TEST_COMPONENTS`).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let here = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = here.join("../..").canonicalize().expect("the repository root");
    let components = root.join("components");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target_dir = out.join("target");

    for watched in ["guest", "frames", "jobs", "samplers", "analyzers", "fixtures", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", components.join(watched).display());
    }
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    println!("cargo:rerun-if-changed={}", root.join("host/selector").display());

    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    if let Ok(list) = installed {
        if !String::from_utf8_lossy(&list.stdout).lines().any(|l| l.trim() == "wasm32-wasip2") {
            let _ = Command::new("rustup").args(["target", "add", "wasm32-wasip2"]).status();
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--locked", "--quiet", "--target", "wasm32-wasip2", "--workspace"])
        .arg("--manifest-path")
        .arg(components.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target_dir)
        // The outer build's flags are for the host, not for wasm32.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .expect("run cargo to build the components");
    assert!(status.success(), "building the components (wasm32-wasip2) failed");
    println!("cargo:rustc-env=FRAMEFLOW_TEST_COMPONENTS={}", target_dir.join("wasm32-wasip2/release").display());
}
