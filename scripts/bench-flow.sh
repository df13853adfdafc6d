#!/usr/bin/env bash
# Optical-flow benchmark (issue: optical flow): frame pairs/s per algorithm at 340x256 (TSN)
# and 640x360, frameflow (Debian OpenCV 4.6 via the opencv crate) vs opencv-python on the same
# two frames, in one run. Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
VENV=.bench/venv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import cv2; cv2.optflow" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q opencv-contrib-python-headless numpy
fi
cargo build --release --locked -q -p frameflow -p frameflow-flow --example bench_flow
CLIP=.bench/h264_1080p_bf3_gop250.mp4
[ -f "$CLIP" ] || ./scripts/bench-media.sh >/dev/null
for SIZE in 340x256 640x360; do
  W=${SIZE%x*}; H=${SIZE#*x}
  for I in 100 101; do
    "$TARGET/release/frameflow" frame "$CLIP" --index $I --width $W --height $H --format png -o .bench/flow_${SIZE}_$I.png
  done
  "$TARGET/release/examples/bench_flow" .bench/flow_${SIZE}_100.png .bench/flow_${SIZE}_101.png 3
  "$VENV/bin/python" scripts/bench_flow.py .bench/flow_${SIZE}_100.png .bench/flow_${SIZE}_101.png 3
done
