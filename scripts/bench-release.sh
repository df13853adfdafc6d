# Sourced by the server benchmarks (bench-soak.sh, bench-tenants.sh, bench-delivery.sh):
# installs what is missing, builds the release `frameflow` and the components, and sets
# `root` (the repository, also the working directory), `TARGET` (the cargo target dir) and
# `BIN` (the release binary).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./scripts/setup.sh
TARGET="${CARGO_TARGET_DIR:-$root/target}"
BIN="$TARGET/release/frameflow"
cargo build --release --locked -p frameflow -p frameflow-full --quiet
./scripts/build-components.sh >/dev/null

# Starts the release `frameflow serve` with the shipped manifest and a fresh file store in
# DIR (its log there too), killed when the script exits; sets SERVER_URL to its base URL.
# (Not in a `$(...)`: the server's pid must reach this shell's `pids`.)
#   start_server DIR [more serve arguments...]
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
start_server() {
  local dir=$1; shift
  rm -rf "$dir" && mkdir -p "$dir"
  "$BIN" serve --config infra/frameflow.toml --listen 127.0.0.1:0 --store "file://$dir/store" "$@" > "$dir/server.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do grep -q "listening on" "$dir/server.log" && break; sleep 0.1; done
  SERVER_URL=$(grep -o 'http://[^ ]*' "$dir/server.log" | head -1)
}
