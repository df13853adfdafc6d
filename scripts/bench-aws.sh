#!/usr/bin/env bash
# Operating on AWS's terms (part of `make bench`, not `make test`): the drain on SIGTERM of a
# release `frameflow serve` under 32 keep-alive clients (time to exit, requests lost in
# flight), and the release `frameflow-lambda` under cargo-lambda's emulator on moto S3 (cold
# start to the first S3 event's answer, the first frame, warm invocations), and one 200-clip job
# on one host, two hosts by claims and two hosts through an SQS work queue. Writes the table
# between the aws markers of BENCHMARKS.md, raw figures into docs/benchmarks/aws.json.
# AWS_BENCH_WRITE=0 leaves BENCHMARKS.md alone.
set -euo pipefail
source "$(dirname "$0")/bench-release.sh"
cargo build --release --locked -p frameflow-lambda --quiet
TOOLS="${FRAMEFLOW_TOOLS:-$HOME/.cache/frameflow-tools}"
work="$root/.bench/aws"
mkdir -p "$work" docs/benchmarks
CLIP="$work/h264_640x360_30s.mp4"
if [ ! -f "$CLIP" ]; then
  ffmpeg -v error -y -f lavfi -i testsrc2=s=640x360:r=25:d=30 -c:v libx264 -preset veryfast -g 50 -bf 2 -pix_fmt yuv420p "$CLIP"
fi

# The drain: 32 clients for 5 s, then SIGTERM.
start_server "$work/drain"
CREATED=$(curl -sf -X POST --data-binary @"$CLIP" "$SERVER_URL/v1/videos?name=drain.mp4")
ID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$CREATED")
python3 scripts/peers/drain.py "$SERVER_URL" "$ID" 750 "${pids[-1]}" 32 5 "$work/drain.json" >/dev/null

# The function: cold, first frame, warm.
"$TOOLS/venv/bin/python" scripts/peers/lambda_bench.py "$root" "$TARGET/release/frameflow-lambda" "$TOOLS/venv/bin/cargo-lambda" \
  "$TOOLS/venv/bin/moto_server" "$CLIP" "$work/lambda" "$work/lambda.json" >/dev/null

# One 200-clip job: one host, two hosts on claims, two hosts on a work queue.
"$TOOLS/venv/bin/python" scripts/peers/queue_bench.py "$root" "$BIN" "$TOOLS/venv/bin/moto_server" "$CLIP" "$work/queue" "$work/queue.json" >/dev/null

python3 - "$work" "${AWS_BENCH_WRITE:-1}" <<'PY'
import datetime, json, re, subprocess, sys
work, write = sys.argv[1], sys.argv[2] == "1"
drain, fn = json.load(open(f"{work}/drain.json")), json.load(open(f"{work}/lambda.json"))
queue = json.load(open(f"{work}/queue.json"))
cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
c = drain["counts"]
lines = [
    "<!-- aws:begin -->",
    f"### SIGTERM drain and the Lambda function ({datetime.date.today()})",
    "",
    f"`make bench` (`scripts/bench-aws.sh`), release builds on {cpu} cores, a 30 s 640×360 H.264 video.",
    "",
    "**Drain**: 32 keep-alive clients loop over random exact frames (JPEG) of a release `frameflow serve`; "
    "after 5 s the server gets SIGTERM. *Lost in flight* = requests whose answer stopped part way, or that a fresh "
    "connection got no answer to (goal 0); *closed idle* = requests written onto a kept-alive connection just as "
    "the draining server closed it as idle (never read, nothing done; HTTP clients retry these); *refused* = new "
    "connections tried after the listener closed (what a load balancer still routing to the pod would see: the "
    "Deployment's preStop pause is there so that none is).",
    "",
    "| SIGTERM → exit | answered (before SIGTERM) | lost in flight | closed idle | refused after close | other statuses | frame p50 / p99 ms |",
    "|---|---|---|---|---|---|---|",
    f"| {drain['sigterm_to_exit_s']:.2f} s | {c['answered']} ({drain['answered_before_sigterm']}) | {c['broken']} | {c['closed_idle']} | {c['refused']} | {c['other']} | {drain['p50_ms']:.1f} / {drain['p99_ms']:.1f} |",
    "",
    "**frameflow-lambda** under `cargo lambda watch --only-lambda-apis` (the emulator of the Lambda Runtime API), "
    "moto S3, the shipped `infra/frameflow.toml` and components, invoked through the emulator's Invoke API with "
    "`tests/lambda/*.json`. Cold = process start (components compiled into an empty cache) to the answer of the "
    "S3 put (the video registered: probe and packet index).",
    "",
    "| cold start → S3 event answered | first frame (function URL, PNG) | warm frame, median | warm already-handled S3 event, median |",
    "|---|---|---|---|",
    f"| {fn['cold_start_to_s3_event_answer_s']:.2f} s | {1e3 * fn['first_frame_s']:.0f} ms | {fn['warm_frame_median_ms']:.0f} ms | {fn['warm_handled_event_median_ms']:.0f} ms |",
    "",
    "**One job, three ways**: a 200-clip RGB job (4 frames a clip, one clip a chunk) on moto S3 with release "
    "`frameflow serve` hosts: one host; two hosts sharing it by chunk claims alone; two hosts sharing it through a moto "
    "SQS work queue (`work = true`). Store requests per chunk = `frameflow_store_requests_total` over the hosts, "
    "from the job's creation to its success. Both hosts share this machine's 2 cores, so two hosts cannot be "
    "faster than one here; the row shows what the coordination costs.",
    "",
    "| how | wall time | store requests per chunk |",
    "|---|---|---|",
    *[f"| {name} | {r['wall_s']:.1f} s | {r['store_requests_per_chunk']:.1f} |" for name, r in queue.items()],
    "<!-- aws:end -->",
]
json.dump({"drain": drain, "lambda": fn, "queue": queue}, open("docs/benchmarks/aws.json", "w"), indent=1)
table = "\n".join(lines)
print(table)
if write:
    text = open("BENCHMARKS.md").read()
    if "<!-- aws:begin -->" in text:
        text = re.sub(r"<!-- aws:begin -->.*?<!-- aws:end -->", lambda _: table, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + table + "\n"
    open("BENCHMARKS.md", "w").write(text)
PY
