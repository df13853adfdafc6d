#!/usr/bin/env bash
# Builds the WebAssembly components (wasm32-wasip2, release) and copies them to
# components/dist/, where infra/frameflow.toml and the tests find them.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/components"
rustup target list --installed 2>/dev/null | grep -q wasm32-wasip2 || rustup target add wasm32-wasip2
cargo build --release --locked --target wasm32-wasip2 --quiet
target="${CARGO_TARGET_DIR:-$root/components/target}"
mkdir -p "$root/components/dist"
for wasm in "$target"/wasm32-wasip2/release/*.wasm; do
    cp -f "$wasm" "$root/components/dist/"
done
ls "$root/components/dist"
