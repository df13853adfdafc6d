#!/usr/bin/env python3
"""Drives scripts/bench-analytics.sh's server: uploads a video and ~10^6 generated
detections, then times the detections queries and seed 002's analytics routes.

usage: bench-analytics.py BASE_URL VIDEO WORKDIR  (prints JSON)
"""

import json
import os
import random
import statistics
import sys
import time
import urllib.request

BASE, VIDEO, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
FRAMES = 180_000
REPS = 5


def call(method, path, body=None, headers=None):
    req = urllib.request.Request(BASE + path, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=600) as r:
        return r.status, r.read()


def timed(path):
    call("GET", path)  # the first run copies the file locally and warms the pool
    times = []
    for _ in range(REPS):
        t = time.perf_counter()
        status, _ = call("GET", path)
        times.append((time.perf_counter() - t) * 1000)
        assert status == 200, (status, path)
    return round(statistics.median(times), 1)


def detections(path):
    """~1e6 detections: 2000 traces of ~500 (trace 7: 10 000), 40 identities; written as JSON Lines."""
    rng = random.Random(7)
    rows = 0
    identities = [f"id-{k:02d}" for k in range(40)]
    with open(path, "w") as f:
        for trace in range(2000):
            n = 10_000 if trace == 7 else 495
            start = rng.randrange(0, FRAMES - n)
            identity = identities[trace % 40] if trace % 5 else None
            x, y = rng.randrange(0, 200), rng.randrange(0, 100)
            for k in range(n):
                d = {"frame": start + k, "trace_id": trace, "kind": "face",
                     "bbox": {"x": x, "y": y, "width": 40 + k % 30, "height": 40 + k % 30},
                     "confidence": round(0.5 + (k * 7919 % 500) / 1000, 3),
                     "identity": {"uuid": identity, "name": identity.upper(), "source": "tmdb"} if identity else None}
                f.write(json.dumps(d) + "\n")
                rows += 1
    return rows


def main():
    with open(VIDEO, "rb") as f:
        status, body = call("POST", "/v1/videos?name=film.mp4", f.read())
    assert status == 201, status
    vid = json.loads(body)["id"]
    path = os.path.join(WORK, "detections.jsonl")
    rows = detections(path)
    with open(path, "rb") as f:
        data = f.read()
    t = time.perf_counter()
    status, body = call("PUT", f"/v1/videos/{vid}/detections", data, {"content-type": "application/x-ndjson"})
    upload_ms = round((time.perf_counter() - t) * 1000)
    assert status == 200, body
    stats = json.loads(body)
    result = {
        "frames": FRAMES, "rows": rows, "traces": stats["traces"], "identities": stats["identities"], "big_trace": 10_000,
        "upload_mb": round(len(data) / 1e6), "upload_ms": upload_ms, "reps": REPS,
        "page_trace_ms": timed(f"/v1/videos/{vid}/detections?trace_id=7&limit=1000"),
        "page_identity_ms": timed(f"/v1/videos/{vid}/detections?identity=id-03&limit=1000"),
        "page_range_ms": timed(f"/v1/videos/{vid}/detections?from_frame=60000&to_frame=75000&limit=1000"),
        "face_ms": timed(f"/api/v1/file/{vid}/trace/7/representative-face"),
        "thumbnail_ms": timed(f"/api/v1/file/{vid}/trace/7/thumbnail"),
        "cooccur_ms": timed(f"/api/v1/file/{vid}/identities/id-01/co-occur-with/id-02"),
        "frame_ms": timed(f"/api/v1/file/{vid}/representative-frame"),
    }
    print(json.dumps(result, indent=1))


main()
