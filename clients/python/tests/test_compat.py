"""torchcodec compatibility: frameflow's VideoDecoder, Frame/FrameBatch and samplers against
torchcodec 0.17's documented behaviour.

Every test runs once per backend: ``frameflow`` always, ``torchcodec`` when it is importable
(``make compat`` makes a venv with the pinned torch and torchcodec and runs this file there),
with the expected values written from torchcodec's documentation, not read from either
library. A behaviour the two disagree on shows as a test that passes for one backend and
fails for the other. Tests that need torch itself (tensors as indices, ``torch.manual_seed``)
skip without it, so the NumPy-only part runs in ``make test`` against frameflow alone.
Deliberate differences are listed in clients/python/README.md and are not asserted here.
"""

import importlib.util
import io
import math
import os
import random
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

HAVE_TORCH = importlib.util.find_spec("torch") is not None
HAVE_TORCHCODEC = HAVE_TORCH and importlib.util.find_spec("torchcodec") is not None
needs_torch = pytest.mark.skipif(not HAVE_TORCH, reason="needs torch (make compat installs it)")

# The shared media corpus: FRAMEFLOW_MEDIA, by default ../shared/media from the repository root
# (relative values are taken from the repository root too).
_ROOT = Path(__file__).resolve().parents[3]
MEDIA = (_ROOT / os.environ.get("FRAMEFLOW_MEDIA", "../shared/media")).resolve() / "videos"


def _frameflow():
    import frameflow
    from frameflow import samplers

    return SimpleNamespace(name="frameflow", VideoDecoder=frameflow.VideoDecoder, Frame=frameflow.Frame,
                           FrameBatch=frameflow.FrameBatch, samplers=samplers, AudioDecoder=frameflow.AudioDecoder)


def _torchcodec():
    import torchcodec
    from torchcodec import decoders, samplers

    return SimpleNamespace(name="torchcodec", VideoDecoder=decoders.VideoDecoder, Frame=torchcodec.Frame,
                           FrameBatch=torchcodec.FrameBatch, samplers=samplers, AudioDecoder=decoders.AudioDecoder)


BACKENDS = [pytest.param(_frameflow, id="frameflow"),
            pytest.param(_torchcodec, id="torchcodec",
                         marks=pytest.mark.skipif(not HAVE_TORCHCODEC, reason="torchcodec is not installed (make compat)"))]


@pytest.fixture(params=BACKENDS)
def lib(request):
    return request.param()


def arr(x):
    """A tensor or array as NumPy."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def late_start(tmp_path_factory):
    """An MPEG-TS whose first frame is after 10 s (25 fps, 50 frames, B-frames)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("no ffmpeg CLI on PATH (scripts/setup.sh installs it)")
    path = tmp_path_factory.mktemp("videos") / "start10.ts"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=2", "-c:v", "libx264", "-preset", "veryfast", "-bf", "2",
           "-g", "20", "-pix_fmt", "yuv420p", "-output_ts_offset", "10", str(path))
    return path


def corpus(name):
    path = MEDIA / name
    if not path.exists():
        pytest.skip(f"{path} not found (the shared media corpus; set FRAMEFLOW_MEDIA)")
    return path


# The session fixture `video` (conftest.py): 320x240, 25 fps, 60 frames, pts k/25 s, key
# frames every 25, B-frames.
N, H, W, FPS = 60, 240, 320, 25.0


# --- metadata ----------------------------------------------------------------------------------


def test_metadata_has_the_scan_and_the_header(lib, video):
    d = lib.VideoDecoder(video)
    m = d.metadata
    assert len(d) == m.num_frames == m.num_frames_from_content == N
    assert d.stream_index == m.stream_index == 0
    assert (m.width, m.height, m.codec) == (W, H, "h264")
    assert m.begin_stream_seconds == pytest.approx(0.0)
    assert m.end_stream_seconds == pytest.approx(N / FPS)
    assert m.duration_seconds == pytest.approx(m.end_stream_seconds - m.begin_stream_seconds)
    assert m.average_fps == pytest.approx(FPS)
    # What the header says, as torchcodec reads it.
    assert m.num_frames_from_header == N
    assert m.average_fps_from_header == pytest.approx(FPS)
    assert m.duration_seconds_from_header == pytest.approx(N / FPS)
    assert m.begin_stream_seconds_from_header == pytest.approx(0.0)
    assert m.bit_rate and m.bit_rate > 0
    assert m.pixel_format == "yuv420p"


def test_key_frame_indices(lib, video):
    keys = [int(k) for k in arr(lib.VideoDecoder(video)._get_key_frame_indices())]
    assert keys == [0, 25, 50]


def test_a_stream_that_is_not_there_or_not_video(lib, video, tmp_path):
    with pytest.raises(ValueError):
        lib.VideoDecoder(video, stream_index=5)
    with_audio = tmp_path / "with_audio.mp4"
    ffmpeg("-i", str(video), "-f", "lavfi", "-i", "sine=d=2.4", "-c:v", "copy", "-c:a", "aac", "-map", "0:v", "-map", "1:a",
           str(with_audio))
    with pytest.raises(ValueError):
        lib.VideoDecoder(with_audio, stream_index=1)
    assert lib.VideoDecoder(with_audio).stream_index == 0


def test_a_late_first_frame_moves_the_stream_bounds(lib, late_start):
    d = lib.VideoDecoder(late_start)
    m = d.metadata
    assert m.begin_stream_seconds >= 10.0  # the offset, plus the muxer's own delay
    first = m.begin_stream_seconds
    with pytest.raises(IndexError):
        d.get_frame_played_at(first - 0.01)
    # [pts0, pts2 + half a frame): frames 0, 1 and 2.
    assert len(d.get_frames_played_in_range(first, first + 2.5 / FPS)) == 3


# --- indexing and ranges -----------------------------------------------------------------------


def test_integer_indexing(lib, video):
    d = lib.VideoDecoder(video)
    last = arr(d[N - 1])
    assert arr(d[0]).shape == (3, H, W)
    assert np.array_equal(arr(d[-1]), last)
    for i in (np.int64(59), np.int32(-1), np.uint64(59), np.uint32(59)):
        assert np.array_equal(arr(d[i]), last)
    for bad in (N, -N - 1, 10**9):
        with pytest.raises(IndexError):
            d[bad]
    for key in ("0", 2.5, None):
        with pytest.raises(TypeError):
            d[key]


def test_slices_follow_python_rules(lib, video):
    d = lib.VideoDecoder(video)
    assert arr(d[10:20:3]).shape == (4, 3, H, W)
    assert np.array_equal(arr(d[-3:]), arr(d[57:60]))
    assert arr(d[-3:1000]).shape == (3, 3, H, W)
    assert np.array_equal(arr(d[55:57])[1], arr(d[56]))
    for empty in (d[5:5], d[1000:]):
        assert arr(empty).shape == (0, 3, H, W)
    with pytest.raises(RuntimeError):
        d[::-1]
    with pytest.raises(ValueError):
        d[::0]


def test_get_frames_in_range(lib, video):
    d = lib.VideoDecoder(video)
    r = d.get_frames_in_range(10, 20, 4)
    assert arr(r.pts_seconds) == pytest.approx([10 / FPS, 14 / FPS, 18 / FPS])
    assert arr(r.duration_seconds) == pytest.approx([1 / FPS] * 3)
    assert arr(r.pts_seconds).dtype == np.float64
    assert len(d.get_frames_in_range(55, 1000)) == 5
    assert len(d.get_frames_in_range(-5, None)) == 5
    assert len(d.get_frames_in_range(np.int64(0), np.int64(10), np.int64(2))) == 5
    empty = d.get_frames_in_range(5, 5)
    assert arr(empty.data).shape == (0, 3, H, W)
    assert arr(empty.pts_seconds).shape == arr(empty.duration_seconds).shape == (0,)
    with pytest.raises(RuntimeError):
        d.get_frames_in_range(0, 10, -1)


def test_get_frame_at(lib, video):
    d = lib.VideoDecoder(video)
    f = d.get_frame_at(30)
    assert isinstance(f, lib.Frame)
    assert isinstance(f.pts_seconds, float) and isinstance(f.duration_seconds, float)
    assert f.pts_seconds == pytest.approx(30 / FPS) and f.duration_seconds == pytest.approx(1 / FPS)
    data, pts, duration = f
    assert np.array_equal(arr(data), arr(d[30])) and pts == f.pts_seconds
    assert np.array_equal(arr(d.get_frame_at(-1).data), arr(d[N - 1]))
    with pytest.raises(IndexError, match="negative indices"):
        d.get_frame_at(-N - 1)
    with pytest.raises(IndexError, match="must be less than"):
        d.get_frame_at(N)


def test_get_frames_at(lib, video):
    d = lib.VideoDecoder(video)
    b = d.get_frames_at([35, 25, -1, 25])
    assert isinstance(b, lib.FrameBatch) and len(b) == 4
    assert np.array_equal(arr(b.data[2]), arr(d[N - 1])) and np.array_equal(arr(b.data[1]), arr(b.data[3]))
    assert arr(b.pts_seconds) == pytest.approx([35 / FPS, 25 / FPS, 59 / FPS, 25 / FPS])
    assert len(d.get_frames_at(np.array([0, 10]))) == 2
    with pytest.raises(IndexError, match="Invalid frame index"):
        d.get_frames_at([N])
    with pytest.raises(IndexError):
        d.get_frames_at([-N - 1])
    with pytest.raises(RuntimeError):
        d.get_frames_at([0.3])


@needs_torch
def test_tensors_as_indices_and_times(lib, video):
    import torch

    d = lib.VideoDecoder(video)
    assert len(d.get_frames_at(torch.tensor([0, 10], dtype=torch.int))) == 2
    assert len(d.get_frames_at(torch.tensor([0, 10], dtype=torch.float))) == 2
    assert len(d.get_frames_played_at(torch.tensor([0, 1], dtype=torch.int))) == 2
    played = d.get_frames_played_at(torch.tensor([0.0, 1.01], dtype=torch.float))
    assert arr(played.pts_seconds) == pytest.approx([0.0, 1.0])


def test_iteration_gives_every_frame_in_order(lib, video):
    d = lib.VideoDecoder(video)
    frames = [arr(f) for f in d]
    assert len(frames) == N
    assert np.array_equal(frames[37], arr(d[37]))


def test_dimension_order(lib, video):
    d = lib.VideoDecoder(video, dimension_order="NHWC")
    assert arr(d[0]).shape == (H, W, 3)
    assert arr(d.get_frames_at([0, 1]).data).shape == (2, H, W, 3)
    assert arr(d[0:0]).shape == (0, H, W, 3)
    assert np.array_equal(arr(d[7]).transpose(2, 0, 1), arr(lib.VideoDecoder(video)[7]))
    with pytest.raises(ValueError, match="Invalid dimension order"):
        lib.VideoDecoder(video, dimension_order="CHW")
    with pytest.raises(ValueError, match="Invalid seek mode"):
        lib.VideoDecoder(video, seek_mode="fast")


def _compiled(fn, *args):
    import torch

    saved = torch._dynamo.config.capture_scalar_outputs
    torch._dynamo.config.capture_scalar_outputs = True
    try:
        return torch.compile(fn, fullgraph=True, backend="eager")(*args)
    finally:
        torch._dynamo.config.capture_scalar_outputs = saved
        torch._dynamo.reset()


@needs_torch
def test_torch_compile_traces_get_frame_at_into_one_graph(lib, video):
    d = lib.VideoDecoder(video)
    one, three = _compiled(lambda decoder: (decoder.get_frame_at(1), decoder.get_frame_at(3)), d)
    assert np.array_equal(arr(one.data), arr(d[1])) and one.pts_seconds == pytest.approx(1 / FPS)
    assert np.array_equal(arr(three.data), arr(d[3]))


@needs_torch
@pytest.mark.parametrize("backend", ["frameflow"])  # only: torchcodec 0.17's FrameBatch check breaks its graph
def test_torch_compile_traces_batches_and_indexing_too(backend, video):
    d = _frameflow().VideoDecoder(video)
    two, seven = _compiled(lambda decoder: (decoder.get_frames_at([3, 5]), decoder[7]), d)
    assert np.array_equal(arr(two.data), arr(d.get_frames_at([3, 5]).data))
    assert np.array_equal(arr(seven), arr(d[7]))


# --- by time -----------------------------------------------------------------------------------


def test_the_frame_played_at_a_time(lib, video):
    d = lib.VideoDecoder(video)
    # Frame k is on screen from k/25 until (k+1)/25.
    for t, k in ((0.0, 0), (1.0, 25), (1.01, 25), (1.039, 25), (2.399, 59)):
        f = d.get_frame_played_at(t)
        assert f.pts_seconds == pytest.approx(k / FPS), t
        assert np.array_equal(arr(f.data), arr(d[k]))
    for bad in (-0.01, N / FPS, 99.0, math.nan):
        with pytest.raises(IndexError, match="Invalid pts in seconds"):
            d.get_frame_played_at(bad)


def test_frames_played_at_times(lib, video):
    d = lib.VideoDecoder(video)
    b = d.get_frames_played_at([1.01, 0.0, 1.01, 2.39])
    assert arr(b.pts_seconds) == pytest.approx([1.0, 0.0, 1.0, 59 / FPS])
    assert len(d.get_frames_played_at(np.array([0.5, 0.6]))) == 2
    with pytest.raises(RuntimeError, match="greater than or equal"):
        d.get_frames_played_at([-1])
    with pytest.raises(RuntimeError, match="less than"):
        d.get_frames_played_at([N / FPS])


def test_frames_played_in_a_range_are_those_whose_interval_meets_it(lib, video):
    d = lib.VideoDecoder(video)
    half = 0.5 / FPS
    pts = lambda k: d.get_frame_at(k).pts_seconds  # noqa: E731

    def played(a, b):
        return [round(float(p) * FPS) for p in arr(d.get_frames_played_in_range(a, b).pts_seconds)]

    assert played(pts(0), pts(5)) == [0, 1, 2, 3, 4]
    assert played(pts(0), pts(4) + half) == [0, 1, 2, 3, 4]
    # From before frame 8's pts to after it: frame 7 (still on screen) and frame 8.
    assert played(pts(8) - half, pts(8) + half) == [7, 8]
    assert played(pts(6), pts(6) + half) == [6]
    assert played(pts(35), pts(35) + 1e-10) == [35]
    assert played(pts(4), pts(4)) == []
    empty = d.get_frames_played_in_range(pts(4), pts(4))
    assert arr(empty.data).shape == (0, 3, H, W) and arr(empty.pts_seconds).shape == (0,)
    m = d.metadata
    assert len(d.get_frames_played_in_range(m.begin_stream_seconds, m.end_stream_seconds)) == N
    with pytest.raises(ValueError, match="Invalid start seconds"):
        d.get_frames_played_in_range(2.0, 1.0)
    with pytest.raises(ValueError, match="Invalid start seconds"):
        d.get_frames_played_in_range(20, 23)
    with pytest.raises(ValueError, match="Invalid stop seconds"):
        d.get_frames_played_in_range(0, 23)


def test_all_frames(lib, video):
    d = lib.VideoDecoder(video)
    everything = d.get_all_frames()
    assert len(everything) == N
    assert np.array_equal(arr(everything.data[13]), arr(d[13]))


def test_resampling_to_another_frame_rate(lib, video):
    d = lib.VideoDecoder(video)
    # round((stop - start) * fps) frames at start + k / fps, each the frame on screen then,
    # timed as frames of the new rate.
    slow = d.get_frames_played_in_range(0.5, 1.5, fps=10)
    assert arr(slow.pts_seconds) == pytest.approx([0.5 + k / 10 for k in range(10)])
    assert arr(slow.duration_seconds) == pytest.approx([0.1] * 10)
    assert np.array_equal(arr(slow.data[3]), arr(d[20]))  # 0.8 s: frame 20
    fast = d.get_frames_played_in_range(0.0, 0.2, fps=50)
    assert len(fast) == 10 and np.array_equal(arr(fast.data[1]), arr(fast.data[0]))  # each frame twice
    assert len(d.get_all_frames(fps=5)) == 12


# --- bad input ---------------------------------------------------------------------------------


def test_bad_numbers_raise_torchcodecs_types(lib, video):
    d = lib.VideoDecoder(video)
    with pytest.raises(RuntimeError):
        d.get_frame_at(2.5)
    assert np.array_equal(arr(d.get_frame_at(True).data), arr(d[1])), "a bool is an int"
    assert len(d.get_frames_at(5)) == 1 and len(d.get_frames_played_at(1.0)) == 1, "one index or time alone"
    for t in (math.inf, -math.inf, math.nan):
        with pytest.raises(IndexError):
            d.get_frame_played_at(t)
    for t in (math.nan, math.inf):
        with pytest.raises(RuntimeError):
            d.get_frames_played_at([t])
    with pytest.raises(ValueError):
        d.get_frames_played_in_range(math.nan, 1)
    with pytest.raises(ValueError):
        d.get_frames_played_in_range(0, math.inf)
    for fps in (0, -1):
        with pytest.raises(RuntimeError):
            d.get_frames_played_in_range(0, 1, fps=fps)
    with pytest.raises(TypeError):
        d.get_frames_in_range(2.5, 5)
    with pytest.raises(TypeError):
        d[1.5:3]
    with pytest.raises(RuntimeError):
        lib.samplers.clips_at_regular_timestamps(d, seconds_between_clip_starts=math.nan)


def test_files_that_are_not_videos(lib, video, tmp_path):
    with pytest.raises(RuntimeError):
        lib.VideoDecoder(tmp_path / "missing.mp4")
    with pytest.raises(RuntimeError):
        lib.VideoDecoder(tmp_path)
    with pytest.raises(ValueError):
        lib.VideoDecoder(b"")
    for data in (b"\x00" * 5000, video.read_bytes()[:3000]):
        with pytest.raises(RuntimeError):
            lib.VideoDecoder(data)


@needs_torch
def test_a_zero_dimensional_tensor_is_a_time(lib, video):
    import torch

    d = lib.VideoDecoder(video)
    assert d.get_frame_played_at(torch.tensor(1.01)).pts_seconds == pytest.approx(1.0)
    assert d.get_frame_played_at(np.float32(1.01)).pts_seconds == pytest.approx(1.0)


# --- sources -----------------------------------------------------------------------------------


def test_sources(lib, video):
    want = arr(lib.VideoDecoder(video)[12])
    data = video.read_bytes()

    class Reader:  # read(size) and seek(offset, whence) only, not an io class
        def __init__(self, f):
            self.f = f

        def read(self, size):
            return self.f.read(size)

        def seek(self, offset, whence):
            return self.f.seek(offset, whence)

    with open(video, "rb", buffering=0) as raw, open(video, "rb") as buffered:
        for source in (str(video), video, data, io.BytesIO(data), raw, buffered, Reader(io.BytesIO(data))):
            assert np.array_equal(arr(lib.VideoDecoder(source)[12]), want), type(source).__name__
    with open(video, "r") as text:
        with pytest.raises(TypeError, match="binary"):
            lib.VideoDecoder(text)
    with pytest.raises(TypeError, match="Unknown source type"):
        lib.VideoDecoder(123)


@needs_torch
def test_a_tensor_of_bytes_is_a_source(lib, video):
    import torch

    data = torch.frombuffer(bytearray(video.read_bytes()), dtype=torch.uint8)
    assert np.array_equal(arr(lib.VideoDecoder(data)[3]), arr(lib.VideoDecoder(video)[3]))


# --- Frame and FrameBatch ----------------------------------------------------------------------


def _zeros(*shape):
    if HAVE_TORCH:
        import torch

        return torch.zeros(shape)
    return np.zeros(shape)


def test_frame_checks_and_unpacks(lib):
    data, pts, duration = lib.Frame(_zeros(3, 4, 5), 2, 3)
    assert (pts, duration) == (2.0, 3.0) and isinstance(pts, float)
    for bad in (_zeros(1, 2), _zeros(1, 2, 3, 4)):
        with pytest.raises(ValueError, match="3-dimensional"):
            lib.Frame(bad, 1, 1)


def test_frame_batch_checks_its_shapes(lib):
    with pytest.raises(ValueError, match="at least 3-dimensional"):
        lib.FrameBatch(_zeros(2, 3), _zeros(1), _zeros(1))
    for data, pts, duration in (((1, 2, 3), (1,), (1,)), ((3, 4, 2, 1), (3,), (2,)), ((3, 4, 2, 1), (2,), (3,)),
                                ((5, 3, 4, 2, 1), (5, 3), (5, 2))):
        with pytest.raises(ValueError, match="leading dimensions"):
            lib.FrameBatch(_zeros(*data), _zeros(*pts), _zeros(*duration))


def test_frame_batch_indexes_and_iterates_as_frame_batches(lib):
    T, n, C, h, w = 7, 6, 3, 2, 4
    fb = lib.FrameBatch(_zeros(T, n, C, h, w), _zeros(T, n), _zeros(T, n))
    assert len(fb) == T
    for clip in fb:
        assert isinstance(clip, lib.FrameBatch) and tuple(clip.data.shape) == (n, C, h, w)
        for frame in clip:
            assert isinstance(frame, lib.FrameBatch) and tuple(frame.data.shape) == (C, h, w)
            assert tuple(frame.pts_seconds.shape) == ()
    assert tuple(fb[2].pts_seconds.shape) == (n,)
    assert tuple(fb[1:3].data.shape) == (2, n, C, h, w)
    assert tuple(fb[np.arange(3)].data.shape) == (3, n, C, h, w)
    assert tuple(fb[([0], [1])].data.shape) == (1, C, h, w)
    first, *_ = fb
    assert isinstance(first, lib.FrameBatch)


# --- samplers ----------------------------------------------------------------------------------


def _starts(clips):
    return [round(float(p) * FPS) for p in arr(clips.pts_seconds)[:, 0]]


def test_index_samplers_shapes_and_steps(lib, video):
    d = lib.VideoDecoder(video)
    for sampler in (lib.samplers.clips_at_random_indices, lib.samplers.clips_at_regular_indices):
        clips = sampler(d, num_clips=5, num_frames_per_clip=3, num_indices_between_frames=4)
        assert isinstance(clips, lib.FrameBatch)
        assert tuple(clips.data.shape) == (5, 3, 3, H, W)
        assert arr(clips.pts_seconds).shape == arr(clips.duration_seconds).shape == (5, 3)
        assert np.allclose(np.diff(arr(clips.pts_seconds), axis=1), 4 / FPS)
        # The default range ends at the last start whose clip fits: no frame repeated.
        assert max(_starts(clips)) <= N - 9


def test_regular_indices_are_evenly_spaced(lib, video):
    d = lib.VideoDecoder(video)
    # linspace(0, 60 - 5, 4) = 0, 18.3, 36.7, 55, truncated.
    assert _starts(lib.samplers.clips_at_regular_indices(d, num_clips=4, num_frames_per_clip=5)) == [0, 18, 36, 55]
    many = lib.samplers.clips_at_regular_indices(d, num_clips=50, sampling_range_start=0, sampling_range_end=10)
    starts = _starts(many)
    assert len(starts) == 50 and sorted(set(starts)) == list(range(10)) and starts == sorted(starts)


def test_sampling_ranges_count_from_the_end_and_are_capped(lib, video):
    d = lib.VideoDecoder(video)
    for sampler in (lib.samplers.clips_at_random_indices, lib.samplers.clips_at_regular_indices):
        a = sampler(d, num_clips=6, num_frames_per_clip=2, sampling_range_start=-10, sampling_range_end=-9)
        assert set(_starts(a)) == {N - 10}
        capped = sampler(d, num_clips=6, num_frames_per_clip=2, sampling_range_start=-1, sampling_range_end=1000)
        assert set(_starts(capped)) == {N - 1}
        # Past the end: the last frame repeated (the default policy).
        assert np.array_equal(arr(capped.data)[0, 1], arr(d[N - 1]))


def test_policies_for_clips_past_the_end(lib, video):
    d = lib.VideoDecoder(video)

    def indices(policy):
        clips = lib.samplers.clips_at_regular_indices(d, num_clips=1, num_frames_per_clip=5, num_indices_between_frames=2,
                                                      sampling_range_start=N - 4, sampling_range_end=N - 3, policy=policy)
        return [round(float(p) * FPS) for p in arr(clips.pts_seconds)[0]]

    assert indices("repeat_last") == [56, 58, 58, 58, 58]
    assert indices("wrap") == [56, 58, 56, 58, 56]
    with pytest.raises(ValueError, match="beyond the number of frames"):
        indices("error")
    with pytest.raises(ValueError, match="Invalid policy"):
        indices("loop")


def test_index_sampler_errors(lib, video):
    d = lib.VideoDecoder(video)
    for sampler in (lib.samplers.clips_at_random_indices, lib.samplers.clips_at_regular_indices):
        with pytest.raises(ValueError, match=r"num_clips \(0\) must be > 0"):
            sampler(d, num_clips=0)
        with pytest.raises(ValueError, match=r"num_frames_per_clip \(0\) must be strictly positive"):
            sampler(d, num_frames_per_clip=0)
        with pytest.raises(ValueError, match=r"num_indices_between_frames \(0\) must be strictly positive"):
            sampler(d, num_indices_between_frames=0)
        with pytest.raises(ValueError, match=r"sampling_range_start \(1000\) must be smaller than"):
            sampler(d, sampling_range_start=1000)
        with pytest.raises(ValueError, match=r"sampling_range_start \(4\) must be smaller than sampling_range_end"):
            sampler(d, sampling_range_start=4, sampling_range_end=4)
        with pytest.raises(ValueError, match="We determined that sampling_range_end should"):
            sampler(d, num_frames_per_clip=10, sampling_range_start=N - 1)
        with pytest.raises(ValueError, match="beyond the number of frames"):
            sampler(d, num_frames_per_clip=10, sampling_range_start=-1, sampling_range_end=1000, policy="error")


def test_time_samplers(lib, video):
    d = lib.VideoDecoder(video)
    clips = lib.samplers.clips_at_random_timestamps(d, num_clips=4, num_frames_per_clip=3, seconds_between_frames=0.2)
    assert tuple(clips.data.shape) == (4, 3, 3, H, W)
    assert np.allclose(np.diff(arr(clips.pts_seconds), axis=1), 0.2, atol=0.05)
    regular = lib.samplers.clips_at_regular_timestamps(d, seconds_between_clip_starts=0.5, num_frames_per_clip=2)
    # Starts every 0.5 s in [0, 2.4 - 1/25): 0, 0.5, ..., 2.0, each the frame on screen then
    # (0.5 s is half-way through frame 12).
    assert arr(regular.pts_seconds)[:, 0] == pytest.approx([0.0, 0.48, 1.0, 1.48, 2.0])
    ranged = lib.samplers.clips_at_regular_timestamps(d, seconds_between_clip_starts=1, sampling_range_start=1.0,
                                                      sampling_range_end=1.5)
    assert arr(ranged.pts_seconds)[:, 0] == pytest.approx([1.0])
    # The clip's times stop before the end of the stream; then the policy repeats the last.
    tail = lib.samplers.clips_at_regular_timestamps(d, seconds_between_clip_starts=1, num_frames_per_clip=3,
                                                    seconds_between_frames=0.05, sampling_range_start=2.3,
                                                    sampling_range_end=2.35)
    # 2.3 and 2.35 (frames 57 and 58); 2.4 is the end: frame 58 again.
    assert arr(tail.pts_seconds)[0] == pytest.approx([2.28, 2.32, 2.32])


def test_time_sampler_errors(lib, video):
    d = lib.VideoDecoder(video)
    random_clips = lib.samplers.clips_at_random_timestamps
    regular = lib.samplers.clips_at_regular_timestamps
    for sampler, kwargs in ((random_clips, {}), (regular, {"seconds_between_clip_starts": 1})):
        with pytest.raises(ValueError, match=r"sampling_range_start \(-1\) must be at least 0"):
            sampler(d, sampling_range_start=-1, **kwargs)
        with pytest.raises(ValueError, match=r"sampling_range_end \(-1\) must be at least 0"):
            sampler(d, sampling_range_end=-1, **kwargs)
        with pytest.raises(ValueError, match=r"sampling_range_start \(5\) must be smaller than"):
            sampler(d, sampling_range_start=5, **kwargs)
        with pytest.raises(ValueError, match="must be smaller than sampling_range_end"):
            sampler(d, sampling_range_start=1.0, sampling_range_end=1.0, **kwargs)
        with pytest.raises(ValueError, match="beyond the number of frames"):
            sampler(d, num_frames_per_clip=10, sampling_range_start=2.3, sampling_range_end=1000, policy="error", **kwargs)
        with pytest.raises(ValueError, match="Invalid policy"):
            sampler(d, policy="BAD", **kwargs)
    with pytest.raises(ValueError, match=r"num_clips \(0\) must be > 0"):
        random_clips(d, num_clips=0)
    with pytest.raises(ValueError, match=r"seconds_between_clip_starts \(-1\) must be > 0"):
        regular(d, seconds_between_clip_starts=-1)


def test_random_samplers_leave_pythons_random_alone(lib, video):
    d = lib.VideoDecoder(video)
    state = random.getstate()
    lib.samplers.clips_at_random_indices(d, num_clips=3)
    lib.samplers.clips_at_random_timestamps(d, num_clips=3)
    assert random.getstate() == state


@needs_torch
def test_torch_manual_seed_replays_the_random_samplers(lib, video):
    import torch

    d = lib.VideoDecoder(video)
    for sampler in (lib.samplers.clips_at_random_indices, lib.samplers.clips_at_random_timestamps):
        torch.manual_seed(0)
        a = sampler(d, num_clips=8)
        torch.manual_seed(0)
        b = sampler(d, num_clips=8)
        torch.manual_seed(1)
        c = sampler(d, num_clips=8)
        assert np.array_equal(arr(a.pts_seconds), arr(b.pts_seconds))
        assert not np.array_equal(arr(a.pts_seconds), arr(c.pts_seconds))


@pytest.mark.skipif(not HAVE_TORCHCODEC, reason="torchcodec is not installed (make compat)")
def test_frameflow_and_torchcodec_give_the_same_frames_and_times(video):
    ff, tc = _frameflow(), _torchcodec()
    a, b = ff.VideoDecoder(video), tc.VideoDecoder(video)
    calls = [lambda d: d.get_frames_at([35, 3, -1, 3]), lambda d: d.get_frames_in_range(7, 50, 6),
             lambda d: d.get_frames_played_at([0.0, 0.5, 1.02, 2.39]), lambda d: d.get_frames_played_in_range(0.3, 0.9)]
    for call in calls:
        x, y = call(a), call(b)
        assert np.array_equal(arr(x.data), arr(y.data))
        assert np.array_equal(arr(x.pts_seconds), arr(y.pts_seconds))
        assert np.array_equal(arr(x.duration_seconds), arr(y.duration_seconds))
    for name in ("num_frames", "begin_stream_seconds", "end_stream_seconds", "duration_seconds", "average_fps",
                 "num_frames_from_header", "duration_seconds_from_header", "average_fps_from_header", "bit_rate",
                 "codec", "width", "height", "pixel_format", "color_space", "pixel_aspect_ratio", "stream_index"):
        assert getattr(a.metadata, name) == pytest.approx(getattr(b.metadata, name)), name


# --- the shared corpus (torchcodec's own test videos) -----------------------------------------


def test_nasa_frame_times_at_the_edges(lib):
    d = lib.VideoDecoder(corpus("nasa_13013.mp4"))
    assert d.stream_index == 3 and len(d) == 390
    assert d.metadata.average_fps == pytest.approx(29.970029)
    # 12.979633 is just before frame 389's pts (389 * 1001 / 30000 = 12.97963333...).
    assert np.array_equal(arr(d.get_frame_played_at(12.979633).data), arr(d[388]))
    assert lib.VideoDecoder(corpus("nasa_13013.mp4")).get_frame_played_at(12.9797).pts_seconds == pytest.approx(389 * 1001 / 30000)
    half = 0.5 / d.metadata.average_fps
    p8 = d.get_frame_at(8).pts_seconds
    assert len(d.get_frames_played_in_range(p8 - half, p8 + half)) == 2
    other = lib.VideoDecoder(corpus("nasa_13013.mp4"), stream_index=0)
    assert (other.metadata.width, other.metadata.height) == (320, 180)


def test_a_non_zero_start_in_the_corpus(lib):
    d = lib.VideoDecoder(corpus("test_non_zero_start.mp4"))
    m = d.metadata
    first, third = d.get_frame_at(0).pts_seconds, d.get_frame_at(2).pts_seconds
    assert first == pytest.approx(m.begin_stream_seconds) and first > 0
    step = d.get_frame_at(1).pts_seconds - first
    assert len(d.get_frames_played_in_range(first, third + step / 2)) == 3


# --- AudioDecoder ------------------------------------------------------------------------------
# The session fixture `tones`: 2.5 s of two tones (440 Hz left, 1 kHz right) as a 44.1 kHz s16
# WAV, an 8 kHz MP3 (its first frame is after 0, as MP3's encoder delay puts it) and an H.264
# MP4 with the tones as AAC (stream 1).

TONES = "aevalsrc=0.5*sin(2*PI*440*t)|0.3*sin(2*PI*1000*t+1):s=44100:d=2.5"


@pytest.fixture(scope="session")
def tones(tmp_path_factory):
    if shutil.which("ffmpeg") is None:
        pytest.skip("no ffmpeg CLI on PATH (scripts/setup.sh installs it)")
    d = tmp_path_factory.mktemp("audio")
    out = SimpleNamespace(wav=d / "tones.wav", mp3=d / "tones.mp3", mp4=d / "tones.mp4")
    ffmpeg("-f", "lavfi", "-i", TONES, "-c:a", "pcm_s16le", str(out.wav))
    ffmpeg("-f", "lavfi", "-i", TONES, "-ar", "8000", "-c:a", "libmp3lame", str(out.mp3))
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x48:r=25:d=2.5", "-f", "lavfi", "-i", TONES, "-c:v", "libx264",
           "-pix_fmt", "yuv420p", "-c:a", "aac", str(out.mp4))
    return out


def cli_f32(path, stream, channels):
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", f"0:{stream}", "-f", "f32le", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype="<f4").reshape(-1, channels).T


def test_audio_metadata(lib, tones):
    d = lib.AudioDecoder(tones.wav)
    m = d.metadata
    assert d.stream_index == m.stream_index == 0
    assert (m.sample_rate, m.num_channels, m.sample_format, m.codec) == (44100, 2, "s16", "pcm_s16le")
    assert m.duration_seconds_from_header == pytest.approx(2.5)
    v = lib.AudioDecoder(tones.mp4)
    assert v.stream_index == v.metadata.stream_index == 1
    assert (v.metadata.sample_rate, v.metadata.num_channels, v.metadata.sample_format) == (44100, 2, "fltp")
    # The metadata describes the source, not the conversion asked for.
    c = lib.AudioDecoder(tones.mp4, sample_rate=16000, num_channels=1)
    assert (c.metadata.sample_rate, c.metadata.num_channels) == (44100, 2)


def test_audio_all_samples_are_the_cli_samples(lib, tones):
    for path, stream in ((tones.wav, 0), (tones.mp3, 0), (tones.mp4, 1)):
        d = lib.AudioDecoder(path)
        s = d.get_all_samples()
        want = cli_f32(path, stream, 2)
        data = arr(s.data)
        assert data.dtype == np.float32 and data.shape == want.shape
        assert np.array_equal(data, want)
        assert s.sample_rate == d.metadata.sample_rate
        assert s.duration_seconds == pytest.approx(data.shape[1] / s.sample_rate)
        assert np.array_equal(arr(lib.AudioDecoder(path).get_samples_played_in_range().data), data)
        data2, pts, duration, rate = s  # AudioSamples iterates over its fields
        assert rate == s.sample_rate and pts == s.pts_seconds


def test_audio_ranges_are_half_open_in_seconds(lib, tones):
    d = lib.AudioDecoder(tones.wav)
    s = d.get_samples_played_in_range(1, 2)
    assert arr(s.data).shape == (2, 44100) and s.pts_seconds == 1.0 and s.duration_seconds == 1
    whole = arr(d.get_all_samples().data)
    assert np.array_equal(arr(d.get_samples_played_in_range(0.5, 1.5).data), whole[:, 22050:66150])
    assert np.array_equal(arr(d.get_samples_played_in_range(2.0).data), whole[:, 88200:])
    assert arr(d.get_samples_played_in_range(3, 3).data).shape == (2, 0)
    s = d.get_samples_played_in_range(-1300)
    assert np.array_equal(arr(s.data), whole) and s.pts_seconds == 0.0
    s = d.get_samples_played_in_range(stop_seconds=99999999)
    assert np.array_equal(arr(s.data), whole)


def test_audio_a_late_first_sample(lib, tones):
    d = lib.AudioDecoder(tones.mp3)
    first = d.get_all_samples().pts_seconds
    assert first > 0
    s = d.get_samples_played_in_range(first / 2, 1.0)
    assert s.pts_seconds == first  # nothing before the first sample is made up
    with pytest.raises(RuntimeError, match="No audio frames were decoded"):
        d.get_samples_played_in_range(0, first / 2)


def test_audio_conversions(lib, tones):
    for sr in (8000, 16000, 48000):
        d = lib.AudioDecoder(tones.wav, sample_rate=sr)
        s = d.get_samples_played_in_range(1, 2)
        assert s.sample_rate == sr and s.duration_seconds == 1 and arr(s.data).shape == (2, sr)
    for nc in (1, 2, 8):
        assert arr(lib.AudioDecoder(tones.mp3, num_channels=nc).get_all_samples().data).shape[0] == nc


def test_audio_errors(lib, tones, video):
    d = lib.AudioDecoder(tones.wav)
    with pytest.raises(ValueError, match="Invalid start seconds"):
        d.get_samples_played_in_range(3, 2)
    with pytest.raises(RuntimeError, match="No audio frames were decoded"):
        d.get_samples_played_in_range(9999)
    with pytest.raises(ValueError):
        d.get_samples_played_in_range(0, math.nan)
    with pytest.raises(ValueError):
        lib.AudioDecoder(tones.mp4, stream_index=0)  # the video stream
    with pytest.raises(ValueError):
        lib.AudioDecoder(tones.mp4, stream_index=9)
    with pytest.raises(ValueError):
        lib.AudioDecoder(video)  # no audio at all
    with pytest.raises(RuntimeError):
        lib.AudioDecoder(tones.wav, num_channels=0)


@pytest.mark.skipif(not HAVE_TORCHCODEC, reason="torchcodec is not installed (make compat)")
def test_frameflow_and_torchcodec_give_the_same_audio_samples(tones):
    ff, tc = _frameflow(), _torchcodec()
    paths = [tones.wav, tones.mp3, tones.mp4]
    for name, stream in (("nasa_13013.mp4", None), ("nasa_13013.mp4", 1), ("smpte-2997.mp4", None)):
        if (MEDIA / name).exists():
            paths.append((MEDIA / name, stream))
    for path in paths:
        path, stream = path if isinstance(path, tuple) else (path, None)
        a, b = ff.AudioDecoder(path, stream_index=stream), tc.AudioDecoder(path, stream_index=stream)
        # Fresh decoders per window: torchcodec's second pass over an AAC stream differs (below).
        # Windows inside the stream only for PCM: torchcodec seeks for them, and a compressed stream
        # decoded from a seek point gives slightly other samples (a deliberate difference, below).
        windows = ((0.5, 1.5), (1.25, 2.0), (0.1, 0.1001)) if str(path).endswith(".wav") else ()
        for start, stop in ((0.0, None), (0.0, 1.0), (0.0, 0.1)) + windows:
            try:
                x = ff.AudioDecoder(path, stream_index=stream).get_samples_played_in_range(start, stop)
            except RuntimeError:
                with pytest.raises(RuntimeError):
                    tc.AudioDecoder(path, stream_index=stream).get_samples_played_in_range(start, stop)
                continue
            y = tc.AudioDecoder(path, stream_index=stream).get_samples_played_in_range(start, stop)
            assert np.array_equal(arr(x.data), arr(y.data)), (path, start, stop)
            assert (x.pts_seconds, x.duration_seconds, x.sample_rate) == (y.pts_seconds, y.duration_seconds, y.sample_rate)
        for field in ("sample_rate", "num_channels", "sample_format", "codec", "stream_index", "duration_seconds_from_header",
                      "begin_stream_seconds_from_header", "bit_rate", "duration_seconds", "begin_stream_seconds"):
            assert getattr(a.metadata, field) == getattr(b.metadata, field), (path, field)


# --- deliberate differences (clients/python/README.md): rows that torchcodec is expected to fail --


def differs_from_torchcodec(reason):
    """Marks a frameflow behaviour that deliberately differs from torchcodec 0.17's: the
    torchcodec row must fail (strict xfail), the frameflow row must pass."""

    def mark(test):
        test.differs_from_torchcodec = reason
        return test

    return mark


@pytest.fixture
def lib_differs(request, lib):
    reason = getattr(request.function, "differs_from_torchcodec", None)
    if reason and lib.name == "torchcodec":
        request.node.add_marker(pytest.mark.xfail(reason=f"deliberate difference: {reason}", strict=True))
    return lib


@differs_from_torchcodec("a text file is refused (torchcodec opens it with FFmpeg's tty demuxer as 'ANSI art' video)")
def test_non_video_bytes_are_refused(lib_differs, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a video at all\n" * 100)
    with pytest.raises(RuntimeError):
        lib_differs.VideoDecoder(text)


@differs_from_torchcodec("a slice whose stop is before its start is empty, as in Python (torchcodec fails to allocate)")
def test_a_backwards_slice_with_a_positive_step_is_empty(lib_differs, video):
    d = lib_differs.VideoDecoder(video)
    assert arr(d[20:10]).shape == (0, 3, H, W)
    assert len(d.get_frames_in_range(20, 10)) == 0


@differs_from_torchcodec("an empty list of indices gives an empty batch (torchcodec fails on the empty float tensor)")
def test_no_indices_give_an_empty_batch(lib_differs, video):
    d = lib_differs.VideoDecoder(video)
    assert arr(d.get_frames_at([]).data).shape == (0, 3, H, W)


@differs_from_torchcodec("frame 0 of an MPEG-TS is its first frame (torchcodec's seek returns a later one)")
def test_frame_zero_of_a_late_start_ts_is_the_first(lib_differs, late_start):
    d = lib_differs.VideoDecoder(late_start)
    first = d.metadata.begin_stream_seconds
    assert d.get_frame_at(0).pts_seconds == pytest.approx(first)
    assert d.get_frame_played_at(first).pts_seconds == pytest.approx(first)


@differs_from_torchcodec("an audio conversion runs from the stream's start, so a window is the same span of the CLI's "
                         "converted output (torchcodec converts from the window's first frame: the first samples differ)")
def test_audio_converted_windows_are_cut_from_the_whole_conversion(lib_differs, tones):
    whole = arr(lib_differs.AudioDecoder(tones.mp4, sample_rate=16000).get_all_samples().data)
    window = lib_differs.AudioDecoder(tones.mp4, sample_rate=16000).get_samples_played_in_range(1.0, 2.0)
    assert np.array_equal(arr(window.data), whole[:, 16000:32000])


@differs_from_torchcodec("a window inside an AAC stream is the CLI's samples of that span (torchcodec seeks to it, and "
                         "AAC decoded from a seek point differs slightly: overlap, noise substitution)")
def test_audio_windows_of_compressed_audio_are_the_cli_span(lib_differs, tones):
    whole = cli_f32(tones.mp4, 1, 2)
    window = lib_differs.AudioDecoder(tones.mp4).get_samples_played_in_range(1.0, 2.0)
    assert np.array_equal(arr(window.data), whole[:, 44100:88200])


@differs_from_torchcodec("reading a range again gives the same samples (torchcodec's second pass over an AAC stream "
                         "differs from its first)")
def test_audio_reading_again_gives_the_same_samples(lib_differs, tones):
    d = lib_differs.AudioDecoder(tones.mp4)
    first = arr(d.get_all_samples().data)
    assert np.array_equal(arr(d.get_all_samples().data), first)


@differs_from_torchcodec("an infinite stop_seconds means the end (torchcodec finds no frames)")
def test_audio_an_infinite_stop_is_the_end(lib_differs, tones):
    d = lib_differs.AudioDecoder(tones.wav)
    assert arr(d.get_samples_played_in_range(0, math.inf).data).shape == (2, 110250)


@differs_from_torchcodec("a NaN start_seconds is a ValueError (torchcodec returns every sample)")
def test_audio_a_nan_start_is_refused(lib_differs, tones):
    with pytest.raises(ValueError):
        lib_differs.AudioDecoder(tones.wav).get_samples_played_in_range(math.nan)


@differs_from_torchcodec("a range that starts after the stream is a RuntimeError, however far (torchcodec returns an "
                         "empty range for huge starts and raises OverflowError for inf)")
def test_audio_a_huge_start_finds_no_frames(lib_differs, tones):
    d = lib_differs.AudioDecoder(tones.wav)
    for start in (1e300, math.inf):
        with pytest.raises(RuntimeError, match="No audio frames were decoded"):
            d.get_samples_played_in_range(start)
