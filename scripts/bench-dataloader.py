#!/usr/bin/env python3
"""A PyTorch DataLoader over 16-frame random clips: frameflow's ClipDataset against the same
pipeline on torchcodec (issue 17's DataLoader benchmark; part of `make bench` through
scripts/bench-python.sh). Each tool runs in a process of its own.

usage: bench-dataloader.py VIDEO                 (both tools: prints a JSON list)
       bench-dataloader.py --run TOOL VIDEO      (one tool's process: prints its JSON)

The dataset is the video listed ITEMS times; item i is one clip of 16 consecutive frames at
a random start (seeded per item), uint8 (16, 3, H, W). DataLoader(num_workers=4,
batch_size=None, prefetch_factor=2), the default start method (fork); one warm-up pass of 4
items, then clips/s over ITEMS items. Peak RSS: the largest of the main process and its
workers (ru_maxrss of self and of waited-for children).
"""

import json
import resource
import subprocess
import sys
import time

ITEMS = 48
WORKERS = 4


def run(tool, video):
    import torch
    from torch.utils.data import DataLoader, Dataset

    if tool == "frameflow":
        from frameflow.torch import ClipDataset

        dataset = ClipDataset([video] * ITEMS, params={"num_clips": 1, "num_frames_per_clip": 16}, seed=1,
                              decoder_options={"num_ffmpeg_threads": 1})
        to_tensor = lambda item: torch.as_tensor(item.data[0])
    elif tool == "torchcodec":
        from torchcodec.decoders import VideoDecoder
        from torchcodec.samplers import clips_at_random_indices

        class TorchcodecClips(Dataset):
            """What a torchcodec user writes: a decoder per worker, one clip per item."""

            def __init__(self):
                self.decoder = None

            def __len__(self):
                return ITEMS

            def __getitem__(self, i):
                if self.decoder is None:
                    self.decoder = VideoDecoder(video, num_ffmpeg_threads=1, seek_mode="exact")
                torch.manual_seed(1 + i)
                return clips_at_random_indices(self.decoder, num_clips=1, num_frames_per_clip=16)

        dataset = TorchcodecClips()
        to_tensor = lambda item: item.data[0]
    else:
        raise SystemExit(f"unknown tool {tool}")

    loader = DataLoader(dataset, batch_size=None, num_workers=WORKERS, prefetch_factor=2, persistent_workers=True)
    shape = None
    it = iter(loader)
    for _ in range(WORKERS):  # warm-up: every worker opens its decoder
        shape = tuple(to_tensor(next(it)).shape)
    start = time.perf_counter()
    n = 0
    for epoch in range(2):
        for item in loader:
            clip = to_tensor(item)
            assert clip.dtype == torch.uint8 and tuple(clip.shape) == shape, (clip.dtype, clip.shape)
            n += 1
    seconds = time.perf_counter() - start
    del it, loader
    rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return {"tool": tool, "video": video, "clips": n, "clip_shape": list(shape), "clips_per_s": n / seconds, "peak_rss_mib": rss}


def main():
    if sys.argv[1] == "--run":
        print(json.dumps(run(sys.argv[2], sys.argv[3])))
        return
    video = sys.argv[1]
    rows = []
    for tool in ["frameflow", "torchcodec"]:
        out = subprocess.run([sys.executable, __file__, "--run", tool, video], capture_output=True, text=True)
        if out.returncode != 0:
            rows.append({"tool": tool, "video": video, "failed": out.stderr.strip().splitlines()[-1:]})
        else:
            rows.append(json.loads(out.stdout))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
