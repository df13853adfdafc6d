#!/usr/bin/env bash
# Containment benchmark (part of `make bench`, not `make test`): a release `frameflow serve`
# with two tenants; tenant B's frame latency (TENANT_CLIENTS clients, TENANT_SECONDS each,
# default 4 and 60) alone, then while tenant A keeps one job of a sampler that loops (then
# one that hoards memory) running. Writes the figures into BENCHMARKS.md between the
# tenants markers, raw ones into docs/benchmarks/tenants.json.
set -euo pipefail
source "$(dirname "$0")/bench-release.sh"
SECONDS_EACH="${TENANT_SECONDS:-60}"
CLIENTS="${TENANT_CLIENTS:-4}"
# The misbehaving sampler is a test fixture: built here, never shipped in components/dist.
(cd components && CARGO_TARGET_DIR="$TARGET" cargo build --release --locked --quiet --target wasm32-wasip2 -p frameflow-hostile-sampler-fixture)
EVIL="$TARGET/wasm32-wasip2/release/frameflow_hostile_sampler_fixture.wasm"

work="$root/.bench/tenants"
rm -rf "$work" && mkdir -p "$work"
LONG="$work/long_640x360_300f.mp4"
SHORT="$work/short_640x360_90f.mp4"
ffmpeg -v error -y -f lavfi -i testsrc2=s=640x360:r=25:d=12 -c:v libx264 -preset veryfast -g 50 -bf 2 -pix_fmt yuv420p "$LONG"
ffmpeg -v error -y -f lavfi -i testsrc2=s=640x360:r=25:d=3.6 -c:v libx264 -preset veryfast -g 50 -bf 2 -pix_fmt yuv420p "$SHORT"
cat > "$work/runtime-config.toml" <<TOML
store = "file://$work/store"
cache_dir = "$work/cache"
[api_keys]
"bench-key-tenant-a" = "tenant-a"
"bench-key-tenant-b" = "tenant-b"
TOML
"$BIN" serve --config infra/frameflow.toml --runtime-config "$work/runtime-config.toml" --listen 127.0.0.1:0 > "$work/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do grep -q "listening on" "$work/server.log" && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$work/server.log" | head -1)
A="bench-key-tenant-a"; B="bench-key-tenant-b"
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
VB=$(curl -sf -H "X-API-Key: $B" -X POST --data-binary @"$LONG" "$URL/v1/videos?name=b.mp4")
SA=$(curl -sf -H "X-API-Key: $A" -X POST --data-binary @"$SHORT" "$URL/v1/videos?name=short.mp4")
LA=$(curl -sf -H "X-API-Key: $A" -X POST --data-binary @"$LONG" "$URL/v1/videos?name=long.mp4")
curl -sf -H "X-API-Key: $A" -H "content-type: application/wasm" -X PUT --data-binary @"$EVIL" "$URL/v1/samplers/evil" >/dev/null

echo "tenants: B alone, then beside A's looping and hoarding samplers (${CLIENTS} clients, ${SECONDS_EACH}s each)" >&2
python3 scripts/bench-tenants.py "$URL" "$A" "$B" "$(field "$VB" id)" "$(field "$SA" key)" "$(field "$LA" key)" 300 "$CLIENTS" "$SECONDS_EACH" > "$work/result.json"
kill -0 $SERVER 2>/dev/null || { echo "tenants: the server died" >&2; exit 1; }
mkdir -p docs/benchmarks && cp "$work/result.json" docs/benchmarks/tenants.json

python3 - "$work/result.json" <<'PY' | python3 scripts/peers/benchmarks_md.py tenants
import json, subprocess, sys, datetime
r = json.load(open(sys.argv[1]))
cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
def row(name, run):
    jobs = run.get("tenant_a_jobs")
    failed = [j for j in (jobs or []) if j.get("state") == "failed"]
    a = "—" if jobs is None else f"{len(failed)} jobs failed, each in {min(j['seconds'] for j in failed):.1f}–{max(j['seconds'] for j in failed):.1f} s" if failed else "no job failed"
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(run["statuses"].items()))
    return f"| {name} | {run['rps']} | {run['p50_ms']} / {run['p99_ms']} | {statuses} | {a} |"
lines = [
    "<!-- tenants:begin -->",
    f"### Containment: one tenant's frames while another's sampler loops or hoards ({datetime.date.today()})",
    "",
    f"`make bench` (`scripts/bench-tenants.sh`): release `frameflow serve`, shipped manifest, two tenants, {cpu} cores. "
    f"Tenant B: {r['clients']} keep-alive clients asking for random exact frames (JPEG) of a 640×360 H.264 video for "
    f"{r['seconds']} s per row. Tenant A meanwhile keeps one job of an uploaded sampler running that loops "
    "(stopped at its 5 s deadline) or allocates without bound (stopped at its 64 MiB limit); each fails with the reason "
    "and A starts the next.",
    "",
    "| tenant B | requests/s | frame p50 / p99 ms | statuses | tenant A's jobs |",
    "|---|---|---|---|---|",
    row("alone", r["alone"]),
    row("beside A's looping sampler", r["beside_loop"]),
    row("beside A's hoarding sampler", r["beside_alloc"]),
    "",
    "<!-- tenants:end -->",
]
print("\n".join(lines))
PY
