#!/usr/bin/env bash
# `make bench`: frameflow against its peers, side by side, in one run (scripts/peers/harness.py).
# Sets up what it needs first: a Python venv with the pinned peers (.bench/venv, from PyPI),
# the benchmark videos (.bench/), the release build and the components. Then measures and
# writes the section between the peers markers in BENCHMARKS.md, with the chart and the raw
# figures in docs/benchmarks/. Not part of `make test`.
#   BENCH_QUICK=1 ./scripts/bench.sh   one repetition each, BENCHMARKS.md untouched (checks the harness)
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
VENV=.bench/venv
REQ=scripts/peers/requirements.txt
mkdir -p .bench

# 1. the peers, pinned (reinstalled when the pins change)
if [ ! -x "$VENV/bin/python" ]; then
  # Debian ships venv support (ensurepip) separately.
  if ! python3 -c "import ensurepip" 2>/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
  fi
  python3 -m venv "$VENV"
fi
if ! cmp -s "$REQ" "$VENV/.frameflow-requirements"; then
  echo "bench: installing the peers into $VENV (torch is a large download)" >&2
  "$VENV/bin/pip" install -q --upgrade pip
  # opencv-contrib and opencv-python share the cv2 package; keep only the pinned one.
  "$VENV/bin/pip" uninstall -q -y opencv-contrib-python-headless opencv-contrib-python opencv-python 2>/dev/null || true
  "$VENV/bin/pip" install -q -r "$REQ"
  cp "$REQ" "$VENV/.frameflow-requirements"
fi

# 2. the videos: generated (testsrc2: every frame differs from its neighbours), and the
#    shared corpus's nasa_13013.mp4 when present
gen() { # FILE SIZE RATE SECONDS X264-ARGS...
  local file=$1 size=$2 rate=$3 secs=$4; shift 4
  [ -f "$file" ] && return
  echo "bench: generating $file" >&2
  ffmpeg -v error -y -f lavfi -i "testsrc2=size=$size:rate=$rate" -t "$secs" \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p "$@" "$file.tmp.mp4"
  mv "$file.tmp.mp4" "$file"
}
gen .bench/h264_1080p_bf3_gop250.mp4 1920x1080 25 20 -bf 3 -g 250 -keyint_min 250 -sc_threshold 0
gen .bench/h264_640x360_bf2_gop60.mp4 640x360 30 20 -bf 2 -g 60 -keyint_min 60 -sc_threshold 0
# for the correctness check only: variable frame rate in Matroska, MPEG-TS with a non-zero start
gen .bench/h264_vfr.mkv 320x240 25 8 -vf "settb=1/1000,setpts=(N*40+mod(N*N\,7)*9)/1000/TB" \
  -fps_mode passthrough -enc_time_base 1/1000 -bf 2 -g 50
gen .bench/h264_start10.ts 320x240 25 8 -bf 3 -g 60 -output_ts_offset 10
VIDEOS=(1080p=.bench/h264_1080p_bf3_gop250.mp4 640x360=.bench/h264_640x360_bf2_gop60.mp4)
CHECK=(--check vfr.mkv=.bench/h264_vfr.mkv --check start10.ts=.bench/h264_start10.ts)
MEDIA="${FRAMEFLOW_MEDIA:-../shared/media}/videos"
if [ -f "$MEDIA/nasa_13013.mp4" ]; then
  VIDEOS+=(nasa_13013="$MEDIA/nasa_13013.mp4")
  for f in no_duration.webm test_non_zero_start.mp4 discard_first_keyframe.mp4 testsrc2_mpeg4.avi smpte-2997.mp4; do
    [ -f "$MEDIA/$f" ] && CHECK+=(--check "$f=$MEDIA/$f")
  done
else
  echo "bench: $MEDIA/nasa_13013.mp4 not found (set FRAMEFLOW_MEDIA): the shared corpus's videos are skipped" >&2
fi

# 3. frameflow, release build, and the sampler component
./scripts/build-components.sh >/dev/null
cargo build --release --locked -q -p frameflow -p frameflow-full --bins --example peer_bench

# 4. measure
QUICK=(); OUT=docs/benchmarks
if [ -n "${BENCH_QUICK:-}" ]; then QUICK=(--quick); OUT=.bench/quick; fi
"$VENV/bin/python" scripts/peers/harness.py "${QUICK[@]}" --bin "$TARGET/release/frameflow" \
  --peer-bench "$TARGET/release/examples/peer_bench" --sampler components/dist/frameflow_sampler_random_clip.wasm \
  --out "$OUT" --benchmarks BENCHMARKS.md "${CHECK[@]}" "${VIDEOS[@]}"
