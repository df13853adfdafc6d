#!/usr/bin/env bash
# The Python package against torchcodec and decord (part of `make bench`, after
# scripts/bench.sh, which makes the peers' venv .bench/venv and the benchmark videos):
# installs clients/python into that venv, runs scripts/bench-python.py (one process per tool
# and video) and scripts/bench-dataloader.py (a 4-worker DataLoader, frameflow vs torchcodec),
# and scripts/bench-audio.py (AudioDecoder, frameflow vs torchcodec, on a generated 120 s AAC
# file and the corpus's nasa_13013.mp4 when present), and writes the section between the
# python markers in BENCHMARKS.md, raw figures into docs/benchmarks/python.json,
# dataloader.json and audio.json.
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
# A DataLoader (4 workers) over 16-frame clips of the 1080p video, frameflow vs torchcodec.
"$VENV/bin/python" scripts/bench-dataloader.py .bench/h264_1080p_bf3_gop250.mp4 > docs/benchmarks/dataloader.json
# AudioDecoder: a 120 s 48 kHz stereo AAC file (made once), and a real one from the corpus.
AUDIO=.bench/aac_48k_stereo_120s.m4a
[ -e "$AUDIO" ] || ffmpeg -v error -y -nostdin -f lavfi -i "aevalsrc=0.5*sin(2*PI*440*t)|0.3*sin(2*PI*1000*t+1):s=48000:d=120" \
  -c:a aac -b:a 128k "$AUDIO"
AUDIO_FILES=("$AUDIO")
NASA="${FRAMEFLOW_MEDIA:-$root/../shared/media}/videos/nasa_13013.mp4"
[ -e "$NASA" ] && AUDIO_FILES+=("$NASA")
"$VENV/bin/python" scripts/bench-audio.py "${AUDIO_FILES[@]}" > docs/benchmarks/audio.json
python3 - docs/benchmarks/python.json docs/benchmarks/dataloader.json docs/benchmarks/audio.json <<'PY' | python3 scripts/peers/benchmarks_md.py python
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
    "| video | tool | random (ms / call) | clips / s | frames decoded per frame returned (random / clips) | peak RSS MiB | first-call frames (sha256) |",
    "|---|---|---|---|---|---|---|",
]
for r in rows:
    name = r["video"].split("/")[-1]
    if "failed" in r:
        lines.append(f"| {name} | {r['tool']} | failed: {r['failed']} | | | | |")
        continue
    per = f"{r['random_decoded_per_needed']:.2f} / {r['clips_decoded_per_needed']:.2f}" if "clips_decoded_per_needed" in r else "–"
    lines.append(f"| {name} | {r['tool']} | {r['random_ms']:.1f} | {r['clips_per_s']:.1f} | {per} | {r['peak_rss_mib']:.0f} | `{r['first_call_rgb_sha']}` |")
loader = json.load(open(sys.argv[2]))
lines += [
    "",
    "DataLoader (`scripts/bench-dataloader.py`): `torch.utils.data.DataLoader(num_workers=4, batch_size=None)` over one "
    "random 16-frame clip per item of the 1080p video (frameflow's `ClipDataset`; for torchcodec the same item with its "
    "`clips_at_random_indices` and a decoder per worker), one FFmpeg thread per decoder, 96 clips after a warm-up; peak RSS "
    "of the largest process.",
    "",
    "| tool | clips / s | peak RSS MiB |",
    "|---|---|---|",
]
for r in loader:
    if "failed" in r:
        lines.append(f"| {r['tool']} | failed: {r['failed']} | |")
    else:
        lines.append(f"| {r['tool']} | {r['clips_per_s']:.2f} | {r['peak_rss_mib']:.0f} |")
# The AudioDecoder table, as bench-audio.py writes it.
audio = subprocess.run(["python3", "scripts/bench-audio.py", "--markdown", sys.argv[3]], capture_output=True, text=True, check=True)
lines += ["", audio.stdout.rstrip()]
lines += ["", "<!-- python:end -->"]
print("\n".join(lines))
PY
