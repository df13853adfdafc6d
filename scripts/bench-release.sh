# Sourced by the server benchmarks (bench-soak.sh, bench-tenants.sh, bench-delivery.sh):
# installs what is missing, builds the release `frameflow` and the components, and sets
# `root` (the repository, also the working directory), `TARGET` (the cargo target dir) and
# `BIN` (the release binary).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./scripts/setup.sh
TARGET="${CARGO_TARGET_DIR:-$root/target}"
BIN="$TARGET/release/frameflow"
cargo build --release --locked -p frameflow --quiet
./scripts/build-components.sh >/dev/null
