#!/usr/bin/env python3
"""Containment benchmark: tenant B's frame latency alone, then while tenant A keeps a
sampler that loops (or hoards memory) running in jobs. Called by scripts/bench-tenants.sh
with a running server; prints one JSON object.

usage: bench-tenants.py URL KEY_A KEY_B VIDEO_ID_B VIDEO_KEY_A_SHORT VIDEO_KEY_A_LONG FRAMES CLIENTS SECONDS
"""

import http.client
import json
import random
import sys
import threading
import time
import urllib.parse


def connection(url):
    parsed = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)


def call(conn, method, path, key, body=None):
    headers = {"x-api-key": key}
    if body is not None:
        body = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def frames_load(url, key, video_id, frames, clients, seconds):
    """`clients` keep-alive clients asking for random exact frames for `seconds`."""
    latencies, statuses, lock = [], {}, threading.Lock()
    deadline = time.time() + seconds

    def client(seed):
        rng = random.Random(seed)
        conn = connection(url)
        while time.time() < deadline:
            started = time.perf_counter()
            try:
                status, _ = call(conn, "GET", f"/v1/videos/{video_id}/frame?index={rng.randrange(frames)}", key)
            except (OSError, http.client.HTTPException):
                status = 0
                conn = connection(url)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1) if latencies else None
    return {"requests": sum(statuses.values()), "statuses": statuses, "p50_ms": pick(0.50), "p99_ms": pick(0.99),
            "rps": round(sum(statuses.values()) / seconds, 1)}


def hostile_jobs(url, key, videos, mode, stop, report):
    """Keeps one job of the misbehaving sampler going until `stop` is set; records how long
    each took to fail and why."""
    conn = connection(url)
    while not stop.is_set():
        started = time.time()
        status, body = call(conn, "POST", "/v1/jobs", key,
                            {"videos": videos, "sampler": "evil", "params": {"mode": mode, "min_frames": 200}})
        if status != 201:
            report.append({"created": status, "body": body.decode(errors="replace")[:200]})
            time.sleep(1)
            continue
        job = json.loads(body)["id"]
        while not stop.is_set():
            _, body = call(conn, "GET", f"/v1/jobs/{job}", key)
            state = json.loads(body)
            if state["state"] in ("failed", "succeeded", "stopped"):
                report.append({"state": state["state"], "seconds": round(time.time() - started, 2), "error": (state.get("error") or "")[:160]})
                break
            time.sleep(0.1)


def main():
    url, key_a, key_b, video_b, short_a, long_a, frames, clients, seconds = sys.argv[1:10]
    frames, clients, seconds = int(frames), int(clients), int(seconds)
    result = {"clients": clients, "seconds": seconds}
    frames_load(url, key_b, video_b, frames, clients, 5)  # warm-up
    result["alone"] = frames_load(url, key_b, video_b, frames, clients, seconds)
    for mode in ("loop", "alloc"):
        stop, report = threading.Event(), []
        hostile = threading.Thread(target=hostile_jobs, args=(url, key_a, [short_a, long_a], mode, stop, report))
        hostile.start()
        time.sleep(1)
        result[f"beside_{mode}"] = frames_load(url, key_b, video_b, frames, clients, seconds)
        stop.set()
        hostile.join()
        result[f"beside_{mode}"]["tenant_a_jobs"] = report
    print(json.dumps(result))


if __name__ == "__main__":
    main()
