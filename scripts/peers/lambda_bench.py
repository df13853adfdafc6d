"""frameflow-lambda's cold start and warm invocations (scripts/bench-aws.sh), under
cargo-lambda's emulator (`cargo lambda watch --only-lambda-apis`) with the release binary,
on a moto S3 bucket, with the shipped manifest and components. Invocations go to the
emulator's Invoke API (`POST /2015-03-31/functions/_/invocations`), the event files from
tests/lambda/:

- cold: function process started -> the S3 put's answer (init: components compiled into
  an empty /tmp-like cache, then the video registered: probe and packet index);
- first frame: the function URL request for frame 100 right after (decoder opened);
- warm: the same frame request again, and the S3 event again (already handled), medians.

usage: lambda_bench.py ROOT FUNCTION_BIN CARGO_LAMBDA MOTO_SERVER VIDEO WORKDIR OUT.json
"""
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loopback import free_port, wait_port  # noqa: E402

root, function_bin, cargo_lambda, moto_server, video, work, out = sys.argv[1:8]
BUCKET = "frameflow-lambda-e2e"


procs = []
try:
    moto_port = free_port()
    procs.append(subprocess.Popen([moto_server, "-H", "127.0.0.1", "-p", str(moto_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_port(moto_port)
    endpoint = f"http://127.0.0.1:{moto_port}"
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ALLOW_HTTP="true", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1")
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench")
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(video, BUCKET, "deployment/tenants/default/incoming/lambda.mp4")
    os.makedirs(work, exist_ok=True)
    cache = os.path.join(work, "tmp-cache")
    subprocess.run(["rm", "-rf", cache], check=True)
    config = os.path.join(work, "runtime-config.toml")
    open(config, "w").write(f'store = "s3://{BUCKET}/deployment"\ncache_dir = "{cache}"\n')

    port = free_port()
    procs.append(subprocess.Popen([cargo_lambda, "lambda", "watch", "--only-lambda-apis", "--timeout", "300", "--invoke-address", "127.0.0.1", "--invoke-port", str(port)], cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_port(port)
    fenv = dict(env, AWS_LAMBDA_RUNTIME_API=f"http://127.0.0.1:{port}/.rt", AWS_LAMBDA_FUNCTION_NAME="_", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="4096", AWS_LAMBDA_FUNCTION_VERSION="1",
                FRAMEFLOW_CONFIG=os.path.join(root, "infra/frameflow.toml"), FRAMEFLOW_RUNTIME_CONFIG=config, FRAMEFLOW_LOG="warn")

    def invoke(event):
        body = open(os.path.join(root, "tests/lambda", event), "rb").read()
        started = time.monotonic()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/2015-03-31/functions/_/invocations", data=body, method="POST")
        answer = json.loads(urllib.request.urlopen(req, timeout=300).read())
        return answer, time.monotonic() - started

    started = time.monotonic()
    procs.append(subprocess.Popen([function_bin], env=fenv, stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "function.log"), "w")))
    registered, _ = invoke("s3-put.json")
    cold = time.monotonic() - started
    assert registered.get("delivered") == 1, registered
    frame, first_frame = invoke("http-frame.json")
    assert frame.get("statusCode") == 200, str(frame)[:300]
    warm_frames = [invoke("http-frame.json")[1] for _ in range(10)]
    warm_events = [invoke("s3-put.json")[1] for _ in range(10)]
    result = {
        "cold_start_to_s3_event_answer_s": cold,
        "first_frame_s": first_frame,
        "warm_frame_median_ms": 1e3 * statistics.median(warm_frames),
        "warm_handled_event_median_ms": 1e3 * statistics.median(warm_events),
    }
    json.dump(result, open(out, "w"), indent=1)
    print(json.dumps(result))
finally:
    for p in reversed(procs):
        p.kill()
        p.wait()
