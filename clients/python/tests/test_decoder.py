"""frameflow.VideoDecoder against torchcodec's API and the FFmpeg CLI's frames."""

import io
import math
import multiprocessing
import pickle
import threading

import numpy as np
import pytest

from frameflow import Frame, FrameBatch, VideoDecoder
from frameflow import samplers

from conftest import fuzz, reference_frame


def as_numpy(data):
    return data.numpy() if hasattr(data, "numpy") else np.asarray(data)


def test_frames_are_the_ffmpeg_clis(video):
    d = VideoDecoder(video, dimension_order="NHWC")
    assert len(d) == 60
    for index in [0, 1, 24, 25, 37, 59]:
        frame = as_numpy(d[index])
        assert frame.shape == (240, 320, 3) and frame.dtype == np.uint8
        assert frame.tobytes() == reference_frame(video, index), f"frame {index} differs from ffmpeg's"


def test_metadata_and_the_torchcodec_surface(video):
    d = VideoDecoder(str(video))
    m = d.metadata
    assert (m.num_frames, m.width, m.height, m.codec) == (60, 320, 240, "h264")
    assert m.average_fps == pytest.approx(25.0)
    assert m.duration_seconds == pytest.approx(2.4, abs=0.05)
    assert m.end_stream_seconds == pytest.approx(m.begin_stream_seconds + m.duration_seconds)
    assert m.key_frame_indices[:3] == [0, 25, 50]

    chw = as_numpy(d[3])
    assert chw.shape == (3, 240, 320), "NCHW by default, as torchcodec"
    assert (as_numpy(d[-1]) == as_numpy(d[59])).all()
    batch = d[10:20:3]
    assert as_numpy(batch).shape == (4, 3, 240, 320)

    f = d.get_frame_at(30)
    assert isinstance(f, Frame)
    assert f.pts_seconds == pytest.approx(30 / 25)
    assert f.duration_seconds == pytest.approx(1 / 25)
    data, pts, duration = f
    assert (as_numpy(data) == as_numpy(d[30])).all()

    b = d.get_frames_at([5, 2, 5, 40])
    assert isinstance(b, FrameBatch) and len(b) == 4
    assert as_numpy(b.data).shape == (4, 3, 240, 320)
    assert (as_numpy(b.data[0]) == as_numpy(b.data[2])).all(), "a repeated index gives the same frame"
    assert (as_numpy(b.data[1]) == as_numpy(d[2])).all(), "in the order asked"
    assert list(as_numpy(b.pts_seconds)) == pytest.approx([5 / 25, 2 / 25, 5 / 25, 40 / 25])

    r = d.get_frames_in_range(10, 20, 4)
    assert list(as_numpy(r.pts_seconds)) == pytest.approx([10 / 25, 14 / 25, 18 / 25])
    assert d.get_frame_played_at(1.01).pts_seconds == pytest.approx(1.0)
    played = d.get_frames_played_at([0.0, 2.39])
    assert list(as_numpy(played.pts_seconds)) == pytest.approx([0.0, 59 / 25])
    ranged = d.get_frames_played_in_range(1.0, 1.2)
    assert list(as_numpy(ranged.pts_seconds)) == pytest.approx([1.0, 1.04, 1.08, 1.12, 1.16])
    by_pts = d.get_frames_at(pts=[d._pts[7]])
    assert (as_numpy(by_pts.data[0]) == as_numpy(d[7])).all()


def test_sources_other_than_a_path(video):
    want = as_numpy(VideoDecoder(video)[12])
    data = video.read_bytes()
    assert (as_numpy(VideoDecoder(data)[12]) == want).all()
    assert (as_numpy(VideoDecoder(io.BytesIO(data))[12]) == want).all()


def test_bad_input_raises_what_torchcodec_raises(video, tmp_path):
    d = VideoDecoder(video)
    for bad in (60, -61, 10**12):
        with pytest.raises(IndexError):
            d[bad]
        with pytest.raises(IndexError):
            d.get_frame_at(bad)
    # torchcodec's types: a range's stop is capped as a slice's; a step of 0 is Python's
    # ValueError, a negative one the core's RuntimeError; NaN is outside the stream.
    assert len(d.get_frames_in_range(55, 61)) == 5
    with pytest.raises(ValueError):
        d.get_frames_in_range(0, 10, 0)
    with pytest.raises(RuntimeError):
        d.get_frames_in_range(0, 10, -1)
    with pytest.raises(RuntimeError):
        d[::-1]
    with pytest.raises(IndexError):
        d.get_frame_played_at(math.nan)
    with pytest.raises(IndexError):
        d.get_frame_played_at(99.0)
    with pytest.raises(RuntimeError):
        d.get_frames_at([1.5])
    with pytest.raises(TypeError):
        d["3"]
    with pytest.raises(ValueError):
        VideoDecoder(video, dimension_order="CHW")
    with pytest.raises(ValueError):
        VideoDecoder(video, device="cuda")
    with pytest.raises(FileNotFoundError):
        VideoDecoder(tmp_path / "missing.mp4")
    text = tmp_path / "notes.txt"
    text.write_text("not a video at all\n" * 100)
    with pytest.raises(RuntimeError):
        VideoDecoder(text)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(video.read_bytes()[:2000])
    with pytest.raises(RuntimeError):
        VideoDecoder(truncated)


def test_threads_share_a_decoder_and_use_their_own(video):
    d = VideoDecoder(video)
    want = {i: as_numpy(d[i]).copy() for i in range(0, 60, 7)}
    errors = []

    def work(decoder):
        try:
            for _ in range(3):
                for i, frame in want.items():
                    assert (as_numpy(decoder[i]) == frame).all()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(d if k % 2 else VideoDecoder(video),)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def _child_frame(decoder, queue):
    queue.put(as_numpy(decoder[33]).tobytes())


def test_fork_and_pickle(video):
    d = VideoDecoder(video)
    want = as_numpy(d[33]).tobytes()
    d[50]  # the parent's decoder is mid-stream when the child is forked
    for method in ("fork", "spawn"):
        ctx = multiprocessing.get_context(method)
        queue = ctx.Queue()
        p = ctx.Process(target=_child_frame, args=(d, queue))
        p.start()
        got = queue.get(timeout=60)
        p.join(timeout=60)
        assert p.exitcode == 0 and got == want, method
    again = pickle.loads(pickle.dumps(d))
    assert as_numpy(again[33]).tobytes() == want


def test_samplers_have_torchcodecs_shapes_and_replay_by_seed(video):
    d = VideoDecoder(video)
    a = samplers.clips_at_random_indices(d, num_clips=3, num_frames_per_clip=4, num_indices_between_frames=2, seed=11)
    assert as_numpy(a.data).shape == (3, 4, 3, 240, 320)
    assert as_numpy(a.pts_seconds).shape == (3, 4)
    b = samplers.clips_at_random_indices(d, num_clips=3, num_frames_per_clip=4, num_indices_between_frames=2, seed=11)
    assert (as_numpy(a.pts_seconds) == as_numpy(b.pts_seconds)).all()
    steps = np.diff(as_numpy(a.pts_seconds), axis=1)
    assert np.allclose(steps, 2 / 25), "frames num_indices_between_frames apart"
    regular = samplers.clips_at_regular_indices(d, num_clips=4, num_frames_per_clip=2)
    starts = as_numpy(regular.pts_seconds)[:, 0]
    assert list(starts) == sorted(starts)
    timed = samplers.clips_at_random_timestamps(d, num_clips=2, num_frames_per_clip=3, seconds_between_frames=0.2, seed=5)
    assert as_numpy(timed.pts_seconds).shape == (2, 3)
    every = samplers.clips_at_regular_timestamps(d, seconds_between_clip_starts=1.0, num_frames_per_clip=2)
    assert as_numpy(every.pts_seconds).shape[1] == 2
    with pytest.raises(ValueError):
        samplers.clips_at_random_indices(d, num_clips=0, seed=1)
    with pytest.raises(ValueError):
        samplers.clips_at_random_indices(d, policy="bogus")


def test_the_core_renders_crop_and_resize(video):
    full = as_numpy(VideoDecoder(video, dimension_order="NHWC")[9])
    cropped = as_numpy(VideoDecoder(video, dimension_order="NHWC", crop=(40, 20, 100, 60))[9])
    assert cropped.shape == (60, 100, 3)
    assert (cropped == full[20:80, 40:140]).all(), "the crop is that region of the frame, exactly"
    small = VideoDecoder(video, width=160)
    assert as_numpy(small[9]).shape == (3, 120, 160), "one side keeps the aspect ratio"
    assert as_numpy(pickle.loads(pickle.dumps(small))[9]).shape == (3, 120, 160)
    with pytest.raises(ValueError):
        VideoDecoder(video, crop=(0, 0, 0, 10))
    with pytest.raises(ValueError):
        VideoDecoder(video, width=0)
    with pytest.raises(ValueError):
        VideoDecoder(video, crop=(300, 0, 100, 10))[0]


def test_clip_dataset_is_deterministic_per_item_and_epoch(video):
    from frameflow.torch import ClipDataset

    params = dict(num_clips=2, num_frames_per_clip=3)
    ds = ClipDataset([video, video], params=params, seed=5, decoder_options=dict(width=64))
    a, b = ds[0], ds[1]
    assert as_numpy(a.data).shape == (2, 3, 3, 48, 64)
    assert (as_numpy(ds[0].pts_seconds) == as_numpy(a.pts_seconds)).all(), "the same item, the same clips"
    assert not (as_numpy(a.pts_seconds) == as_numpy(b.pts_seconds)).all(), "items differ"
    ds.set_epoch(1)
    assert not (as_numpy(ds[0].pts_seconds) == as_numpy(a.pts_seconds)).all(), "a new epoch draws new clips"
    again = pickle.loads(pickle.dumps(ds))
    assert (as_numpy(again[0].pts_seconds) == as_numpy(ds[0].pts_seconds)).all()
    with pytest.raises(IndexError):
        ds[2]
    with pytest.raises(ValueError):
        ClipDataset([video], modality="depth")


def test_automatic_threads_share_gops_among_decoders_with_the_same_frames(video):
    # Frames from all three GOPs (key frames 0, 25, 50), asked out of order with a repeat:
    # with automatic threads they are decoded a GOP per decoder at once.
    indices = [57, 3, 30, 12, 44, 3, 26, 59]
    team = VideoDecoder(video, num_ffmpeg_threads=0, dimension_order="NHWC")
    single = VideoDecoder(video, num_ffmpeg_threads=1, dimension_order="NHWC")
    got = as_numpy(team.get_frames_at(indices).data)
    assert np.array_equal(got, as_numpy(single.get_frames_at(indices).data))
    # The team's decodes are counted: at least the 7 distinct frames, as on one decoder.
    assert team._core_here().frames_decoded() >= 7
    for k, i in enumerate(indices):
        assert got[k].tobytes() == reference_frame(video, i), f"frame {i}"
    with pytest.raises(IndexError):
        team.get_frames_at([3, 60])


def test_getters_raise_torchcodecs_types_on_any_input(video):
    """Fuzzed arguments: a frame, or one of the exception types torchcodec raises; never a
    crash, a hang or another type."""
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    d = VideoDecoder(video)
    allowed = (IndexError, ValueError, TypeError, RuntimeError)
    numbers = st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
                        st.text(max_size=3))
    calls = [lambda v: d[v], d.get_frame_at, d.get_frame_played_at, lambda v: d.get_frames_at([v]),
             lambda v: d.get_frames_played_at([v]), lambda v: d.get_frames_in_range(v, None),
             lambda v: d.get_frames_played_in_range(v, 1.0), lambda v: d.get_frames_played_in_range(0.0, v),
             lambda v: d.get_frames_in_range(0, 10, v), lambda v: d[0:10:v] if v is None or isinstance(v, int) else d[v:1],
             lambda v: samplers.clips_at_random_indices(d, num_clips=2, sampling_range_start=v, seed=1),
             lambda v: samplers.clips_at_regular_timestamps(d, seconds_between_clip_starts=0.5, sampling_range_end=v)]

    fuzz(calls, numbers, allowed)
