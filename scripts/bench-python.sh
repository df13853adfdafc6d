#!/usr/bin/env bash
# The Python package against torchcodec and decord (part of `make bench`, after
# scripts/bench.sh, which makes the peers' venv .bench/venv and the benchmark videos):
# installs clients/python into that venv, runs scripts/bench-python.py (one process per tool
# and video) and writes the section between the python markers in BENCHMARKS.md, raw
# figures into docs/benchmarks/python.json.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
VENV=.bench/venv
VIDEOS=(.bench/h264_640x360_bf2_gop60.mp4 .bench/h264_1080p_bf3_gop250.mp4)
for v in "$VENV/bin/python" "${VIDEOS[@]}"; do
  [ -e "$v" ] || { echo "bench-python: $v is missing: run scripts/bench.sh first (make bench does)" >&2; exit 1; }
done
"$VENV/bin/pip" install -q --disable-pip-version-check ./clients/python
mkdir -p docs/benchmarks
"$VENV/bin/python" scripts/bench-python.py "${VIDEOS[@]}" > docs/benchmarks/python.json
python3 - docs/benchmarks/python.json <<'PY' | python3 scripts/peers/benchmarks_md.py python
import json, subprocess, sys, datetime
rows = json.load(open(sys.argv[1]))
cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
lines = [
    "<!-- python:begin -->",
    f"### Python: frameflow's package vs torchcodec and decord ({datetime.date.today()})",
    "",
    f"`make bench` (`scripts/bench-python.sh`), {cpu} cores, one process per tool and video, FFmpeg threads automatic. "
    "`random`: median of 10 calls of 10 random exact frames (after a first call that opens the decoder); `clips`: "
    "`clips_at_random_indices` (8 clips × 16 frames), median of 5 calls; peak RSS of the process (torch is imported "
    "by all three here). `same frames`: the first call's frames hash the same across the tools.",
    "",
    "| video | tool | random (ms / call) | clips / s | peak RSS MiB | first-call frames (sha256) |",
    "|---|---|---|---|---|---|",
]
for r in rows:
    name = r["video"].split("/")[-1]
    if "failed" in r:
        lines.append(f"| {name} | {r['tool']} | failed: {r['failed']} | | | |")
        continue
    lines.append(f"| {name} | {r['tool']} | {r['random_ms']:.1f} | {r['clips_per_s']:.1f} | {r['peak_rss_mib']:.0f} | `{r['first_call_rgb_sha']}` |")
lines += ["", "<!-- python:end -->"]
print("\n".join(lines))
PY
