#!/usr/bin/env bash
# Analysis-task benchmark (part of `make bench`, not `make test`): a release `frameflow
# serve` with the shipped manifest; a 20 s 1280x720 25 fps H.264 video (testsrc2 with a
# moving white square) under the media root. Measures each built-in analyzer's analysed
# frames per second (a task over the file, every frame analysed, no pacing), then how many
# 720p 25 fps live streams the host keeps up with in realtime mode (files paced at their own
# rate, as a camera sends them: a stream is kept up with when under 1 % of its frames are
# skipped). Writes BENCHMARKS.md between the tasks markers and docs/benchmarks/tasks.json.
set -euo pipefail
source "$(dirname "$0")/bench-release.sh"

work="$root/.bench/tasks"
mkdir -p "$work/media"
VIDEO="$work/media/square_1280x720_20s.mp4"
if [ ! -f "$VIDEO" ]; then
  ffmpeg -v error -y -f lavfi -i testsrc2=s=1280x720:r=25:d=20 -f lavfi -i color=white:s=120x120:r=25:d=20 \
    -filter_complex "[0][1]overlay=x='40+1080*(1-abs(mod(n,150)/75-1))':y=300:eval=frame,format=yuv420p" \
    -c:v libx264 -preset veryfast -g 25 -bf 0 "$VIDEO"
fi

start_server "$work/server" --media-root "$work/media"
URL=$SERVER_URL

python3 scripts/bench-tasks.py "$URL" "$(basename "$VIDEO")" > "$work/result.json"
mkdir -p docs/benchmarks && cp "$work/result.json" docs/benchmarks/tasks.json

python3 - "$work/result.json" <<'PY' | python3 scripts/peers/benchmarks_md.py tasks
import json, subprocess, sys, datetime
r = json.load(open(sys.argv[1]))
cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
lines = [
    "<!-- tasks:begin -->",
    f"### Analysis tasks: analysed frames per second, live streams per host ({datetime.date.today()})",
    "",
    f"`make bench` (`scripts/bench-tasks.sh`): release `frameflow serve`, shipped manifest, {cpu} cores; a 20 s 1280×720 25 fps "
    "H.264 video (testsrc2 with a moving square) read from the media root. Each row: one task, every frame analysed, "
    "no pacing; frames per second = frames / the task's own elapsed time (decode, vision, the analyzer component, the rule).",
    "",
    "| analyzer | host work per frame | analysed frames/s (720p) |",
    "|---|---|---|",
]
what = {"area_intrusion": "MOG2 motion boxes + tracker", "tripwire": "MOG2 motion boxes + tracker",
        "scene_change": "scene score (64×36 thumbnails)", "face": "Haar frontal faces (640 px analysis picture) + tracker",
        "people": "HOG people (640 px analysis picture) + tracker"}
for name, fps in r["analyzers"].items():
    lines.append(f"| `{name}` | {what.get(name, '')} | {fps} |")
lines += [
    "",
    f"Live streams in realtime mode (`area_intrusion`; each stream a 720p 25 fps file paced at its rate, {r['live_seconds']} s): "
    + ", ".join(f"{n} at once: {s['skipped_pct']} % skipped, {s['fps_min']}–{s['fps_max']} fps each" for n, s in r["live"].items())
    + f". Kept up with (under 1 % skipped): **{r['live_sustained']}** streams.",
    "",
    "<!-- tasks:end -->",
]
print("\n".join(lines))
PY
