#!/usr/bin/env python3
"""Soak benchmark driver: N concurrent keep-alive clients against a running `frameflow serve`.

Each client loops until the time is up, picking per request: a random exact frame (JPEG,
70%), a 160-px thumbnail of a random frame (25%), or a small sampling job (5%). Reports
latency percentiles per kind, statuses, and the server's resident memory (sampled every
5 s from /proc): before the run, after warm-up, at the end, and the peak. Standard library only.

usage: soak.py URL VIDEO_ID VIDEO_KEY FRAMES SERVER_PID CLIENTS SECONDS OUT.json
"""
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main():
    url, video_id, video_key, frames, pid, clients, seconds, out = sys.argv[1:9]
    frames, pid, clients, seconds = int(frames), int(pid), int(clients), float(seconds)
    target = urllib.parse.urlparse(url)
    # SOAK_JOBS: the share of requests that create a job (default 0.05; 0 for frames only).
    jobs_share = float(os.environ.get("SOAK_JOBS", "0.05"))
    results = []  # (kind, status, seconds)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    job_body = json.dumps({"videos": [{"key": video_key}], "sampler": "random-clip", "modality": "rgb",
                           "params": {"num_clips": 2, "frames_per_clip": 4}}).encode()

    def client(seed):
        rng = random.Random(seed)
        conn = None
        local = []
        while time.monotonic() < deadline:
            r = rng.random()
            index = rng.randrange(frames)
            if r < 0.70 * (1 - jobs_share) / 0.95:
                kind, method, path, body = "frame", "GET", f"/v1/videos/{video_id}/frame?index={index}", None
            elif r < 1 - jobs_share:
                kind, method, path, body = "thumbnail", "GET", f"/v1/videos/{video_id}/frame?index={index}&width=160", None
            else:
                kind, method, path, body = "job", "POST", "/v1/jobs", job_body
            started = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
                headers = {"content-type": "application/json"} if body else {}
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                if resp.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                status = f"error:{type(e).__name__}"
                if conn is not None:
                    conn.close()
                conn = None
            local.append((kind, status, time.monotonic() - started))
        with lock:
            results.extend(local)

    rss = []
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            rss.append((time.monotonic(), rss_mib(pid)))
            stop.wait(5)

    watcher = threading.Thread(target=sampler, daemon=True)
    watcher.start()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    elapsed = time.monotonic() - began

    def pct(values, p):
        if not values:
            return None
        values = sorted(values)
        return values[min(len(values) - 1, int(p / 100 * len(values)))]

    kinds = {}
    for kind in ("frame", "thumbnail", "job"):
        rows = [r for r in results if r[0] == kind]
        ok = [r[2] for r in rows if r[1] in (200, 201)]
        statuses = {}
        for r in rows:
            statuses[str(r[1])] = statuses.get(str(r[1]), 0) + 1
        kinds[kind] = {
            "requests": len(rows),
            "ok": len(ok),
            "p50_ms": None if not ok else round(pct(ok, 50) * 1000, 1),
            "p99_ms": None if not ok else round(pct(ok, 99) * 1000, 1),
            "statuses": statuses,
        }
    samples = [m for _, m in rss if m is not None]
    # "start" is after warm-up (decoders opened, caches filled): the first sample past
    # 10% of the run (at most 60 s in); "end" the last one.
    warm_after = began + min(60.0, seconds * 0.1)
    warm = [m for t, m in rss if m is not None and t >= warm_after]
    report = {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(results),
        "per_second": round(len(results) / elapsed, 1),
        "kinds": kinds,
        "rss_mib": {
            "before": round(samples[0], 1) if samples else None,
            "start": round(warm[0], 1) if warm else None,
            "end": round(samples[-1], 1) if samples else None,
            "max": round(max(samples), 1) if samples else None,
        },
        "rss_series_mib": [[round(t - began, 1), m] for t, m in rss if m is not None],
        "server_alive": rss_mib(pid) is not None,
    }
    with open(out, "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
