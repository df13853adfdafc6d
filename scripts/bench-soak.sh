#!/usr/bin/env bash
# Soak benchmark (part of `make bench`, not `make test`): a release `frameflow serve` with
# the shipped infra/frameflow.toml, a 640x360 H.264+AAC video (most real videos have
# audio), then 32 concurrent keep-alive clients for 30 minutes and 128 for 10 (SOAK_SECONDS_32,
# SOAK_SECONDS_128; SOAK_SECONDS sets both) on random frames, thumbnails and small jobs.
# Writes p50/p99, statuses and the server's RSS at start and end into BENCHMARKS.md between
# the soak markers, raw figures into docs/benchmarks/soak.json. SOAK_SECONDS=60 for a quick
# look (BENCHMARKS.md untouched unless SOAK_WRITE=1).
set -euo pipefail
source "$(dirname "$0")/bench-release.sh"
SECONDS_32="${SOAK_SECONDS:-${SOAK_SECONDS_32:-1800}}"
SECONDS_128="${SOAK_SECONDS:-${SOAK_SECONDS_128:-600}}"
work="$root/.bench/soak"
mkdir -p "$work"
CLIP="$work/h264_aac_640x360_60s.mp4"
if [ ! -f "$CLIP" ]; then
  ffmpeg -v error -y -f lavfi -i testsrc2=s=640x360:r=25:d=60 -f lavfi -i sine=frequency=440:sample_rate=48000:d=60 \
    -c:v libx264 -preset veryfast -g 50 -bf 2 -pix_fmt yuv420p -c:a aac -shortest "$CLIP"
fi
FRAMES=1500

rm -rf "$work/store"
"$BIN" serve --config infra/frameflow.toml --listen 127.0.0.1:0 --store "file://$work/store" > "$work/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do grep -q "listening on" "$work/server.log" && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$work/server.log" | head -1)
CREATED=$(curl -sf -X POST --data-binary @"$CLIP" "$URL/v1/videos?name=soak.mp4")
ID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$CREATED")
KEY=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["key"])' "$CREATED")
ulimit -n 65536 2>/dev/null || true

for clients in 32 128; do
  seconds=$SECONDS_32
  [ "$clients" = 128 ] && seconds=$SECONDS_128
  echo "soak: $clients clients for ${seconds}s" >&2
  python3 scripts/peers/soak.py "$URL" "$ID" "$KEY" "$FRAMES" "$SERVER" "$clients" "$seconds" "$work/soak-$clients.json" >/dev/null
done
kill -0 $SERVER 2>/dev/null || { echo "soak: the server died" >&2; exit 1; }

python3 - "$work" "$SECONDS_32" "$SECONDS_128" <<'PY'
import json, os, platform, subprocess, sys, datetime
work, seconds = sys.argv[1], min(int(sys.argv[2]), int(sys.argv[3]))
runs = [json.load(open(f"{work}/soak-{c}.json")) for c in (32, 128)]
cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
lines = [
    "<!-- soak:begin -->",
    f"### Soak: frames, thumbnails and small jobs under 32 and 128 clients ({datetime.date.today()})",
    "",
    f"`make bench` (`scripts/bench-soak.sh`): release `frameflow serve` with the shipped `infra/frameflow.toml`, "
    f"a 60 s 640×360 H.264+AAC video, on {cpu} cores, for the duration each row gives; each client loops over "
    "a random exact frame (JPEG, 70%), a 160-px thumbnail (25%) and a 2×4-frame sampling job (5%) on one "
    "keep-alive connection. Latencies are of successful requests; RSS is the server's, sampled every 5 s "
    "(start = after warm-up).",
    "",
    "| clients | duration | requests/s | frame p50 / p99 ms | thumbnail p50 / p99 ms | job p50 / p99 ms | statuses | RSS start → end (peak) MiB |",
    "|---|---|---|---|---|---|---|---|",
]
for r in runs:
    k = r["kinds"]
    statuses = {}
    for kind in k.values():
        for s, n in kind["statuses"].items():
            statuses[s] = statuses.get(s, 0) + n
    st = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
    m = r["rss_mib"]
    lines.append(
        f"| {r['clients']} | {r.get('seconds', '?')} s | {r['per_second']} | {k['frame']['p50_ms']} / {k['frame']['p99_ms']} | "
        f"{k['thumbnail']['p50_ms']} / {k['thumbnail']['p99_ms']} | {k['job']['p50_ms']} / {k['job']['p99_ms']} | "
        f"{st} | {m['start']} → {m['end']} ({m['max']}) |"
    )
lines.append("<!-- soak:end -->")
section = "\n".join(lines)
os.makedirs("docs/benchmarks", exist_ok=True)
json.dump(runs, open("docs/benchmarks/soak.json", "w"), indent=1)
print(section)
if seconds >= 600 or os.environ.get("SOAK_WRITE") == "1":
    subprocess.run(["python3", "scripts/peers/benchmarks_md.py", "soak"], input=section, text=True, check=True, stdout=subprocess.DEVNULL)
PY
