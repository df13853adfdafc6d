#!/usr/bin/env python3
"""The Python package against torchcodec and decord, each in a process of its own, on the
same videos and the same frame lists (issue 17's benchmark; part of `make bench`).

usage: bench-python.py VIDEO...                 (the harness: prints a JSON summary)
       bench-python.py --run TOOL VIDEO SPEC     (one tool's process: prints its JSON)

Per video and tool: `random` — `calls` calls of 10 random exact frames (the first call opens
the decoder; the median is over the later ones); `clips` — `clips_at_random_indices` with 8
clips of 16 frames (frames 1 apart), median seconds per call over `reps`, reported as clips/s;
and the process's peak RSS. Frames go out as uint8 (N, C, H, W) (decord's NHWC is transposed,
as a torchcodec user would). One FFmpeg thread setting for all: automatic (0), except
frameflow's Python default (1) is overridden to 0 too.
"""

import json
import random
import resource
import statistics
import subprocess
import sys
import time


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(tool, video, spec):
    import numpy as np

    rng = random.Random(spec["seed"])
    if tool == "frameflow":
        from frameflow import VideoDecoder
        from frameflow.samplers import clips_at_random_indices

        open_decoder = lambda: VideoDecoder(video, num_ffmpeg_threads=0)
        frames_at = lambda d, idx: np.asarray(d.get_frames_at(idx).data)
        clips = lambda d: np.asarray(clips_at_random_indices(d, num_clips=8, num_frames_per_clip=16, seed=rng.getrandbits(63)).data)
    elif tool == "torchcodec":
        from torchcodec.decoders import VideoDecoder
        from torchcodec.samplers import clips_at_random_indices

        open_decoder = lambda: VideoDecoder(video, num_ffmpeg_threads=0, seek_mode="exact")
        frames_at = lambda d, idx: d.get_frames_at(idx).data.numpy()
        clips = lambda d: clips_at_random_indices(d, num_clips=8, num_frames_per_clip=16).data.numpy()
    elif tool == "decord":
        import decord

        open_decoder = lambda: decord.VideoReader(video, num_threads=0)
        frames_at = lambda d, idx: d.get_batch(idx).asnumpy().transpose(0, 3, 1, 2)

        def clips(d):
            starts = [rng.randrange(len(d) - 16) for _ in range(8)]
            idx = [s + k for s in starts for k in range(16)]
            return d.get_batch(idx).asnumpy().transpose(0, 3, 1, 2)
    else:
        raise SystemExit(f"unknown tool {tool}")

    out = {"tool": tool}
    start = time.perf_counter()
    d = open_decoder()
    out["open_ms"] = (time.perf_counter() - start) * 1e3
    n = spec["frames"]
    times = []
    for call in spec["random_calls"]:
        start = time.perf_counter()
        got = frames_at(d, call)
        times.append(time.perf_counter() - start)
        assert got.shape[0] == len(call)
    out["random_ms"] = statistics.median(times[1:]) * 1e3
    # frameflow: frames decoded per frame asked (the reference chains the packets need).
    decoded = (lambda: d._core_here().frames_decoded()) if tool == "frameflow" else None
    if decoded:
        out["random_decoded_per_needed"] = decoded() / sum(len(set(c)) for c in spec["random_calls"])
    out["first_call_rgb_sha"] = __import__("hashlib").sha256(np.ascontiguousarray(frames_at(d, spec["random_calls"][0])).tobytes()).hexdigest()[:16]
    clip_times = []
    before = decoded() if decoded else 0
    needed = 0
    for _ in range(spec["clip_reps"] + 1):
        start = time.perf_counter()
        got = clips(d)
        clip_times.append(time.perf_counter() - start)
        needed += got.shape[0] * got.shape[1] if got.ndim == 5 else got.shape[0]
    if decoded:
        out["clips_decoded_per_needed"] = (decoded() - before) / needed
    out["clips_per_s"] = 8 / statistics.median(clip_times[1:])
    out["peak_rss_mib"] = peak_rss_mib()
    assert n > 0
    return out


def main():
    if sys.argv[1] == "--run":
        tool, video, spec = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
        print(json.dumps(run(tool, video, spec)))
        return
    results = []
    for video in sys.argv[1:]:
        probe = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0", "-show_entries", "stream=nb_read_packets",
                                "-of", "csv=p=0", video], capture_output=True, text=True, check=True)
        frames = int(probe.stdout.strip())
        rng = random.Random(11)
        spec = {"seed": 7, "frames": frames, "clip_reps": 5,
                "random_calls": [sorted(rng.sample(range(frames), 10)) for _ in range(11)]}
        for tool in ("frameflow", "torchcodec", "decord"):
            p = subprocess.run([sys.executable, __file__, "--run", tool, video, json.dumps(spec)], capture_output=True, text=True)
            if p.returncode != 0:
                results.append({"video": video, "tool": tool, "failed": p.stderr.strip().splitlines()[-1:] })
                continue
            r = json.loads(p.stdout)
            r["video"] = video
            results.append(r)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
