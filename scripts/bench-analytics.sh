#!/usr/bin/env bash
# Analytics benchmark (part of `make bench`, not `make test`): a release `frameflow serve`
# with the shipped manifest; a 2-hour 320x180 25 fps H.264 video (180 000 frames, made once),
# about a million generated detections (a film's worth: ~5.5 faces a frame, 2 000 traces, 40
# identities, one trace of 10 000 detections). Measures the upload (PUT, JSON Lines), the
# detections queries (a page by trace, by identity, by frame range), the representative face
# of the 10 000-detection trace (top 10, 10 decodes, blurdetect), its thumbnail, the
# co-occurrence of two identities and the representative frame. Writes BENCHMARKS.md between
# the analytics markers and docs/benchmarks/analytics.json.
set -euo pipefail
source "$(dirname "$0")/bench-release.sh"

work="$root/.bench/analytics"
mkdir -p "$work"
VIDEO="$work/film_320x180_2h.mp4"
if [ ! -f "$VIDEO" ]; then
  ffmpeg -v error -y -f lavfi -i testsrc2=s=320x180:r=25:d=7200 -c:v libx264 -preset ultrafast -g 250 -bf 0 "$VIDEO"
fi

start_server "$work/server"
URL=$SERVER_URL

python3 scripts/bench-analytics.py "$URL" "$VIDEO" "$work" > "$work/result.json"
mkdir -p docs/benchmarks && cp "$work/result.json" docs/benchmarks/analytics.json

python3 - "$work/result.json" <<'PY' | python3 scripts/peers/benchmarks_md.py analytics
import json, subprocess, sys, datetime
r = json.load(open(sys.argv[1]))
cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
lines = [
    "<!-- analytics:begin -->",
    f"### Analytics over detections ({datetime.date.today()})",
    "",
    f"`make bench` (`scripts/bench-analytics.sh`): release `frameflow serve`, shipped manifest, {cpu} cores, file store; a "
    f"2-hour 320×180 video ({r['frames']} frames) and {r['rows']:,} generated detections ({r['traces']} traces, "
    f"{r['identities']} identities, one trace of {r['big_trace']:,}) uploaded as {r['upload_mb']} MB of JSON Lines. "
    f"Medians of {r['reps']} runs (the first query of a version copies the SQLite file locally; not counted).",
    "",
    "| what | ms |",
    "|---|---|",
    f"| upload: PUT the detections (parse, check, SQLite, index, store) | {r['upload_ms']} |",
    f"| detections of one trace, a page of 1000 | {r['page_trace_ms']} |",
    f"| detections of one identity, a page of 1000 | {r['page_identity_ms']} |",
    f"| detections of a 10-minute frame range, a page of 1000 | {r['page_range_ms']} |",
    f"| representative face of the {r['big_trace']:,}-detection trace (top 10, 10 frames decoded, blurdetect) | {r['face_ms']} |",
    f"| its 320×320 thumbnail | {r['thumbnail_ms']} |",
    f"| co-occurrence of the two main identities (+ both faces) | {r['cooccur_ms']} |",
    f"| representative frame (the fallback chain) | {r['frame_ms']} |",
    "",
    "<!-- analytics:end -->",
]
print("\n".join(lines))
PY
