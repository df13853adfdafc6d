"""Peer benchmark harness: frameflow against FFmpeg CLI, PyAV, decord, torchcodec and
opencv-python, side by side, in one run, on the same files. Run by `make bench`
(scripts/bench.sh sets up the venv, the videos and the release build, then calls this).

Every measurement is its own process, so each tool's peak resident memory is the kernel's
figure for that process (ru_maxrss at exit). Times are medians; warm-ups and repetitions are
written into the report. Ratios are frameflow's speed divided by the peer's: above 1, frameflow
is faster.

Correctness: for the random-frame task every tool's frames are compared byte for byte with
frameflow's; a frame that differs is then matched against the FFmpeg CLI's frames at the
asked index and its neighbours (±2) to tell "same frame, other pixels" (a different YUV→RGB
conversion) from "wrong frame". Mismatches are findings to report, not failures.

usage: harness.py --bin FRAMEFLOW --peer-bench PEER_BENCH --sampler WASM --out DIR
                  [--benchmarks BENCHMARKS.md] [--quick] LABEL=VIDEO...
"""
import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNERS = os.path.join(HERE, "runners.py")
MEASURE = os.path.join(HERE, "measure.py")
PY = sys.executable
FLOW_ALGORITHMS = ["dis-ultrafast", "dis-fast", "dis-medium", "farneback"]
PROCESS_TIMEOUT_S = 300


# ------------------------------------------------------------------ processes
class Proc:
    """A finished process: wall time, peak RSS (MiB), stdout bytes when captured."""

    def __init__(self, argv, wall_s, peak_mib, stdout, returncode, stderr_tail):
        self.argv, self.wall_s, self.peak_mib = argv, wall_s, peak_mib
        self.stdout, self.returncode, self.stderr_tail = stdout, returncode, stderr_tail


def run(argv, capture=False, timeout=PROCESS_TIMEOUT_S):
    """Runs argv through measure.py (see there why); killed after `timeout` seconds."""
    err = tempfile.TemporaryFile()
    with tempfile.NamedTemporaryFile(suffix=".json") as measured:
        p = subprocess.Popen([PY, MEASURE, measured.name, *map(str, argv)],
                             stdout=subprocess.PIPE if capture else subprocess.DEVNULL, stderr=err,
                             start_new_session=True)
        timer = threading.Timer(timeout, lambda: os.killpg(p.pid, signal.SIGKILL))
        timer.start()
        out = p.stdout.read() if capture else None
        p.wait()
        timer.cancel()
        m = json.load(open(measured.name)) if p.returncode == 0 else {"wall_s": timeout, "peak_mib": 0, "exit": -9}
    err.seek(0)
    tail = err.read()[-2000:].decode(errors="replace")
    return Proc(argv, m["wall_s"], m["peak_mib"], out, m["exit"], tail)


def checked(proc, what):
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {' '.join(map(str, proc.argv))}\n{proc.stderr_tail}")
    return proc


def runner(tool, task, spec, capture=False, timeout=PROCESS_TIMEOUT_S):
    """A peer's runner (runners.py) in its own process; returns (Proc, result dict)."""
    with tempfile.TemporaryDirectory() as tmp:
        spec_path, result_path = os.path.join(tmp, "spec.json"), os.path.join(tmp, "result.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        if tool.startswith("frameflow") and tool != "frameflow-http":
            argv = [ARGS.peer_bench, task, spec_path, result_path]
        else:
            argv = [PY, RUNNERS, tool, task, spec_path, result_path]
        proc = checked(run(argv, capture=capture, timeout=timeout), f"{tool} {task}")
        with open(result_path) as f:
            return proc, json.load(f)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


# ------------------------------------------------------------------ inputs
def probe(path):
    info = json.loads(subprocess.check_output([ARGS.bin, "probe", path]))
    return {"frames": info["frame_count"], "width": info["width"], "height": info["height"],
            "fps": info["avg_fps"], "codec": info["codec"], "keyframes": len(info["keyframes"])}


def ffmpeg_frames(path, wanted, w, h):
    """FFmpeg CLI's RGB24 frames (every frame in presentation order) at the wanted indices."""
    size = w * h * 3
    p = subprocess.Popen(["ffmpeg", "-v", "error", "-i", path, "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    got, i = {}, 0
    while True:
        buf = p.stdout.read(size)
        if len(buf) < size:
            break
        if i in wanted:
            got[i] = np.frombuffer(buf, np.uint8).reshape(h, w, 3)
        i += 1
    p.wait()
    return got


# ------------------------------------------------------------------ 1. sequential decode
def bench_sequential(label, path, info, reps):
    rows = []
    ff_cli = [ARGS.bin, "frames", path, "--all", "--format", "rgb24", "-o", "-"]
    ffmpeg = ["ffmpeg", "-v", "error", "-i", path, "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    for tool, argv in [("frameflow CLI", ff_cli), ("FFmpeg CLI", ffmpeg)]:
        # CLIs: each run a whole process (its start-up is part of what a user waits for).
        checked(run(argv), tool)  # warm-up
        procs = [checked(run(argv), tool) for _ in range(reps)]
        rows.append({"tool": tool, "fps": info["frames"] / median([p.wall_s for p in procs]),
                     "peak_mib": max(p.peak_mib for p in procs)})
    for tool, name in [("frameflow", "frameflow (in-process)"), ("pyav", "PyAV"), ("decord", "decord"),
                       ("torchcodec", "torchcodec")]:
        times, peaks, frames, version = [], [], None, None
        for rep in range(reps + 1):
            proc, res = runner(tool, "seq", {"video": path})
            if rep:
                times.append(res["total_ms"] / 1e3)
                peaks.append(proc.peak_mib)
            frames = res["frames"]
        if frames != info["frames"]:
            raise RuntimeError(f"{name} decoded {frames} frames of {path}, the index says {info['frames']}")
        rows.append({"tool": name, "fps": frames / median(times), "peak_mib": max(peaks)})
        if "version" in res:
            VERSIONS[name] = res["version"]
    for r in rows:
        print(f"  seq {label:10} {r['tool']:14} {r['fps']:8.1f} fps  {r['peak_mib']:7.0f} MiB", flush=True)
    return rows


# ------------------------------------------------------------------ 2. random frames
class Server:
    """`frameflow serve` on a free loopback port with a scratch store, through measure.py so
    that its peak memory is its own; stopped with SIGINT (a graceful shutdown)."""

    def __init__(self):
        self.store = tempfile.mkdtemp(prefix="frameflow-bench-store-")
        self.measured = os.path.join(self.store, "measured.json")
        self.log = tempfile.TemporaryFile()
        self.p = subprocess.Popen([PY, MEASURE, self.measured, ARGS.bin, "serve", "--listen", "127.0.0.1:0",
                                   "--store", f"file://{self.store}/objects", "--upload-limit", str(1 << 34)],
                                  stdout=subprocess.PIPE, stderr=self.log)
        line = self.p.stdout.readline().decode()
        m = re.search(r"(http://\S+)", line)
        if not m:
            self.log.seek(0)
            raise RuntimeError(f"frameflow serve did not start: {line!r} {self.log.read()[-1000:]!r}")
        self.url = m.group(1)

    def upload(self, path):
        with open(path, "rb") as f:
            req = urllib.request.Request(f"{self.url}/v1/videos?name={os.path.basename(path)}", data=f.read(), method="POST")
        with urllib.request.urlopen(req) as r:
            return json.load(r)["id"]

    def stop(self):
        self.p.send_signal(signal.SIGINT)
        self.p.wait(timeout=30)
        with open(self.measured) as f:
            peak = json.load(f)["peak_mib"]
        shutil.rmtree(self.store, ignore_errors=True)
        return peak


def bench_random(label, path, info, calls_n, per_call, seed, timeout=PROCESS_TIMEOUT_S):
    rng = random.Random(seed)
    calls = [[rng.randrange(info["frames"]) for _ in range(per_call)] for _ in range(calls_n)]
    w, h = info["width"], info["height"]
    size = w * h * 3

    def frames_of(stdout):
        asked = [i for c in calls for i in c]
        if len(stdout) != size * len(asked):
            return f"returned {len(stdout)} bytes for {len(asked)} frames of {w}×{h}"
        return [(i, np.frombuffer(stdout, np.uint8, size, k * size).reshape(h, w, 3)) for k, i in enumerate(asked)]

    rows, frames = [], {}
    for tool, name in [("frameflow", "frameflow (in-process)"), ("frameflow-http", "frameflow (HTTP)"),
                       ("torchcodec", "torchcodec"), ("decord", "decord"), ("pyav", "PyAV")]:
        spec = {"video": path, "calls": calls}
        server = None
        try:
            if tool == "frameflow-http":
                server = Server()
                spec.update(url=server.url, id=server.upload(path))
            proc, res = runner(tool, "random", spec, capture=True, timeout=timeout)
        except (RuntimeError, OSError) as e:
            # A tool that fails on a file is a finding for the correctness table, not the end of the run.
            # The last line of the tool's stderr, without a C++ source location prefix.
            frames[name] = "failed: " + re.sub(r"^.*?\.(cc|cpp|c):\d+: ", "", str(e).strip().splitlines()[-1])[:200]
            print(f"  random {label:10} {name:24} {frames[name]}", flush=True)
            continue
        finally:
            server_peak = server.stop() if server else None
        frames[name] = frames_of(proc.stdout)
        rows.append({"tool": name, "first_ms": res["call_ms"][0], "repeated_ms": median(res["call_ms"][1:]),
                     "peak_mib": server_peak if server else proc.peak_mib,
                     "client_peak_mib": proc.peak_mib if server else None})
        r = rows[-1]
        print(f"  random {label:10} {r['tool']:24} first {r['first_ms']:8.1f} ms  repeated {r['repeated_ms']:8.1f} ms"
              f"  {r['peak_mib']:6.0f} MiB", flush=True)
    return rows, check_frames(label, path, w, h, frames)


def check_frames(label, path, w, h, frames):
    """Each tool's frames vs frameflow's, and mismatches identified against FFmpeg CLI's frames."""
    ours = frames["frameflow (in-process)"]
    if isinstance(ours, str):
        print(f"  check {label:10} frameflow {ours}: nothing to compare with", flush=True)
        return [{"video": label, "tool": name, "error": got if isinstance(got, str) else "not compared: frameflow failed"}
                for name, got in frames.items()]
    wanted = {j for i, _ in ours for j in range(i - 2, i + 3)}
    reference = ffmpeg_frames(path, wanted, w, h)
    report = []
    cli = ([(i, reference[i]) for i, _ in ours] if all(i in reference for i, _ in ours)
           else f"FFmpeg CLI gave {len(reference)} of the frames asked for")
    # frameflow in-process is the reference itself; FFmpeg CLI's frames anchor it.
    for name, got in [("FFmpeg CLI", cli)] + [(n, g) for n, g in frames.items() if n != "frameflow (in-process)"]:
        if isinstance(got, str):
            report.append({"video": label, "tool": name, "compared": 0, "identical": 0, "same_frame_other_pixels": 0,
                           "max_mae_vs_frameflow": 0, "wrong": [], "unrecognised": [], "error": got})
            print(f"  check {label:10} {name:24} {got}", flush=True)
            continue
        identical, same_frame, wrong, unknown, max_mae = 0, 0, [], [], 0.0
        for (i, a), (_, b) in zip(got, ours):
            if np.array_equal(a, b):
                identical += 1
                continue
            mae = {j: float(np.abs(a.astype(np.int16) - reference[j]).mean()) for j in range(i - 2, i + 3)
                   if j in reference and reference[j].shape == a.shape}
            best = min(mae, key=lambda j: (mae[j], j != i)) if mae else None
            if best is None or mae[best] > 20:
                unknown.append({"index": i, "mae": round(mae[best], 1) if best is not None else None})
            elif best == i:
                same_frame += 1
                max_mae = max(max_mae, float(np.abs(a.astype(np.int16) - b).mean()))
            else:
                wrong.append({"index": i, "returned": best, "mae": round(mae[best], 2)})
        report.append({"video": label, "tool": name, "compared": len(got), "identical": identical,
                       "same_frame_other_pixels": same_frame, "max_mae_vs_frameflow": round(max_mae, 2),
                       "wrong": wrong, "unrecognised": unknown})
        print(f"  check {label:10} {name:24} {identical}/{len(got)} identical, {same_frame} other pixels "
              f"(max MAE {max_mae:.2f}), wrong {len(wrong)}, unrecognised {len(unknown)}", flush=True)
    return report


# ------------------------------------------------------------------ 3. clips
def bench_clips(label, path, clips, per_clip, reps):
    rows = []
    spec = {"video": path, "clips": clips, "frames_per_clip": per_clip, "reps": reps, "sampler": ARGS.sampler}
    for tool, name in [("frameflow", "frameflow"), ("torchcodec", "torchcodec"), ("decord", "decord")]:
        proc, res = runner(tool, "clips", spec)
        row = {"tool": name, "clips_per_s": clips / (median(res["call_ms"]) / 1e3), "peak_mib": proc.peak_mib}
        if "frames_decoded" in res:
            row["decoded_per_needed"] = sum(res["frames_decoded"]) / sum(res["frames_needed"])
        rows.append(row)
        print(f"  clips {label:10} {name:12} {row['clips_per_s']:8.2f} clips/s  {row['peak_mib']:6.0f} MiB", flush=True)
    return rows


# ------------------------------------------------------------------ 4. flow
def bench_flow(path, sizes, seconds):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            w, h = size.split("x")
            pngs = []
            for i in (100, 101):
                png = os.path.join(tmp, f"{size}_{i}.png")
                checked(run([ARGS.bin, "frame", path, "--index", str(i), "--width", w, "--height", h,
                             "--format", "png", "-o", png]), "frameflow frame")
                pngs.append(png)
            spec = {"a": pngs[0], "b": pngs[1], "algorithms": FLOW_ALGORITHMS, "seconds": seconds}
            for tool, name in [("frameflow", "frameflow"), ("opencv", "opencv-python")]:
                proc, res = runner(tool, "flow", spec)
                if tool == "opencv":
                    VERSIONS["opencv-python"] = res["version"]
                for algo, times in res["pair_ms"].items():
                    rows.append({"size": size, "algorithm": algo, "tool": name, "pairs_per_s": 1e3 / median(times),
                                 "pairs": len(times), "peak_mib": proc.peak_mib})
                    print(f"  flow {size:8} {algo:14} {name:14} {rows[-1]['pairs_per_s']:8.1f} pairs/s", flush=True)
    return rows


# ------------------------------------------------------------------ report
VERSIONS = {}


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) // (1024 * 1024) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    os_name = next((l.split("=", 1)[1].strip().strip('"') for l in open("/etc/os-release") if l.startswith("PRETTY_NAME")), platform.system())
    return f"{os.cpu_count()} cores, {cpu}, {mem} GiB RAM, {os_name}"


def tool_versions():
    ffmpeg = subprocess.check_output(["ffmpeg", "-version"]).decode().splitlines()[0].split(" Copyright")[0]
    opencv = subprocess.run(["pkg-config", "--modversion", "opencv4"], capture_output=True, text=True).stdout.strip()
    git = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip()
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    libav = subprocess.run(["pkg-config", "--modversion", "libavcodec"], capture_output=True, text=True).stdout.strip()
    return {"frameflow": f"frameflow {git} (release, {rustc}; system FFmpeg libavcodec {libav}, OpenCV {opencv})",
            "FFmpeg CLI": ffmpeg, **VERSIONS}


def ratio_cell(ours, theirs, faster_is_higher=True):
    return f"{ours / theirs if faster_is_higher else theirs / ours:.2f}×"


def frameflow_row_for(rows, r):
    """The frameflow row a peer's row is compared with; None for frameflow's own rows."""
    if r["tool"].startswith("frameflow"):
        return None
    kind = "CLI" if r["tool"].endswith("CLI") else "in-process"
    return next((x for x in rows if x["tool"].startswith("frameflow") and kind in x["tool"]), rows[0])


def speed_rows(tables, key, fmt, note=lambda r: ""):
    """Table rows `| video | tool | figure | frameflow ÷ tool | peak |`; each peer is compared
    with the frameflow row of its kind (CLI with CLI, libraries with frameflow in-process)."""
    out = []
    for label, rows in tables.items():
        for r in rows:
            ours = frameflow_row_for(rows, r)
            ratio = "—" if ours is None else ratio_cell(ours[key], r[key])
            out.append(f"| {label} | {r['tool']}{note(r)} | {r[key]:{fmt}} | {ratio} | {r['peak_mib']:.0f} MiB |\n")
    return out


def render(results):
    s, p = results["settings"], []
    p.append(f"Run {results['date']} on {results['machine']}; whole run {results['elapsed_min']:.1f} min. "
             f"Command: `make bench` (or `./scripts/bench.sh`). Ratio = frameflow's speed ÷ the peer's "
             f"(above 1: frameflow faster). Peak memory: the process's peak resident set (the kernel's "
             f"`ru_maxrss` at exit), one process per measurement; for Python peers it includes the "
             f"interpreter and the library's import (torchcodec's includes torch). Decoder threads: "
             f"FFmpeg's automatic choice in every tool.\n")
    p.append("Versions: " + "; ".join(f"{v}" for v in results["versions"].values()) + ".\n")
    p.append("Inputs: " + "; ".join(f"`{k}` {v['width']}×{v['height']} {v['codec']}, {v['frames']} frames at "
                                    f"{v['fps']:g} fps, {v['keyframes']} key frame{'s' if v['keyframes'] != 1 else ''}" for k, v in results["videos"].items()) + ".\n")
    p.append(f"\n![frameflow ÷ peer, per task](docs/benchmarks/peers.png)\n")

    p.append(f"\n### 1. Sequential decode to RGB24 (frames/s; 1 warm-up + {s['seq_reps']} runs, median)\n\n"
             "CLIs are timed as whole processes writing raw RGB24 to /dev/null (start-up included: frameflow's is "
             f"{s.get('startup_ms', {}).get('frameflow', float('nan')):.0f} ms, ffmpeg's {s.get('startup_ms', {}).get('ffmpeg', float('nan')):.0f} ms, "
             "`--version`, median of 10; `frameflow probe` of the smallest file, "
             f"{s.get('probe_file', '?')}, {s.get('probe_ms', {}).get('frameflow probe', float('nan')):.0f} ms against `ffmpeg -i` "
             f"{s.get('probe_ms', {}).get('ffmpeg -i', float('nan')):.0f} ms); in-process tools from open to the last frame copied out as an H×W×3 uint8 "
             "array, Python import excluded. Ratios against frameflow CLI for the CLI, frameflow in-process for the libraries.\n\n"
             "| video | tool | frames/s | frameflow ÷ tool | peak memory |\n|---|---|---|---|---|\n")
    p += speed_rows(results["seq"], "fps", ".1f")

    p.append(f"\n### 2. {s['per_call']} random frames per call, exact (first call opens the video; then "
             f"{s['calls'] - 1} repeated calls with new indices on the open decoder, median)\n\n"
             "frameflow (HTTP) is `frameflow serve` with one keep-alive connection, one `GET /frames?indices=...&format=raw` "
             "per call (the batch route: the frames as RGB24 in one body), first call right after upload; its memory is the server's peak. PyAV: one demux pass maps "
             "index → pts, then seek to the key frame before each frame and decode forward.\n\n"
             "| video | tool | first call | repeated call | frameflow ÷ tool (first / repeated) | peak memory |\n"
             "|---|---|---|---|---|---|\n")
    for label, rows in results["random"].items():
        ff = rows[0]
        for r in rows:
            ours = frameflow_row_for(rows, r)
            ratio = "—" if ours is None else f"{ratio_cell(ff['first_ms'], r['first_ms'], False)} / {ratio_cell(ff['repeated_ms'], r['repeated_ms'], False)}"
            p.append(f"| {label} | {r['tool']} | {r['first_ms']:.0f} ms | {r['repeated_ms']:.0f} ms | {ratio} | {r['peak_mib']:.0f} MiB |\n")

    p.append(f"\n#### Correctness of the random frames ({s['per_call']} × {s['calls']} frames per video, the same indices for every tool)\n\n"
             "Each tool's frames against frameflow's, byte for byte: a cell counts the identical ones. A frame that "
             "differs is matched against the FFmpeg CLI's frames at the asked index ±2 by mean absolute difference: "
             "closest at the asked index = the right frame with other pixels (another YUV→RGB conversion); closest "
             "elsewhere = a wrong frame, listed under the table.\n\n")
    tools = list(dict.fromkeys(rep["tool"] for rep in results["correctness"]))
    p.append("| video | " + " | ".join(tools) + " |\n|---|" + "---|" * len(tools) + "\n")
    by_video, findings = {}, []
    for rep in results["correctness"]:
        by_video.setdefault(rep["video"], {})[rep["tool"]] = rep
        where = f"`{rep['video']}`, {rep['tool']}"
        if rep.get("error"):
            findings.append(f"{where}: {rep['error']}")
            continue
        if rep["wrong"]:
            shown = ", ".join(f"{w['index']}→{w['returned']}" for w in rep["wrong"][:10])
            findings.append(f"{where}: {len(rep['wrong'])} of {rep['compared']} frames are another frame "
                            f"(asked → returned: {shown}{' …' if len(rep['wrong']) > 10 else ''})")
        if rep["unrecognised"]:
            findings.append(f"{where}: {len(rep['unrecognised'])} frames unlike the asked frame and its neighbours")
        if rep["same_frame_other_pixels"]:
            findings.append(f"{where}: {rep['same_frame_other_pixels']} right frames with other pixels "
                            f"(mean abs. difference up to {rep['max_mae_vs_frameflow']:.2f})")
    for video, reps in by_video.items():
        cells = []
        for t in tools:
            rep = reps.get(t)
            if rep is None:
                cells.append("")
            elif rep.get("error"):
                cells.append("failed")
            else:
                cells.append(f"{rep['identical']}/{rep['compared']}")
        p.append(f"| {video} | " + " | ".join(cells) + " |\n")
    p.append("\nFindings: " + ("none: every tool returned frameflow's bytes for every frame.\n" if not findings
                                 else "\n\n" + "".join(f"- {f}\n" for f in findings)))

    p.append(f"\n### 3. Random {s['frames_per_clip']}-frame clips (clips/s; {s['clips']} clips per call, fresh open per call, "
             f"1 warm-up + {s['clip_reps']} calls, median)\n\n"
             "frameflow: the `random-clip` sampler component plans, the media core decodes each distinct frame once "
             "into one N×F×H×W×3 buffer. torchcodec: `clips_at_random_indices`. decord: random starts, one `get_batch`.\n\n"
             "| video | tool | clips/s | frameflow ÷ tool | peak memory |\n|---|---|---|---|---|\n")
    p += speed_rows(results["clips"], "clips_per_s", ".2f", lambda r: f" (decodes {r['decoded_per_needed']:.2f} frames "
                    "per frame needed)" if "decoded_per_needed" in r else "")

    p.append(f"\n### 4. Optical flow (pairs/s; frames 100→101 of `{s['flow_video']}` as greyscale PNG; 1 warm-up pair, "
             f"then pairs for {s['flow_seconds']:g} s (at least 5), median pair time)\n\n"
             "| size | algorithm | frameflow | opencv-python | frameflow ÷ opencv-python | peak memory (frameflow / opencv-python) |\n"
             "|---|---|---|---|---|---|\n")
    flow = {}
    for r in results["flow"]:
        flow.setdefault((r["size"], r["algorithm"]), {})[r["tool"]] = r
    for (size, algo), t in flow.items():
        a, b = t["frameflow"], t["opencv-python"]
        p.append(f"| {size} | {algo} | {a['pairs_per_s']:.1f} | {b['pairs_per_s']:.1f} | {ratio_cell(a['pairs_per_s'], b['pairs_per_s'])} | "
                 f"{a['peak_mib']:.0f} / {b['peak_mib']:.0f} MiB |\n")
    return "".join(p)


def ratios(results):
    """(task, label, ratio) for the chart."""
    out = []
    for task, key, table, faster in [("decode", "fps", "seq", True), ("random (repeated)", "repeated_ms", "random", False),
                                      ("clips", "clips_per_s", "clips", True)]:
        for label, rows in results[table].items():
            for r in rows:
                ours = frameflow_row_for(rows, r)
                if ours is not None:
                    value = ours[key] / r[key] if faster else r[key] / ours[key]
                    out.append((task, f"{label} vs {r['tool']}", value))
    flow = {}
    for r in results["flow"]:
        flow.setdefault((r["size"], r["algorithm"]), {})[r["tool"]] = r["pairs_per_s"]
    out += [("flow", f"{size} {algo} vs opencv-python", t["frameflow"] / t["opencv-python"]) for (size, algo), t in flow.items()]
    return out


def chart(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    data = ratios(results)
    colours = {"decode": "#4c72b0", "random (repeated)": "#dd8452", "clips": "#55a868", "flow": "#c44e52"}
    fig, ax = plt.subplots(figsize=(9, 0.28 * len(data) + 1.5))
    ys = range(len(data))[::-1]
    ax.barh(list(ys), [r for _, _, r in data], color=[colours[t] for t, _, _ in data])
    ax.set_yticks(list(ys), [f"{t}: {l}" for t, l, _ in data], fontsize=7)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ticks = [t for t in (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10) if min(r for *_, r in data) / 1.2 <= t <= max(r for *_, r in data) * 1.2]
    ax.set_xticks(ticks, [f"{t:g}×" for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("frameflow ÷ peer (speed; > 1: frameflow faster, log scale)")
    ax.set_title(f"frameflow vs peers, {results['date']}, {os.cpu_count()} cores", fontsize=9)
    for y, (_, _, r) in zip(ys, data):
        ax.text(r, y, f" {r:.2f}×", va="center", fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_benchmarks(md_path, section):
    begin, end = "<!-- peers:begin (written by scripts/peers/harness.py) -->", "<!-- peers:end -->"
    text = open(md_path).read() if os.path.exists(md_path) else "# Benchmarks\n"
    block = f"{begin}\n## Peers, side by side (`make bench`)\n\n{section}{end}"
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        head, _, rest = text.partition("\n## ")
        text = f"{head.rstrip()}\n\n{block}\n\n## {rest}" if rest else f"{text.rstrip()}\n\n{block}\n"
    with open(md_path, "w") as f:
        f.write(text)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--peer-bench", required=True)
    ap.add_argument("--sampler", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--benchmarks")
    ap.add_argument("--quick", action="store_true", help="one repetition each: checks the harness, not the figures")
    ap.add_argument("--check", action="append", default=[], metavar="LABEL=VIDEO",
                    help="a video for the random-frame correctness check only (odd files: VFR, non-zero start...)")
    ap.add_argument("videos", nargs="+", metavar="LABEL=VIDEO")
    ARGS = ap.parse_args()
    quick = ARGS.quick
    settings = {"seq_reps": 1 if quick else 5, "calls": 2 if quick else 6, "per_call": 10, "clips": 8,
                "frames_per_clip": 16, "clip_reps": 1 if quick else 5, "flow_seconds": 0.2 if quick else 2.0,
                "flow_sizes": ["340x256", "640x360"]}
    videos = dict(v.split("=", 1) for v in ARGS.videos)
    settings["startup_ms"] = {name: 1e3 * median([checked(run(argv), name).wall_s for _ in range(10)])
                              for name, argv in [("frameflow", [ARGS.bin, "--version"]), ("ffmpeg", ["ffmpeg", "-version"])]}
    # Issue 18's start-up target: `frameflow probe` against `ffmpeg -i` (which exits 1: no
    # output named) on the smallest video of the run.
    small = min([v for v in videos.values()] + [c.split("=", 1)[1] for c in ARGS.check], key=os.path.getsize)
    probe_runs = {"frameflow probe": [ARGS.bin, "probe", small], "ffmpeg -i": ["ffmpeg", "-hide_banner", "-i", small]}
    settings["probe_file"] = os.path.basename(small)
    settings["probe_ms"] = {}
    for name, argv in probe_runs.items():
        walls = []
        for _ in range(10):
            proc = run(argv)
            if proc.returncode not in (0, 1) or (name == "frameflow probe" and proc.returncode != 0):
                checked(proc, name)
            walls.append(proc.wall_s)
        settings["probe_ms"][name] = 1e3 * median(walls)
    started = time.perf_counter()
    results = {"date": datetime.date.today().isoformat(), "machine": machine(), "settings": settings,
               "videos": {}, "seq": {}, "random": {}, "correctness": [], "clips": {}, "flow": []}
    for label, path in videos.items():
        info = results["videos"][label] = probe(path)
        print(f"{label}: {path} {info}", flush=True)
        results["seq"][label] = bench_sequential(label, path, info, settings["seq_reps"])
        rows, report = bench_random(label, path, info, settings["calls"], settings["per_call"], seed=7)
        results["random"][label] = rows
        results["correctness"] += report
        results["clips"][label] = bench_clips(label, path, settings["clips"], settings["frames_per_clip"], settings["clip_reps"])
    for label, path in (v.split("=", 1) for v in ARGS.check):
        info = results["videos"][label] = probe(path)
        print(f"{label} (correctness only): {path} {info}", flush=True)
        _, report = bench_random(label, path, info, settings["calls"], settings["per_call"], seed=7, timeout=120)
        results["correctness"] += report
    flow_label = next((l for l in videos if "640x360" in l), next(iter(videos)))
    settings["flow_video"] = flow_label
    results["flow"] = bench_flow(videos[flow_label], settings["flow_sizes"], settings["flow_seconds"])
    results["versions"] = tool_versions()
    results["elapsed_min"] = (time.perf_counter() - started) / 60
    os.makedirs(ARGS.out, exist_ok=True)
    with open(os.path.join(ARGS.out, "peers.json"), "w") as f:
        json.dump(results, f, indent=1)
    chart(results, os.path.join(ARGS.out, "peers.png"))
    section = render(results)
    with open(os.path.join(ARGS.out, "peers.md"), "w") as f:
        f.write(section)
    if ARGS.benchmarks and not quick:
        write_benchmarks(ARGS.benchmarks, section)
    print(f"done in {results['elapsed_min']:.1f} min: {ARGS.out}/peers.md, peers.png, peers.json", flush=True)


if __name__ == "__main__":
    main()
