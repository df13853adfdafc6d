#!/usr/bin/env bash
# `make run`: starts the frameflow server on the embedded default (file store under ./data),
# registers a sample video, and prints URLs to open in a browser. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${CARGO_TARGET_DIR:-target}/release/frameflow"
LISTEN="${FRAMEFLOW_LISTEN:-127.0.0.1:8080}"
mkdir -p data/media
SAMPLE=data/media/sample.mp4
if [ ! -f "$SAMPLE" ]; then
  echo "generating $SAMPLE (10 s of 1280x720 H.264 with B-frames)..."
  ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=25 -t 10 \
    -c:v libx264 -preset veryfast -bf 3 -g 125 -pix_fmt yuv420p "$SAMPLE"
fi

LOG=data/server.log
"$BIN" serve --config infra/frameflow.toml --listen "$LISTEN" > "$LOG" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 300); do
  grep -q "listening on" "$LOG" 2>/dev/null && break
  kill -0 $SERVER 2>/dev/null || { cat "$LOG"; exit 1; }
  sleep 0.1
done
URL=$(grep -o 'http://[^ ]*' "$LOG" | head -1)

# Register the sample once (uploads are kept in data/store between runs).
ID=$(curl -sf "$URL/v1/videos" | python3 -c '
import json, sys
videos = [v for v in json.load(sys.stdin)["videos"] if v["name"] == "sample.mp4"]
print(videos[0]["id"] if videos else "")')
if [ -z "$ID" ]; then
  ID=$(curl -sf -X POST --data-binary @"$SAMPLE" "$URL/v1/videos?name=sample.mp4" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
fi

cat <<MSG

frameflow is serving on $URL (log: $LOG). Open in a browser:

  $URL/                                    (the viewer: scrub, step, flow overlay, upload)
  $URL/v1/videos/$ID/frame?index=100
  $URL/v1/videos/$ID/frame?time=4.5&width=640&format=png
  $URL/v1/videos/$ID/frames?from_index=0&count=10
  $URL/frame/sample.mp4?pts=51200          (seed 001's route, files under data/media)

Upload your own:  curl --data-binary @video.mp4 "$URL/v1/videos?name=video.mp4"
Ctrl-C stops the server.
MSG
wait $SERVER
