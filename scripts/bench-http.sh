#!/usr/bin/env bash
# Benchmarks the frames API (issue 3), in one run:
#  1. GET frame for random indices of a 1080p clip through `frameflow serve`, with wrk at
#     concurrency 1 and 16: requests/s and latency percentiles;
#  2. the same frames through the component vs the media core called in-process (no HTTP),
#     and the component instantiation time per request;
#  3. the peer people use without a server: one `ffmpeg -ss T -i clip -frames:v 1` per frame.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
BIN="${CARGO_TARGET_DIR:-target}/release/frameflow"
DUR="${BENCH_SECONDS:-20}"
command -v wrk >/dev/null || { SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo; $SUDO apt-get install -y -qq wrk >/dev/null; }
./scripts/build-components.sh >/dev/null
work=.bench/http
mkdir -p "$work"
CLIP=$work/clip1080_gop25.mp4
if [ ! -f "$CLIP" ]; then
  ffmpeg -v error -y -f lavfi -i testsrc2=size=1920x1080:rate=25 -t 20 \
    -c:v libx264 -preset veryfast -bf 3 -g 25 -pix_fmt yuv420p "$CLIP"
fi
FRAMES=500

rm -rf "$work/store"
"$BIN" serve --listen 127.0.0.1:0 --store "file://$root/$work/store" > "$work/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do grep -q "listening on" "$work/server.log" && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$work/server.log" | head -1)
ID=$(curl -sf -X POST --data-binary @"$CLIP" "$URL/v1/videos?name=clip.mp4" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

cat > "$work/random.lua" <<LUA
math.randomseed(7)
request = function()
  return wrk.format("GET", "/v1/videos/$ID/frame?index=" .. math.random(0, $FRAMES - 1))
end
LUA
echo "== 1080p H.264 (bf 3, GOP 25, $FRAMES frames), random index, JPEG q90, ${DUR}s each"
for c in 1 16; do
  threads=$(( c < 2 ? 1 : 2 ))
  echo "-- wrk -t$threads -c$c"
  wrk -t"$threads" -c"$c" -d"${DUR}s" --latency -s "$work/random.lua" "$URL" | grep -E "Requests/sec|^ +(50|75|90|99)%|Non-2xx|Socket errors"
done
kill $SERVER; trap - EXIT

echo "== component path vs in-process media core (same frames, no HTTP)"
cargo run --release --locked --quiet -p frameflow-server --example bench_component -- "$CLIP" components/dist/frameflow_frames.wasm 100

echo "== one-shot ffmpeg CLI per frame (-ss before -i, first frame at/after T), 20 random frames"
python3 - "$CLIP" <<'PY'
import random, subprocess, sys, time
clip = sys.argv[1]
random.seed(7)
times = []
for _ in range(20):
    t = random.randrange(0, 500) / 25
    s = time.perf_counter()
    subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{t}", "-i", clip, "-frames:v", "1", "-q:v", "3",
                    "-f", "image2", "-c:v", "mjpeg", "-y", "/dev/null"], check=True)
    times.append((time.perf_counter() - s) * 1e3)
times.sort()
print(f"one-shot ffmpeg: median {times[len(times)//2]:.1f} ms/frame, p90 {times[int(len(times)*0.9)]:.1f} ms")
PY
