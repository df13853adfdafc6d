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
