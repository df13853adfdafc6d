#!/usr/bin/env python3
"""Drives scripts/bench-tasks.sh's server: each built-in analyzer's analysed frames per second
over a 720p file, then the most 720p 25 fps realtime streams the host keeps up with.

usage: bench-tasks.py BASE_URL VIDEO_NAME  (prints JSON)
"""

import json
import sys
import time
import urllib.error
import urllib.request

BASE, VIDEO = sys.argv[1], sys.argv[2]
AREA = [{"X": 640, "Y": 0}, {"X": 1280, "Y": 0}, {"X": 1280, "Y": 720}, {"X": 640, "Y": 720}]
PARAMS = {
    "area_intrusion": {"DetectInfos": [{"HotArea": AREA}]},
    "tripwire": {"DetectInfos": [{"TripWire": {"LineStart": {"X": 640, "Y": 0}, "LineEnd": {"X": 640, "Y": 720}}}]},
    "scene_change": {},
    "face": {},
    "people": {},
}
LIVE_SECONDS = 20


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def task(tid, analyzer, realtime):
    status, body = call("POST", "/v1/tasks", {
        "id": tid, "source": {"address": f"file:{VIDEO}", "realtime": realtime},
        "analyzers": [{"name": analyzer, "params": PARAMS[analyzer]}]})
    assert status == 201, (status, body)


def state(tid):
    return call("GET", f"/v1/tasks/{tid}")[1]["status"]


def analyzers():
    out = {}
    for name in PARAMS:
        tid = f"bench-{name}"
        task(tid, name, False)
        while True:
            s = state(tid)
            if s["state"] not in ("starting", "running"):
                break
            time.sleep(0.5)
        assert s["state"] == "finished", s
        out[name] = round(s["processed_frames"] * 1000.0 / max(s["elapsed_ms"], 1), 1)
        call("DELETE", f"/v1/tasks/{tid}")
    return out


def live(n):
    ids = [f"live-{n}-{k}" for k in range(n)]
    for tid in ids:
        task(tid, "area_intrusion", True)
    time.sleep(LIVE_SECONDS)
    stats = [state(tid) for tid in ids]
    for tid in ids:
        call("DELETE", f"/v1/tasks/{tid}")
    time.sleep(1)
    processed = sum(s["processed_frames"] for s in stats)
    skipped = sum(s["skipped_frames"] for s in stats)
    fps = [s["processed_frames"] * 1000.0 / max(s["elapsed_ms"], 1) for s in stats]
    return {"skipped_pct": round(100.0 * skipped / max(processed + skipped, 1), 2),
            "fps_min": round(min(fps), 1), "fps_max": round(max(fps), 1)}


def main():
    result = {"analyzers": analyzers(), "live": {}, "live_seconds": LIVE_SECONDS}
    sustained = 0
    for n in [1, 2, 3, 4, 6, 8, 12, 16]:
        r = live(n)
        result["live"][str(n)] = r
        if r["skipped_pct"] < 1.0:
            sustained = n
        else:
            break
    result["live_sustained"] = sustained
    print(json.dumps(result, indent=1))


main()
