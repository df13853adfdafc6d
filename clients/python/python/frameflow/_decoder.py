"""``VideoDecoder``: torchcodec's decoder API over frameflow's media core (``frameflow._core``).

Frames come back as ``torch.Tensor`` (uint8) when torch is installed, else as NumPy arrays;
``dimension_order`` is ``"NCHW"`` (torchcodec's default) or ``"NHWC"``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Sequence, Union

import numpy as np

from . import _core

try:  # torch is optional: frames are NumPy arrays without it.
    import torch as _torch
except ImportError:  # pragma: no cover - depends on the environment
    _torch = None

Source = Union[str, Path, bytes, Any]


def _as_output(array: np.ndarray):
    """A NumPy array as what callers get: a torch tensor sharing its memory, when torch is here."""
    if _torch is not None:
        return _torch.from_numpy(array)
    return array


@dataclass
class Frame:
    """One frame: ``data`` (C, H, W) or (H, W, C) uint8, its pts and duration in seconds."""

    data: Any
    pts_seconds: float
    duration_seconds: float

    def __iter__(self):
        return iter((self.data, self.pts_seconds, self.duration_seconds))


@dataclass
class FrameBatch:
    """Frames: ``data`` (N, C, H, W) or (N, H, W, C), ``pts_seconds`` and ``duration_seconds`` (N,)."""

    data: Any
    pts_seconds: Any
    duration_seconds: Any

    def __len__(self) -> int:
        return len(self.pts_seconds)

    def __iter__(self):
        for i in range(len(self)):
            yield Frame(self.data[i], float(self.pts_seconds[i]), float(self.duration_seconds[i]))

    def __getitem__(self, key):
        if isinstance(key, int):
            return Frame(self.data[key], float(self.pts_seconds[key]), float(self.duration_seconds[key]))
        return FrameBatch(self.data[key], self.pts_seconds[key], self.duration_seconds[key])


@dataclass
class VideoStreamMetadata:
    """torchcodec's stream metadata; the frame count and times come from a packet scan."""

    num_frames: int
    num_frames_from_content: int
    num_frames_from_header: Optional[int]
    average_fps: float
    average_fps_from_header: Optional[float]
    duration_seconds: float
    duration_seconds_from_header: Optional[float]
    begin_stream_seconds: float
    begin_stream_seconds_from_header: Optional[float]
    end_stream_seconds: float
    width: int
    height: int
    codec: str
    bit_rate: Optional[float]
    stream_index: int
    rotation: int
    key_frame_indices: List[int]


class VideoDecoder:
    """A video's frames by index, slice, pts or time, exact (as ``ffmpeg -vf select=eq(n,N)``).

    ``source`` is a path (``str`` or ``pathlib.Path``), ``bytes``, or a binary file-like
    object. frameflow adds ``width``/``height``/``crop=(x, y, w, h)``: frames rendered in the
    core (crop, then resize), as the server renders them. ``seek_mode`` is accepted for compatibility: frameflow always scans the packets,
    so ``"approximate"`` gives the same exact frames. Safe to use from several threads (one
    decode at a time per decoder) and after ``fork`` (the child reopens the file).
    """

    def __init__(
        self,
        source: Source,
        *,
        stream_index: Optional[int] = None,
        dimension_order: str = "NCHW",
        num_ffmpeg_threads: int = 1,
        device: str = "cpu",
        seek_mode: str = "exact",
        width: Optional[int] = None,
        height: Optional[int] = None,
        crop: Optional[Sequence[int]] = None,
    ):
        if dimension_order not in ("NCHW", "NHWC"):
            raise ValueError(f"dimension_order must be 'NCHW' or 'NHWC', got {dimension_order!r}")
        if seek_mode not in ("exact", "approximate"):
            raise ValueError(f"seek_mode must be 'exact' or 'approximate', got {seek_mode!r}")
        if str(device) != "cpu":
            raise ValueError(f"frameflow decodes on the CPU; device {device!r} is not supported")
        if not isinstance(num_ffmpeg_threads, int) or num_ffmpeg_threads < 0:
            raise ValueError(f"num_ffmpeg_threads must be an int >= 0, got {num_ffmpeg_threads!r}")
        if stream_index is not None and (not isinstance(stream_index, int) or stream_index < 0):
            raise ValueError(f"stream_index must be an int >= 0, got {stream_index!r}")
        for name, side in (("width", width), ("height", height)):
            if side is not None and (isinstance(side, bool) or not isinstance(side, int) or not 1 <= side <= 16384):
                raise ValueError(f"{name} must be an int in 1..16384, got {side!r}")
        if crop is not None:
            crop = tuple(crop)
            if len(crop) != 4 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in crop) or crop[2] == 0 or crop[3] == 0:
                raise ValueError(f"crop must be (x, y, width, height) with positive width and height, got {crop!r}")
        # frameflow: frames rendered in the core (crop first, then resize; one of width or
        # height keeps the aspect ratio), exactly as the server and `frameflow frame` render.
        self._render = (width, height, crop)
        self._source = source
        self._stream_index = stream_index
        self._dimension_order = dimension_order
        self._threads = num_ffmpeg_threads
        self._seek_mode = seek_mode
        self._temp = None
        self._path = self._materialize(source)
        self._open()

    def _materialize(self, source: Source) -> str:
        if isinstance(source, (str, Path)):
            return os.fspath(source)
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        elif hasattr(source, "read"):
            data = source.read()
            if not isinstance(data, (bytes, bytearray)):
                raise ValueError("a file-like source must be opened in binary mode")
        else:
            raise ValueError(f"source must be a path, bytes or a binary file-like object, got {type(source).__name__}")
        # FFmpeg reads (and seeks in) a file: the bytes go to a private temporary one.
        temp = tempfile.NamedTemporaryFile(prefix="frameflow-", suffix=".video", delete=False)
        temp.write(data)
        temp.close()
        self._temp = temp.name
        return temp.name

    def _open(self) -> None:
        self._pid = os.getpid()
        self._core = _core.CoreVideo(self._path, self._stream_index, self._threads)
        info = json.loads(self._core.info_json())
        self._info = info
        self._pts = np.asarray(self._core.pts(), dtype=np.int64)
        num, den = info["time_base"]
        self._time_base = num / den
        seconds = self._pts * self._time_base
        end = info["start_seconds"] + info["duration_seconds"]
        self._pts_seconds = seconds.astype(np.float64)
        durations = np.empty_like(self._pts_seconds)
        if len(seconds):
            durations[:-1] = np.diff(seconds)
            durations[-1] = max(end - seconds[-1], 0.0)
        self._durations = durations
        # frameflow counts and times by scanning the packets; of the header's own figures only
        # the average frame rate is read, so the other `*_from_header` fields and `bit_rate`
        # are None.
        self.metadata = VideoStreamMetadata(
            num_frames=info["frame_count"],
            num_frames_from_content=info["frame_count"],
            num_frames_from_header=None,
            average_fps=info["avg_fps"],
            average_fps_from_header=info["avg_fps"],
            duration_seconds=info["duration_seconds"],
            duration_seconds_from_header=None,
            begin_stream_seconds=info["start_seconds"],
            begin_stream_seconds_from_header=None,
            end_stream_seconds=end,
            width=info["width"],
            height=info["height"],
            codec=info["codec"],
            bit_rate=None,
            stream_index=info["stream_index"],
            rotation=info["rotation"],
            key_frame_indices=list(info["keyframes"]),
        )

    # --- lifetime -----------------------------------------------------------------------

    def _core_here(self):
        """The decoder, reopened in a forked child (FFmpeg state does not survive a fork)."""
        if os.getpid() != self._pid:
            self._open()
        return self._core

    def __reduce__(self):
        # Pickled by its source, so a decoder moves to DataLoader workers (spawn).
        width, height, crop = self._render
        kwargs = dict(stream_index=self._stream_index, dimension_order=self._dimension_order, num_ffmpeg_threads=self._threads,
                      seek_mode=self._seek_mode, width=width, height=height, crop=crop)
        source = self._source if isinstance(self._source, (str, Path, bytes)) else Path(self._path).read_bytes()
        return (_rebuild, (source, kwargs))

    def __del__(self):
        temp = getattr(self, "_temp", None)
        if temp and getattr(self, "_pid", None) == os.getpid():
            try:
                os.unlink(temp)
            except OSError:
                pass

    # --- indexing -----------------------------------------------------------------------

    def __len__(self) -> int:
        return self.metadata.num_frames

    def _index(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise ValueError(f"a frame index must be an int, got {type(index).__name__}")
        n = len(self)
        i = int(index)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"frame index {index} is out of range: the video has {n} frames")
        return i

    def _decode(self, indices: Sequence[int]) -> np.ndarray:
        if len(indices) == 0:
            return np.empty((0, 3, 0, 0) if self._dimension_order == "NCHW" else (0, 0, 0, 3), dtype=np.uint8)
        flat, height, width = self._core_here().decode(list(indices), *self._render)
        # The core's buffer, owned by NumPy without a copy (torch.from_numpy shares it too).
        # NCHW is a view of the packed rows, as torchcodec's tensors are.
        frames = flat.reshape(len(indices), height, width, 3)
        if self._dimension_order == "NCHW":
            frames = frames.transpose(0, 3, 1, 2)
        return frames

    def _batch(self, indices: Sequence[int]) -> FrameBatch:
        indices = list(indices)
        data = self._decode(indices)
        pts = self._pts_seconds[indices] if indices else np.empty(0)
        durations = self._durations[indices] if indices else np.empty(0)
        if _torch is not None:
            return FrameBatch(_as_output(data), _torch.from_numpy(np.array(pts)), _torch.from_numpy(np.array(durations)))
        return FrameBatch(data, np.array(pts), np.array(durations))

    def __getitem__(self, key):
        if isinstance(key, slice):
            return self._batch(range(*key.indices(len(self)))).data
        return _as_output(self._decode([self._index(key)])[0])

    def get_frame_at(self, index: int) -> Frame:
        i = self._index(index)
        return Frame(_as_output(self._decode([i])[0]), float(self._pts_seconds[i]), float(self._durations[i]))

    def get_frames_at(self, indices: Optional[Sequence[int]] = None, *, pts: Optional[Sequence[int]] = None) -> FrameBatch:
        """Frames by index (decoded once each, in one pass), or by exact ``pts`` (frameflow)."""
        if (indices is None) == (pts is None):
            raise ValueError("give the frames by index or by pts, not both")
        if pts is not None:
            return self._batch([self._core_here().index_of_pts(int(p)) for p in pts])
        return self._batch([self._index(i) for i in _ints(indices)])

    def get_frames_in_range(self, start: int, stop: int, step: int = 1) -> FrameBatch:
        n = len(self)
        if not all(isinstance(v, (int, np.integer)) for v in (start, stop, step)):
            raise ValueError("start, stop and step must be ints")
        if step <= 0:
            raise ValueError(f"step must be positive, got {step}")
        if not 0 <= start < n:
            raise IndexError(f"start {start} is out of range: the video has {n} frames")
        if not start <= stop <= n:
            raise IndexError(f"stop {stop} must be in [{start}, {n}]")
        return self._batch(range(start, stop, step))

    _ALGORITHMS = ("farneback", "dis-ultrafast", "dis-fast", "dis-medium", "tvl1")

    def _flows(self, pairs: Sequence[tuple], algorithm: str) -> np.ndarray:
        """``(len(pairs), 2, H, W)`` float32 flow for ``(from, to)`` index pairs (checked)."""
        if algorithm not in self._ALGORITHMS:
            raise ValueError(f"algorithm must be one of {list(self._ALGORITHMS)}, got {algorithm!r}")
        checked = [(self._index(a), self._index(b)) for a, b in pairs]
        if not checked:
            return np.empty((0, 2, 0, 0), dtype=np.float32)
        flat, height, width = self._core_here().flow(checked, algorithm, *self._render)
        return flat.reshape(len(checked), 2, height, width)

    def flow(self, index: int, to: Optional[int] = None, *, algorithm: str = "dis-medium"):
        """Optical flow from frame ``index`` to frame ``to`` (default ``index + 1``), computed
        in-process by the same code as the server (OpenCV; ``farneback``, ``dis-ultrafast``,
        ``dis-fast``, ``dis-medium``, ``tvl1``) on the frames as this decoder renders them (in
        grey): float32 ``(2, H, W)``, u (to the right) then v (down), in pixels, such that
        ``frame[index](x, y) ≈ frame[to](x + u, y + v)``. A tensor when torch is installed."""
        for v in (index, to):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))):
                raise ValueError(f"frame indices must be ints, got {type(v).__name__}")
        i = self._index(index)
        j = i + 1 if to is None else to
        return _as_output(self._flows([(i, j)], algorithm)[0])

    def flows(self, pairs: Sequence[tuple], *, algorithm: str = "dis-medium"):
        """Flow for many ``(from, to)`` pairs at once (each frame decoded once, in one pass):
        float32 ``(N, 2, H, W)``."""
        pairs = [tuple(p) for p in pairs]
        if any(len(p) != 2 for p in pairs):
            raise ValueError("pairs must be (from, to) index pairs")
        _ints([v for p in pairs for v in p])
        return _as_output(self._flows(pairs, algorithm))

    def _played_at(self, seconds: float) -> int:
        if not isinstance(seconds, (int, float, np.floating, np.integer)) or math.isnan(float(seconds)):
            raise ValueError(f"seconds must be a number, got {seconds!r}")
        begin, end = self.metadata.begin_stream_seconds, self.metadata.end_stream_seconds
        if not begin <= seconds < end:
            raise IndexError(f"{seconds} s is outside the stream [{begin}, {end})")
        # The frame on screen at `seconds`: the last one whose pts is at or before it.
        return max(int(np.searchsorted(self._pts_seconds, float(seconds), side="right")) - 1, 0)

    def get_frame_played_at(self, seconds: float) -> Frame:
        return self.get_frame_at(self._played_at(seconds))

    def get_frames_played_at(self, seconds: Sequence[float]) -> FrameBatch:
        return self._batch([self._played_at(s) for s in _floats(seconds)])

    def get_frames_played_in_range(self, start_seconds: float, stop_seconds: float) -> FrameBatch:
        """Frames whose presentation time falls in ``[start_seconds, stop_seconds)``."""
        for v in (start_seconds, stop_seconds):
            if math.isnan(float(v)):
                raise ValueError("seconds must not be NaN")
        if stop_seconds < start_seconds:
            raise ValueError(f"stop_seconds ({stop_seconds}) is before start_seconds ({start_seconds})")
        begin, end = self.metadata.begin_stream_seconds, self.metadata.end_stream_seconds
        if not (begin <= start_seconds <= end and begin <= stop_seconds <= end):
            raise IndexError(f"[{start_seconds}, {stop_seconds}) is outside the stream [{begin}, {end}]")
        inside = np.nonzero((self._pts_seconds >= start_seconds) & (self._pts_seconds < stop_seconds))[0]
        return self._batch(inside.tolist())


def _ints(values) -> List[int]:
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"frame indices must be ints, got {type(v).__name__}")
        out.append(int(v))
    return out


def _floats(values) -> List[float]:
    return [float(v) for v in values]


def _rebuild(source, kwargs):
    return VideoDecoder(source, **kwargs)
