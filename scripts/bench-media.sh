#!/usr/bin/env bash
# Media-core benchmarks (issue: media core). Not a test: prints markdown for BENCHMARKS.md.
#  1. sequential decode to RGB24 of a 1080p H.264 clip (B-frames, GOP 250):
#     `frameflow frames --all --format rgb24 -o -` vs `ffmpeg -threads N ... -f rawvideo -pix_fmt rgb24 -`
#  2. 10 random exact frames per call: first call and repeated calls.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo; $SUDO apt-get install -y -qq hyperfine >/dev/null; }
TARGET="${CARGO_TARGET_DIR:-target}"
BIN="$TARGET/release/frameflow"
mkdir -p .bench
CLIP=.bench/h264_1080p_bf3_gop250.mp4
if [ ! -f "$CLIP" ]; then
  echo "generating $CLIP (20 s 1920x1080 25 fps H.264 High, 3 B-frames, GOP 250)" >&2
  ffmpeg -v error -y -f lavfi -i testsrc2=size=1920x1080:rate=25 -t 20 \
    -c:v libx264 -preset veryfast -bf 3 -g 250 -keyint_min 250 -sc_threshold 0 -pix_fmt yuv420p "$CLIP"
fi
MEDIA="${FRAMEFLOW_MEDIA:-../shared/media}"
NASA="$MEDIA/videos/nasa_13013.mp4"

echo "## Sequential decode to RGB24, $CLIP ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
for T in 1 2; do
  hyperfine --warmup 1 --runs 5 --style basic --export-markdown .bench/seq_t$T.md \
    -n "ffmpeg -threads $T" "ffmpeg -v error -threads $T -i $CLIP -f rawvideo -pix_fmt rgb24 - > /dev/null" \
    -n "frameflow --threads $T" "$BIN frames $CLIP --all --threads $T --format rgb24 -o - > /dev/null" >&2
  cat .bench/seq_t$T.md
  echo
done

echo "## 10 random frames per call (RGB24, exact)"
cargo build --release --locked -q -p frameflow-media --example bench_random
for V in "$NASA" "$CLIP"; do
  [ -f "$V" ] || { echo "skip $V (not found)"; continue; }
  "$TARGET/release/examples/bench_random" "$V" 20 10
done
