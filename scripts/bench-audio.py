#!/usr/bin/env python3
"""frameflow's AudioDecoder against torchcodec's, each in a process of its own, on the same
files and the same windows (issue 31's audio benchmark; part of `make bench` through
scripts/bench-python.sh).

usage: bench-audio.py FILE...                    (prints a JSON list, one row per file and tool)
       bench-audio.py --run TOOL FILE SPEC       (one tool's process: prints its JSON)
       bench-audio.py --markdown JSON            (that list as BENCHMARKS.md's table)

Per file and tool: `whole` — `get_all_samples()` on a fresh decoder, median seconds over
`reps`; `windows` — 100 random 1 s windows (`get_samples_played_in_range(t, t + 1)`, the same
seeded times for both tools, in random order, one decoder), total seconds; `same whole`: the
two tools' whole-file samples hash the same.
"""

import hashlib
import json
import random
import statistics
import subprocess
import sys
import time


def run(tool, path, spec):
    import numpy as np

    if tool == "frameflow":
        from frameflow import AudioDecoder
    elif tool == "torchcodec":
        from torchcodec.decoders import AudioDecoder
    else:
        raise SystemExit(f"unknown tool {tool}")
    as_np = lambda s: np.asarray(s.data.numpy() if hasattr(s.data, "numpy") else s.data)
    out = {"tool": tool, "file": path}
    times, digest = [], None
    for _ in range(spec["reps"]):
        t = time.perf_counter()
        samples = AudioDecoder(path).get_all_samples()
        times.append(time.perf_counter() - t)
        data = as_np(samples)
        digest = digest or hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest()[:16]
    out.update(whole_s=statistics.median(times), samples=int(data.shape[1]), channels=int(data.shape[0]), whole_sha=digest)
    duration = data.shape[1] / samples.sample_rate
    rng = random.Random(spec["seed"])
    starts = [rng.uniform(0, duration - 1.0) for _ in range(spec["windows"])]
    decoder = AudioDecoder(path)
    t = time.perf_counter()
    got = sum(as_np(decoder.get_samples_played_in_range(s, s + 1.0)).shape[1] for s in starts)
    out.update(windows_s=time.perf_counter() - t, window_samples=got)
    return out


def markdown(rows):
    def cells(r):
        if "failed" in r:
            return [f"failed: {r['failed']}", "", "", ""]
        return [f"{r['whole_s'] * 1000:.1f}", f"{r['windows_s'] * 1000:.1f}", f"{r['channels']} x {r['samples']}", f"`{r['whole_sha']}`"]

    head = [
        "AudioDecoder (`scripts/bench-audio.py`), each tool in its own process: `whole`: `get_all_samples()` on a fresh "
        "decoder (opening included), median of 5; `100 windows`: 100 random 1 s windows (`get_samples_played_in_range(t, "
        "t + 1)`, the same seeded times, random order) on one decoder, total. The same `whole samples` hash: bit-identical.",
        "",
        "| file | tool | whole (ms) | 100 windows (ms) | samples | whole samples (sha256) |",
        "|---|---|---|---|---|---|",
    ]
    return "\n".join(head + ["| " + " | ".join([r["file"].split("/")[-1], r["tool"], *cells(r)]) + " |" for r in rows])


def main():
    if sys.argv[1] == "--markdown":
        print(markdown(json.load(open(sys.argv[2]))))
        return
    if sys.argv[1] == "--run":
        print(json.dumps(run(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))))
        return
    spec = {"reps": 5, "windows": 100, "seed": 31}
    rows = []
    for path in sys.argv[1:]:
        for tool in ("frameflow", "torchcodec"):
            p = subprocess.run([sys.executable, __file__, "--run", tool, path, json.dumps(spec)], capture_output=True, text=True)
            rows.append(json.loads(p.stdout) if p.returncode == 0 else {"tool": tool, "file": path, "failed": p.stderr.strip().splitlines()[-1:]})
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
