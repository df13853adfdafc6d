#!/usr/bin/env bash
# Builds the production WebAssembly components (wasm32-wasip2, release) and copies them to
# components/dist/, where infra/frameflow.toml finds them. The tests build their own copies
# (and the hostile fixtures, which never go to dist/) through tests/components.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/components"
rustup target list --installed 2>/dev/null | grep -q wasm32-wasip2 || rustup target add wasm32-wasip2
packages=(frameflow-frames frameflow-jobs frameflow-sampler-random-clip frameflow-sampler-uniform frameflow-sampler-regular-clip
  frameflow-analyzer-area-intrusion frameflow-analyzer-tripwire frameflow-analyzer-scene-change frameflow-analyzer-face frameflow-analyzer-people)
cargo build --release --locked --target wasm32-wasip2 --quiet "${packages[@]/#/-p}"
target="${CARGO_TARGET_DIR:-$root/components/target}"
mkdir -p "$root/components/dist"
rm -f "$root"/components/dist/*fixture*.wasm
for package in "${packages[@]}"; do
    cp -f "$target/wasm32-wasip2/release/${package//-/_}.wasm" "$root/components/dist/"
done
ls "$root/components/dist"
