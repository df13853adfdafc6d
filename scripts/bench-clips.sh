#!/usr/bin/env bash
# Random-clips benchmark (issue: sampling jobs). Not a test: prints markdown for
# BENCHMARKS.md. 16-frame random clips per second from nasa_13013.mp4 (when the shared
# corpus is present) and a 1080p H.264 clip: frameflow (random-clip sampler component +
# media core, release build) vs torchcodec 0.17 clips_at_random_indices, same run, same
# files. Then an rgb+flow job through `frameflow sample`: frames decoded vs frames needed.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
VENV=.bench/venv
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
if ! "$VENV/bin/python" -c "import torchcodec, torch" 2>/dev/null; then
  echo "installing torchcodec 0.17 and torch into $VENV (large download)" >&2
  "$VENV/bin/pip" install -q "torchcodec==0.17.*" torch
fi
./scripts/build-components.sh >/dev/null
cargo build --release --locked -q -p frameflow --bins --example bench_clips
CLIP=.bench/h264_1080p_bf3_gop250.mp4
[ -f "$CLIP" ] || ./scripts/bench-media.sh >/dev/null
MEDIA="${FRAMEFLOW_MEDIA:-../shared/media}"
NASA="$MEDIA/videos/nasa_13013.mp4"
VIDEOS=("$CLIP")
if [ -f "$NASA" ]; then VIDEOS=("$NASA" "$CLIP"); else echo "($NASA missing: set FRAMEFLOW_MEDIA; nasa row skipped)" >&2; fi
SAMPLER=components/dist/frameflow_sampler_random_clip.wasm
CLIPS=8
REPS=5

echo "## 16-frame random clips per second ($CLIPS clips per call, median of $REPS, fresh decoder per call; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
echo
echo "| video | frameflow clips/s | torchcodec clips/s | frameflow / torchcodec | frames decoded / needed (frameflow) |"
echo "|---|---|---|---|---|"
for V in "${VIDEOS[@]}"; do
  FF=$("$TARGET/release/examples/bench_clips" "$V" "$SAMPLER" $CLIPS $REPS)
  TC=$("$VENV/bin/python" scripts/bench_clips.py "$V" $CLIPS $REPS 2>/dev/null | tail -1)
  python3 - "$FF" "$TC" "$V" <<'PY'
import json, sys, os
ff, tc, v = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
print(f"| {os.path.basename(v)} | {ff['clips_per_s']:.2f} | {tc['clips_per_s']:.2f} | **{ff['clips_per_s'] / tc['clips_per_s']:.2f}×** | "
      f"{ff['frames_decoded_per_rep']:.0f} / {ff['frames_needed_per_rep']:.0f} |")
PY
done
echo
echo "## rgb+flow job: frames decoded vs needed (\`frameflow sample\`, 4 clips × 16 frames, DIS medium)"
echo
for V in "${VIDEOS[@]}"; do
  OUT=$(mktemp -d)
  LINE=$("$TARGET/release/frameflow" sample "$V" --params '{"num_clips": 4, "frames_per_clip": 16}' --modality rgb+flow --seed 1 --out "$OUT" 2>&1 | tr '\r' '\n' | grep 'frames needed' || true)
  echo "- $(basename "$V"): ${LINE#sample: }"
  rm -rf "$OUT"
done
