#!/usr/bin/env bash
# Job memory against video length (issue 18's memory target; part of `make bench`, not
# `make test`): the same local sampling job (`frameflow sample`, the server's plan executor
# and sampler components) on a 1-minute and a 1-hour 640x360 H.264 video (the hour is the
# minute 60 times, stream-copied), RGB and RGB+flow; peak RSS of the process. Writes
# BENCHMARKS.md between the memory markers and docs/benchmarks/memory.json.
set -euo pipefail
source "$(dirname "$0")/bench-release.sh"

work="$root/.bench/memory"
mkdir -p "$work"
MINUTE="$work/minute_640x360.mp4"
HOUR="$work/hour_640x360.mp4"
if [ ! -f "$MINUTE" ]; then
  ffmpeg -v error -y -f lavfi -i testsrc2=s=640x360:r=25:d=60 -c:v libx264 -preset veryfast -g 250 -bf 2 -pix_fmt yuv420p "$MINUTE"
fi
if [ ! -f "$HOUR" ]; then
  ffmpeg -v error -y -stream_loop 59 -i "$MINUTE" -c copy "$HOUR"
fi

python3 - "$BIN" "$MINUTE" "$HOUR" "$work" <<'PY' > "$work/result.json"
import json, os, resource, subprocess, sys, time
bin, minute, hour, work = sys.argv[1:5]
rows = []
for modality in ("rgb", "rgb+flow"):
    for name, video in (("1 minute", minute), ("1 hour", hour)):
        out = os.path.join(work, "out")
        subprocess.run(["rm", "-rf", out], check=True)
        params = json.dumps({"num_clips": 16, "frames_per_clip": 16})
        start = time.perf_counter()
        # A fresh child per run: RUSAGE_CHILDREN's peak is the largest child so far, so each
        # run is measured through a wrapper process of its own.
        wrapper = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL);"
                   " print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        peak_kib = int(subprocess.run([sys.executable, "-c", wrapper, bin, "sample", video, "--sampler", "random-clip", "--params", params,
                                       "--modality", modality, "--seed", "1", "--out", out, "--algorithm", "dis-fast"],
                                      check=True, capture_output=True, text=True).stdout)
        seconds = time.perf_counter() - start
        frames = sum(1 for line in open(os.path.join(out, "manifest.jsonl")))
        rows.append({"video": name, "modality": modality, "peak_rss_mib": peak_kib / 1024, "seconds": seconds, "outputs": frames})
print(json.dumps(rows, indent=1))
PY
mkdir -p docs/benchmarks && cp "$work/result.json" docs/benchmarks/memory.json

python3 - "$work/result.json" <<'PY' | python3 scripts/peers/benchmarks_md.py memory
import json, subprocess, sys, datetime
rows = json.load(open(sys.argv[1]))
cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
lines = ["<!-- memory:begin -->", f"### Job memory against video length ({datetime.date.today()})", "",
         f"`make bench` (`scripts/bench-memory.sh`), {cpu} cores: `frameflow sample` (the server's plan executor and sampler "
         "components, run locally) with `random-clip`, 16 clips × 16 frames, seed 1, DIS fast for flow, on a 1-minute and a "
         "1-hour 640×360 H.264 video (25 fps, GOP 250; the hour is the minute 60 times). Peak RSS of the process. Target "
         "(issue 18): the hour ≤ 1.2× the minute.", "",
         "| modality | video | outputs | seconds | peak RSS MiB | hour ÷ minute |", "|---|---|---|---|---|---|"]
by = {(r["modality"], r["video"]): r for r in rows}
for r in rows:
    ratio = ""
    if r["video"] == "1 hour":
        ratio = f"{r['peak_rss_mib'] / by[(r['modality'], '1 minute')]['peak_rss_mib']:.2f}×"
    lines.append(f"| {r['modality']} | {r['video']} | {r['outputs']} | {r['seconds']:.1f} | {r['peak_rss_mib']:.0f} | {ratio} |")
lines.append("<!-- memory:end -->")
print("\n".join(lines))
PY
