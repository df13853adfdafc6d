#!/usr/bin/env python3
"""Measures delivery on two running servers (file store, S3 store) for one video; prints JSON.

usage: bench-delivery.py VIDEO FILE_URL S3_URL
"""

import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.parse

REPS = 5


def conn(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=300)


def timed(url, path, headers=None, first_byte=False):
    c = conn(url)
    start = time.perf_counter()
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    first = r.read(1)
    ttfb = time.perf_counter() - start
    rest = r.read()
    total = time.perf_counter() - start
    assert r.status in (200, 206), (path, r.status, rest[:200])
    return (ttfb if first_byte else total), len(first) + len(rest)


def upload(url, video):
    c = conn(url)
    with open(video, "rb") as f:
        c.request("POST", "/v1/videos?name=talk.mp4", body=f, headers={"content-length": str(os.path.getsize(video))})
        r = c.getresponse()
        body = r.read()
    assert r.status == 201, body[:300]
    return json.loads(body)


def median_ms(values):
    return round(statistics.median(values) * 1e3, 1)


def measure(url, video, frames, rng):
    record = upload(url, video)
    vid, size = record["id"], record["size"]
    out = {}
    out["ttfb_ms"] = median_ms([timed(url, f"/v1/videos/{vid}/video", {"range": "bytes=0-1048575"}, first_byte=True)[0] for _ in range(REPS)])
    whole = [timed(url, f"/v1/videos/{vid}/video") for _ in range(REPS)]
    assert all(n == size for _, n in whole)
    out["mb_per_s"] = round(size / 1e6 / statistics.median(t for t, _ in whole), 1)
    middle = size // 2
    out["middle_ms"] = median_ms([timed(url, f"/v1/videos/{vid}/video", {"range": f"bytes={middle}-{middle + (1 << 20) - 1}"})[0] for _ in range(REPS)])
    out["thumbnail_ms"] = median_ms([timed(url, f"/v1/videos/{vid}/thumbnail?frame={i}")[0] for i in frames])
    # Each storyboard request decodes again (only the client caches by ETag).
    out["storyboard_ms"] = median_ms([timed(url, f"/v1/videos/{vid}/storyboard.jpg?tiles=100&width=160")[0] for _ in range(3)])
    # Two-second cuts (50 frames at 25 fps) starting at the thumbnail frames.
    clip = lambda s, first_byte=False: timed(url, f"/v1/videos/{vid}/clip?start_frame={s}&end_frame={s + 49}", first_byte=first_byte)[0]
    out["clip_ms"] = median_ms([clip(s) for s in frames])
    out["clip_ttfb_ms"] = median_ms([clip(s, True) for s in frames])
    out["clip_mp4_ms"] = median_ms([timed(url, f"/v1/videos/{vid}/clip?start_frame={s}&end_frame={s + 49}&format=mp4")[0] for s in frames])
    out["cut_ms"] = median_ms([timed(url, f"/v1/videos/{vid}/video?start_frame={s}&end_frame={s + 49}")[0] for s in frames])
    out["animated_ms"] = median_ms([timed(url, f"/v1/videos/{vid}/animated?start={s / 25:.2f}&end={s / 25 + 3:.2f}&fps=10&width=320")[0] for s in frames[:5]])
    return out, size


def ffmpeg_thumbnail(video, seconds):
    start = time.perf_counter()
    subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{seconds:.3f}", "-i", video, "-frames:v", "1", "-f", "image2", "-c:v", "mjpeg", "-"],
                   check=True, capture_output=True)
    return time.perf_counter() - start


def ffmpeg_cut(video, seconds, args):
    """The seed's CLI cut: `-ss` before `-i` (a key frame seek, then decoded forward: exact
    when re-encoding), 50 frames, to a pipe."""
    start = time.perf_counter()
    subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{seconds:.3f}", "-i", video, "-frames:v", "50", *args, "-"],
                   check=True, capture_output=True)
    return time.perf_counter() - start


X264_TS = ["-c:v", "libx264", "-crf", "23", "-c:a", "aac", "-f", "mpegts"]


def main():
    video, file_url, s3_url = sys.argv[1:4]
    rng = random.Random(7)
    frames = [rng.randrange(15000) for _ in range(10)]
    result = {"reps": REPS, "thumbnail_frames": frames}
    result["file"], size = measure(file_url, video, frames, rng)
    result["s3"], _ = measure(s3_url, video, frames, rng)
    result["video_bytes"] = size
    result["ffmpeg_thumbnail_ms"] = median_ms([ffmpeg_thumbnail(video, i / 25) for i in frames])
    result["ffmpeg_clip_veryfast_ms"] = median_ms([ffmpeg_cut(video, i / 25, ["-preset", "veryfast", *X264_TS]) for i in frames])
    result["ffmpeg_clip_default_ms"] = median_ms([ffmpeg_cut(video, i / 25, X264_TS) for i in frames])
    result["ffmpeg_copy_ms"] = median_ms([ffmpeg_cut(video, i / 25, ["-c", "copy", "-f", "mp4", "-movflags", "frag_keyframe+empty_moov"]) for i in frames])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
