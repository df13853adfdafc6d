"""The peers' side of the benchmark harness: one process per (tool, task, input).

usage: runners.py TOOL TASK SPEC.json RESULT.json

Each runner does what a user of that library would write, with the protocol of
host/frameflow/examples/peer_bench.rs (frameflow's side), so the harness can compare them:

- seq:    decode every frame to RGB24 (HWC uint8) in presentation order.
- random: `calls` lists of indices; the first call opens the video, later calls reuse it.
          Each call's frames go to stdout (raw RGB24, in the order asked) after its clock
          stops, for the harness's correctness check.
- clips:  `reps` times (after one warm-up): open afresh, `clips` random clips of
          `frames_per_clip` consecutive frames as one N x F x H x W x 3 array.
- flow:   optical-flow pairs on two greyscale PNGs (opencv-python), per-pair times.

Decoder threads: FFmpeg's automatic choice (0) everywhere, as frameflow and the ffmpeg CLI.
Clocks start after the library is imported: an import is paid once per process, not per call.
The result JSON also carries the process's resident memory after imports (`import_rss_mib`);
the harness reads the peak from the kernel when the process exits.
"""
import json
import random as pyrandom
import sys
import time


def rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


def ms(seconds):
    return seconds * 1e3


# ---------------------------------------------------------------- PyAV
def pyav_version():
    import av
    return f"PyAV {av.__version__} (FFmpeg {'.'.join(map(str, av.library_versions['libavcodec']))} libavcodec)"


def pyav_open(path):
    import av
    container = av.open(path)
    stream = container.streams.best("video")  # as ffmpeg, torchcodec and frameflow choose
    stream.thread_type = "AUTO"  # frame + slice threads, count automatic
    return container, stream


def pyav_seq(spec):
    container, stream = pyav_open(spec["video"])
    n = 0
    for frame in container.decode(stream):
        frame.to_ndarray(format="rgb24")
        n += 1
    return {"frames": n}


class PyAvRandom:
    """Exact frames by index with PyAV: one demux pass maps index -> pts (presentation order,
    as torchcodec's exact mode), then per frame: seek to the key frame at or before it and
    decode forward to that pts."""

    def __init__(self, path):
        container, stream = pyav_open(path)
        # Packets the container marks discard (edit lists) are not frames of the video.
        pts = sorted(p.pts for p in container.demux(stream) if p.pts is not None and p.size > 0 and not p.is_discard)
        self.path, self.pts = path, pts
        self.container, self.stream = pyav_open(path)

    def frame(self, index):
        target = self.pts[index]
        self.container.seek(target, stream=self.stream, backward=True, any_frame=False)
        for frame in self.container.decode(self.stream):
            if frame.pts is not None and frame.pts >= target:
                return frame.to_ndarray(format="rgb24")
        raise RuntimeError(f"PyAV: no frame at pts {target} in {self.path}")

    def frames(self, indices):
        return [self.frame(i) for i in indices]


# ---------------------------------------------------------------- decord
def decord_version():
    import decord
    return f"decord {decord.__version__}"


def decord_open(path):
    import decord
    return decord.VideoReader(path, ctx=decord.cpu(0), num_threads=0)


def decord_seq(spec):
    reader = decord_open(spec["video"])
    n = 0
    for _ in range(len(reader)):
        reader.next().asnumpy()
        n += 1
    return {"frames": n}


# ---------------------------------------------------------------- torchcodec
def torchcodec_version():
    import torch
    import torchcodec
    return f"torchcodec {torchcodec.__version__} (torch {torch.__version__}, system FFmpeg)"


def torchcodec_open(path):
    from torchcodec.decoders import VideoDecoder
    return VideoDecoder(path, seek_mode="exact", dimension_order="NHWC", num_ffmpeg_threads=0)


def torchcodec_seq(spec):
    decoder = torchcodec_open(spec["video"])
    n = 0
    for i in range(len(decoder)):
        decoder[i].numpy()
        n += 1
    return {"frames": n}


# ---------------------------------------------------------------- random frames
def random_frames(tool, spec):
    calls, out = spec["calls"], sys.stdout.buffer
    times = []
    started = time.perf_counter()
    if tool == "torchcodec":
        decoder = torchcodec_open(spec["video"])
        get = lambda idx: decoder.get_frames_at(idx).data.numpy()  # noqa: E731
    elif tool == "decord":
        reader = decord_open(spec["video"])
        get = lambda idx: reader.get_batch(idx).asnumpy()  # noqa: E731
    elif tool == "pyav":
        get = PyAvRandom(spec["video"]).frames
    elif tool == "frameflow-http":
        get = HttpFrames(spec["url"], spec["id"]).frames
    else:
        raise SystemExit(f"no random-frames runner for {tool}")
    opened = time.perf_counter() - started
    for n, idx in enumerate(calls):
        t = started if n == 0 else time.perf_counter()
        frames = get(idx)
        times.append(ms(time.perf_counter() - t))
        for f in frames:
            out.write(f if isinstance(f, bytes) else f.tobytes())
    out.flush()
    return {"open_ms": ms(opened), "call_ms": times}


class HttpFrames:
    """frameflow over HTTP: one keep-alive connection, one GET per call on the batch route
    (`/frames?indices=...&format=raw`: the frames as RGB24, back to back, in the order asked)."""

    def __init__(self, url, video_id):
        import http.client
        import urllib.parse
        u = urllib.parse.urlparse(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port)
        self.id = video_id

    def frames(self, indices):
        asked = ",".join(str(i) for i in indices)
        self.conn.request("GET", f"/v1/videos/{self.id}/frames?indices={asked}&format=raw")
        response = self.conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"frames {asked}: HTTP {response.status}: {response.read()[:200]!r}")
        # Read into one buffer and hand out views of it, as an array library would: the
        # frames are not copied again on the client.
        body = bytearray(int(response.getheader("content-length")))
        if response.readinto(body) != len(body):  # one call: the buffered reader fills it
            raise RuntimeError(f"frames {asked}: the body ended early")
        size, view = len(body) // max(len(indices), 1), memoryview(body)
        return [view[k * size:(k + 1) * size] for k in range(len(indices))]


# ---------------------------------------------------------------- clips
def random_clips(tool, spec):
    """Fresh open per repetition; one warm-up repetition first (not counted)."""
    clips, per_clip, reps = spec["clips"], spec["frames_per_clip"], spec["reps"]
    times = []
    for rep in range(reps + 1):
        started = time.perf_counter()
        if tool == "torchcodec":
            import torch
            from torchcodec.samplers import clips_at_random_indices
            torch.manual_seed(rep)
            batch = clips_at_random_indices(torchcodec_open(spec["video"]), num_clips=clips,
                                            num_frames_per_clip=per_clip).data.numpy()
        elif tool == "decord":
            # The usual decord clip loader: random starts, one get_batch for all clips.
            reader = decord_open(spec["video"])
            rng = pyrandom.Random(rep)
            starts = [rng.randrange(0, len(reader) - per_clip + 1) for _ in range(clips)]
            idx = [s + k for s in starts for k in range(per_clip)]
            batch = reader.get_batch(idx).asnumpy().reshape(clips, per_clip, *reader[0].shape)
        else:
            raise SystemExit(f"no clips runner for {tool}")
        elapsed = ms(time.perf_counter() - started)
        assert batch.shape[:2] == (clips, per_clip), batch.shape
        if rep > 0:
            times.append(elapsed)
    return {"call_ms": times}


# ---------------------------------------------------------------- flow
def opencv_version():
    import cv2
    return f"opencv-python-headless {cv2.__version__}"


def opencv_flow(spec):
    import cv2
    prev, nxt = cv2.imread(spec["a"], cv2.IMREAD_GRAYSCALE), cv2.imread(spec["b"], cv2.IMREAD_GRAYSCALE)
    # The parameters frameflow's FlowEngine uses (host/flow/src/compute.rs).
    presets = {"dis-ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "dis-fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
               "dis-medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
    out = {}
    for name in spec["algorithms"]:
        if name == "farneback":
            calc = lambda p, n: cv2.calcOpticalFlowFarneback(p, n, None, 0.5, 3, 15, 3, 5, 1.2, 0)  # noqa: E731
        else:
            dis = cv2.DISOpticalFlow_create(presets[name])
            calc = lambda p, n, dis=dis: dis.calc(p, n, None)  # noqa: E731
        calc(prev, nxt)
        start, times = time.perf_counter(), []
        while time.perf_counter() - start < spec.get("seconds", 2.0) or len(times) < 5:
            t = time.perf_counter()
            calc(prev, nxt)
            times.append(ms(time.perf_counter() - t))
        out[name] = times
    return {"pair_ms": out, "size": [prev.shape[1], prev.shape[0]]}


VERSIONS = {"pyav": pyav_version, "decord": decord_version, "torchcodec": torchcodec_version,
            "opencv": opencv_version, "frameflow-http": lambda: "frameflow (HTTP, rgb24)"}


def main():
    tool, task, spec_path, result_path = sys.argv[1:5]
    with open(spec_path) as f:
        spec = json.load(f)
    version = VERSIONS[tool]()  # imports the library before any clock starts
    import_rss = rss_mib()
    if task == "seq":
        started = time.perf_counter()
        result = {"pyav": pyav_seq, "decord": decord_seq, "torchcodec": torchcodec_seq}[tool](spec)
        result["total_ms"] = ms(time.perf_counter() - started)
    elif task == "random":
        result = random_frames(tool, spec)
    elif task == "clips":
        result = random_clips(tool, spec)
    elif task == "flow":
        result = opencv_flow(spec)
    else:
        raise SystemExit(f"unknown task {task}")
    result.update(version=version, import_rss_mib=import_rss)
    with open(result_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
