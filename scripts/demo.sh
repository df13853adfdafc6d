#!/usr/bin/env bash
# `make run` for now: generates a sample video, probes it and extracts a few frames.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${CARGO_TARGET_DIR:-target}/release/frameflow"
mkdir -p data
SAMPLE=data/sample.mp4
if [ ! -f "$SAMPLE" ]; then
  echo "generating $SAMPLE (10 s of 1280x720 H.264 with B-frames)..."
  ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=25 -t 10 \
    -c:v libx264 -preset veryfast -bf 3 -g 125 -pix_fmt yuv420p "$SAMPLE"
fi
echo "== frameflow probe $SAMPLE"
"$BIN" probe "$SAMPLE" | head -30
echo "   ..."
OUT=data/demo-frames
rm -rf "$OUT"
echo "== frameflow frames $SAMPLE --indices 0,100,249 --out $OUT"
"$BIN" frames "$SAMPLE" --indices 0,100,249 --out "$OUT"
cat "$OUT/frames.jsonl"
echo "== frameflow frame $SAMPLE --time 4.5 --width 320 -o $OUT/t4.5.png --format png"
"$BIN" frame "$SAMPLE" --time 4.5 --width 320 --format png -o "$OUT/t4.5.png"
ls -l "$OUT"
echo "Frames written to $OUT/. Try: $BIN frame $SAMPLE --index 42 -o data/42.jpg"
