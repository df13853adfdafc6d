"""frameflow.torch's streaming dataset and the client's helpers that need no server (the
client against a real server is tests/e2e/python.rs in the repository)."""

import struct

import numpy as np
import pytest

from frameflow.client import FrameflowError, NotFound, TooManyRequests, Unavailable, _error, read_flo
from frameflow.torch import ClipDataset, ClipIterableDataset, JobResultsDataset


def as_numpy(data):
    return data.numpy() if hasattr(data, "numpy") else np.asarray(data)


def test_the_iterable_dataset_reads_each_video_once_with_the_map_datasets_clips(video):
    params = {"num_clips": 2, "num_frames_per_clip": 3}
    stream = ClipIterableDataset([video, video, video], params=params, seed=4)
    mapped = ClipDataset([video, video, video], params=params, seed=4)
    items = list(stream)
    assert len(items) == 3
    for i, item in enumerate(items):
        assert np.array_equal(as_numpy(item.data), as_numpy(mapped[i].data))
    stream.set_epoch(1)
    assert not np.array_equal(np.asarray(next(iter(stream)).pts_seconds), np.asarray(items[0].pts_seconds))


def test_flo_files_read_back_as_u_then_v():
    u = np.arange(6, dtype=np.float32).reshape(2, 3)
    v = -u
    data = b"PIEH" + struct.pack("<ii", 3, 2) + np.stack([u, v], axis=-1).astype("<f4").tobytes()
    field = read_flo(data)
    assert field.shape == (2, 2, 3) and field.dtype == np.float32
    assert np.array_equal(field[0], u) and np.array_equal(field[1], v)
    with pytest.raises(ValueError):
        read_flo(b"nope")


def test_error_bodies_become_typed_errors():
    problem = b'{"type": "about:blank", "title": "Bad Request", "status": 400, "detail": "bad quality", "code": "bad_request", "param": "quality"}'
    e = _error(400, problem)
    assert (e.status, e.code, e.message, e.param) == (400, "bad_request", "bad quality", "quality")
    e = _error(404, b'{"error": {"code": "not_found", "message": "no video x"}}')
    assert isinstance(e, NotFound) and (e.status, e.code, e.message) == (404, "not_found", "no video x")
    assert isinstance(_error(429, b"{}"), TooManyRequests)
    assert isinstance(_error(503, b"busy"), Unavailable)
    seed000 = _error(418, b'{"message": "teapot"}')
    assert type(seed000) is FrameflowError and seed000.message == "teapot"


def test_job_results_need_a_manifest(tmp_path):
    with pytest.raises(FileNotFoundError):
        JobResultsDataset(tmp_path)


def test_flow_in_process_is_a_float_field_per_pair(video):
    from frameflow import VideoDecoder

    d = VideoDecoder(video)
    one = as_numpy(d.flow(10, algorithm="dis-fast"))
    assert one.shape == (2, 240, 320) and one.dtype == np.float32
    # testsrc2 moves: some flow, and a pair is the same field however it is asked for.
    assert np.abs(one).max() > 0.5
    many = as_numpy(d.flows([(10, 11), (3, 7), (10, 11)], algorithm="dis-fast"))
    assert many.shape == (3, 2, 240, 320)
    assert np.array_equal(many[0], one) and np.array_equal(many[2], one)
    assert np.array_equal(as_numpy(d.flow(3, 7, algorithm="dis-fast")), many[1])
    # Frames rendered smaller give a field of that size.
    small = VideoDecoder(video, width=160)
    assert as_numpy(small.flow(10, algorithm="dis-ultrafast")).shape == (2, 120, 160)
    with pytest.raises(ValueError):
        d.flow(10, algorithm="lucas-kanade")
    with pytest.raises(IndexError):
        d.flow(59)  # to 60: past the last frame
    with pytest.raises(ValueError):
        d.flow(True)
    with pytest.raises(ValueError):
        d.flows([(1, 2, 3)])


def test_the_clip_dataset_gives_flow_for_the_planned_pairs(video):
    from frameflow import VideoDecoder
    from frameflow.samplers import clips_at_random_indices

    params = {"num_clips": 2, "num_frames_per_clip": 3, "num_indices_between_frames": 2}
    both = ClipDataset([video], params=params, seed=9, modality="rgb+flow", algorithm="dis-ultrafast")
    item = both[0]
    flow, indices, flow_to = as_numpy(item["flow"]), item["indices"], item["flow_to"]
    assert flow.shape == (2, 3, 2, 240, 320) and flow.dtype == np.float32
    assert as_numpy(item["rgb"]).shape == (2, 3, 3, 240, 320)
    # Flow k of a clip goes from its frame k to the frame one step later.
    step = flow_to - indices
    assert np.all((0 <= step) & (step <= 2)) and np.any(step == 2), step
    d = VideoDecoder(video)
    pairs = list(zip(indices.ravel().tolist(), flow_to.ravel().tolist()))
    assert np.array_equal(flow.reshape(6, 2, 240, 320), as_numpy(d.flows(pairs, algorithm="dis-ultrafast")))
    # The same clips as rgb alone with that seed, frames too.
    rgb = clips_at_random_indices(d, seed=both.item_seed(0), modality="rgb+flow", algorithm="dis-ultrafast",
                                  num_clips=2, num_frames_per_clip=3, num_indices_between_frames=2)
    assert np.array_equal(rgb["indices"], indices)
    assert np.array_equal(as_numpy(rgb["rgb"]), as_numpy(item["rgb"]))
    only = ClipDataset([video], params=params, seed=9, modality="flow", algorithm="dis-ultrafast")[0]
    assert "rgb" not in only and np.array_equal(as_numpy(only["flow"]), flow)
    with pytest.raises(ValueError):
        ClipDataset([video], modality="depth")


def test_the_clip_dataset_opens_a_video_listed_many_times_once(video):
    dataset = ClipDataset([video] * 5, params={"num_clips": 1, "num_frames_per_clip": 2}, seed=1, open_decoders=2)
    for i in range(5):
        dataset[i]
    assert len(dataset._decoders) == 1
    with pytest.raises(ValueError):
        ClipDataset([video], open_decoders=0)


def test_job_results_refuse_paths_outside_the_folder(tmp_path):
    (tmp_path / "manifest.jsonl").write_text('{"clip": 0, "k": 0, "kind": "rgb", "index": 1, "path": "../../etc/passwd"}\n')
    results = JobResultsDataset(tmp_path)
    with pytest.raises(FileNotFoundError):
        results[0]
    with pytest.raises(ValueError):
        JobResultsDataset("s3://", job="x")
    with pytest.raises(ValueError):
        JobResultsDataset("s3://bucket/store", job="../x", s3_client=object())
