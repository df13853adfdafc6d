"""Peer side of the random-clips benchmark: torchcodec's clips_at_random_indices.

Same protocol as host/frameflow/examples/bench_clips.rs: per repetition a fresh
VideoDecoder (exact seek mode: it scans the file, as frameflow does), NUM_CLIPS clips of 16
consecutive frames, median of REPS. FFmpeg threads: automatic (0), as frameflow's decoder.
Prints one JSON line.

usage: bench_clips.py VIDEO NUM_CLIPS REPS
"""
import json
import statistics
import sys
import time

import torch
import torchcodec
from torchcodec.decoders import VideoDecoder
from torchcodec.samplers import clips_at_random_indices

path, clips, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times = []
for rep in range(reps):
    torch.manual_seed(rep)
    started = time.perf_counter()
    decoder = VideoDecoder(path, seek_mode="exact", num_ffmpeg_threads=0)
    batch = clips_at_random_indices(decoder, num_clips=clips, num_frames_per_clip=16)
    assert tuple(batch.data.shape[:2]) == (clips, 16)
    times.append(time.perf_counter() - started)
median = statistics.median(times)
print(json.dumps({"tool": f"torchcodec {torchcodec.__version__}", "video": path, "clips": clips, "reps": reps,
                  "median_s": median, "clips_per_s": clips / median}))
