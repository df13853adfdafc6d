"""One 200-clip job three ways (scripts/bench-queue.sh): one host; two hosts sharing it by
chunk claims alone; two hosts sharing it through a moto SQS work queue (`work = true`). Each
on a fresh moto bucket, release `frameflow serve` processes, the shipped manifest's
components. Reports the wall time from the job's creation to its success and the object-store
requests per chunk (`frameflow_store_requests_total` summed over the hosts, minus what they
had done before the job).

usage: queue_bench.py ROOT BIN MOTO_SERVER VIDEO WORKDIR OUT.json
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loopback import free_port, wait_port  # noqa: E402

root, binary, moto_server, video, work, out = sys.argv[1:7]
CLIPS = 200


def http(method, url, body=None):
    req = urllib.request.Request(url, data=body, method=method, headers={"content-type": "application/json"} if body and body[:1] == b"{" else {})
    return json.loads(urllib.request.urlopen(req, timeout=600).read() or b"null")


def store_requests(url):
    text = urllib.request.urlopen(f"{url}/metrics", timeout=30).read().decode()
    return sum(float(m.group(1)) for m in re.finditer(r'^frameflow_store_requests_total\{[^}]*\} (\S+)$', text, re.M))


procs = []
try:
    moto_port = free_port()
    procs.append(subprocess.Popen([moto_server, "-H", "127.0.0.1", "-p", str(moto_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_port(moto_port)
    endpoint = f"http://127.0.0.1:{moto_port}"
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ALLOW_HTTP="true", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1", FRAMEFLOW_LOG="warn")
    import boto3

    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench")
    s3, sqs = boto3.client("s3", **kw), boto3.client("sqs", **kw)
    manifest = open(os.path.join(root, "infra/frameflow.toml")).read().replace("../components/dist", os.path.join(root, "components/dist"))
    os.makedirs(work, exist_ok=True)
    results = {}
    for name, hosts, queued in [("one host", 1, False), ("two hosts, claims", 2, False), ("two hosts, work queue", 2, True)]:
        tag = re.sub(r"[^a-z0-9]+", "-", name).strip("-")
        bucket = f"bench-{tag}"
        s3.create_bucket(Bucket=bucket)
        text = manifest
        if queued:
            dlq = sqs.create_queue(QueueName=f"{tag}-dlq")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            queue = sqs.create_queue(QueueName=tag, Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "10"})})["QueueUrl"]
            text += f'\n[[trigger.queue]]\nurl = "{queue}"\nwork = true\nvisibility_timeout_s = 30\nwait_s = 1\nmax_messages = 1\n'
        path = os.path.join(work, f"{tag}.toml")
        open(path, "w").write(text)
        urls = []
        for h in range(hosts):
            port = free_port()
            cache = os.path.join(work, f"cache-{h}")
            config = os.path.join(work, f"{tag}-{h}.runtime.toml")
            open(config, "w").write(f'store = "s3://{bucket}/deployment"\ncache_dir = "{cache}"\nhost_id = "host-{h}"\n')
            procs.append(subprocess.Popen([binary, "serve", "--config", path, "--runtime-config", config, "--listen", f"127.0.0.1:{port}"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, f"{tag}-{h}.log"), "w")))
            wait_port(port)
            urls.append(f"http://127.0.0.1:{port}")
        created = http("POST", f"{urls[0]}/v1/videos?name=bench.mp4", open(video, "rb").read())
        before = sum(store_requests(u) for u in urls)
        started = time.monotonic()
        job = http("POST", f"{urls[0]}/v1/jobs", json.dumps({"videos": [created["key"]], "seed": 7, "chunk_clips": 1, "modality": "rgb",
                                                             "sampler": "random-clip", "params": {"num_clips": CLIPS, "frames_per_clip": 4}}).encode())
        while True:
            state = http("GET", f"{urls[-1]}/v1/jobs/{job['id']}")
            if state["state"] in ("succeeded", "failed"):
                break
            time.sleep(0.2)
        wall = time.monotonic() - started
        assert state["state"] == "succeeded", state
        requests = sum(store_requests(u) for u in urls) - before
        results[name] = {"wall_s": wall, "store_requests_per_chunk": requests / CLIPS, "clips": CLIPS}
        for p in procs[-hosts:]:
            p.kill()
            p.wait()
        del procs[-hosts:]
    json.dump(results, open(out, "w"), indent=1)
    print(json.dumps(results))
finally:
    for p in reversed(procs):
        p.kill()
        p.wait()
