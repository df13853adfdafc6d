"""``VideoDecoder``: torchcodec's decoder API over frameflow's media core (``frameflow._core``).

Frames come back as ``torch.Tensor`` (uint8) when torch is installed, else as NumPy arrays;
``dimension_order`` is ``"NCHW"`` (torchcodec's default) or ``"NHWC"``.

Which frame a time selects, the bounds, the errors and their types follow torchcodec 0.17
(``clients/python/README.md`` lists what deliberately differs); frames themselves are the
FFmpeg CLI's, bit for bit.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import math
import numbers
import os
import tempfile
import weakref
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core

try:  # torch is optional: frames are NumPy arrays without it.
    import torch as _torch
except ImportError:  # pragma: no cover - depends on the environment
    _torch = None

Source = Union[str, Path, bytes, Any]

# Decoders by id, for the torch custom ops below (torch.compile traces a call to an op; the
# op finds its decoder here).
_DECODERS: "weakref.WeakValueDictionary[int, VideoDecoder]" = weakref.WeakValueDictionary()
_NEXT_ID = itertools.count(1)


def _compiling() -> bool:
    return _torch is not None and _torch.compiler.is_compiling()


def _as_output(array: np.ndarray):
    """A NumPy array as what callers get: a torch tensor sharing its memory, when torch is here."""
    if _torch is not None:
        return _torch.from_numpy(array)
    return array


def _frame_repr(self) -> str:
    # As torchcodec prints them: the data's shape, not its values.
    s = self.__class__.__name__ + ":\n"
    for f in dataclasses.fields(self):
        name, value = f.name, getattr(self, f.name)
        if name == "data":
            name, value = "data (shape)", tuple(value.shape)
        s += f"  {name}: {value}\n"
    return s


@dataclass
class Frame:
    """One frame: ``data`` (C, H, W) or (H, W, C) uint8, its pts and duration in seconds.

    As torchcodec's ``Frame``: ``data`` must be 3-dimensional; the times are floats; it
    unpacks as ``data, pts_seconds, duration_seconds``."""

    data: Any
    pts_seconds: float
    duration_seconds: float

    def __post_init__(self):
        if getattr(self.data, "ndim", None) != 3:
            raise ValueError(f"data must be 3-dimensional, got self.data.shape = {tuple(getattr(self.data, 'shape', ()))}")
        self.pts_seconds = float(self.pts_seconds)
        self.duration_seconds = float(self.duration_seconds)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.data, self.pts_seconds, self.duration_seconds))

    __repr__ = _frame_repr


def _shape(value) -> tuple:
    return tuple(getattr(value, "shape", np.shape(value)))


@dataclass
class FrameBatch:
    """Frames: ``data`` (N, C, H, W) or (N, H, W, C) — (clips, N, ...) from the samplers —
    with ``pts_seconds`` and ``duration_seconds`` of ``data``'s leading shape.

    As torchcodec's ``FrameBatch``: checked on construction; indexing (an int, a slice, a
    tensor or array, a tuple) and iteration give ``FrameBatch`` es of the selected part, a
    single frame being a ``FrameBatch`` with 3-dimensional ``data`` and 0-dimensional times."""

    data: Any
    pts_seconds: Any
    duration_seconds: Any

    def __post_init__(self):
        shape = _shape(self.data)
        if len(shape) < 3:
            raise ValueError(f"data must be at least 3-dimensional, got self.data.shape = {shape}")
        leading = shape[:-3]
        if not (leading == _shape(self.pts_seconds) == _shape(self.duration_seconds)):
            raise ValueError(
                "Tried to create a FrameBatch but the leading dimensions of the inputs do not match. "
                f"Got self.data.shape = {shape} so we expected the shape of pts_seconds and duration_seconds "
                f"to be leading_dims = {leading}, but got self.pts_seconds.shape = {_shape(self.pts_seconds)} "
                f"and self.duration_seconds.shape = {_shape(self.duration_seconds)}."
            )

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Iterator["FrameBatch"]:
        for data, pts, duration in zip(self.data, self.pts_seconds, self.duration_seconds):
            yield FrameBatch(data, pts, duration)

    def __getitem__(self, key) -> "FrameBatch":
        return FrameBatch(self.data[key], self.pts_seconds[key], self.duration_seconds[key])

    __repr__ = _frame_repr


@dataclass
class StreamMetadata:
    """torchcodec's ``StreamMetadata``: what the container header says of any stream."""

    duration_seconds_from_header: Optional[float]
    begin_stream_seconds_from_header: Optional[float]
    bit_rate: Optional[float]
    codec: Optional[str]
    stream_index: int
    media_type: str


def _header_fields(stream: dict, info: dict, media_type: str) -> dict:
    """``StreamMetadata``'s fields from a stream of ``_core.header_json`` and the core's info."""
    return dict(duration_seconds_from_header=stream.get("duration_seconds"), begin_stream_seconds_from_header=stream.get("start_seconds"),
                bit_rate=stream.get("bit_rate"), codec=info["codec"], stream_index=info["stream_index"], media_type=media_type)


@dataclass
class VideoStreamMetadata(StreamMetadata):
    """torchcodec 0.17's ``VideoStreamMetadata``: the header's facts (``*_from_header``,
    ``bit_rate``, colour, pixel format), the scan's (``*_from_content``) and the fields
    computed from them (``num_frames``, ``duration_seconds``, ``begin_stream_seconds``,
    ``end_stream_seconds``, ``average_fps``). frameflow always scans, so the content fields
    are set whatever ``seek_mode`` says. ``key_frame_indices`` is frameflow's."""

    width: Optional[int]
    height: Optional[int]
    num_frames_from_header: Optional[int]
    average_fps_from_header: Optional[float]
    pixel_aspect_ratio: Optional[Fraction]
    rotation: Optional[float]
    color_primaries: Optional[str]
    color_space: Optional[str]
    color_transfer_characteristic: Optional[str]
    pixel_format: Optional[str]
    begin_stream_seconds_from_content: Optional[float]
    end_stream_seconds_from_content: Optional[float]
    num_frames_from_content: Optional[int]
    duration_seconds: Optional[float]
    begin_stream_seconds: Optional[float]
    end_stream_seconds: Optional[float]
    num_frames: Optional[int]
    average_fps: Optional[float]
    key_frame_indices: List[int] = field(default_factory=list)


_NO_STREAM = "No valid stream found"


class SourceNotFoundError(FileNotFoundError, RuntimeError):
    """A path that does not exist: a ``FileNotFoundError``, and a ``RuntimeError`` as
    torchcodec raises for it."""


def _read_all(source) -> bytes:
    """Every byte of a binary file-like object, from its start, through ``read(size)`` (and
    ``seek(offset, whence)`` where it can): the methods torchcodec asks such an object for."""
    if hasattr(source, "seek"):
        try:
            source.seek(0, io.SEEK_SET)
        except (OSError, ValueError):
            pass  # not seekable: read from where it is
    chunks = []
    while True:
        chunk = source.read(1 << 20)
        if chunk is None:  # a non-blocking raw stream with nothing yet
            continue
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError("source is for reading text, likely from open(..., 'r'). Try with 'rb' for binary reading?")
        if not chunk:
            break
        chunks.append(bytes(chunk))
    return b"".join(chunks)


def _read_custom_frame_mappings(mappings) -> int:
    """Checks torchcodec's ``custom_frame_mappings`` JSON (a string, bytes or a file-like
    object) as torchcodec does; returns its frame count."""
    try:
        data = json.load(mappings) if hasattr(mappings, "read") else json.loads(mappings)
    except json.JSONDecodeError as e:
        raise ValueError(f"Invalid custom frame mappings: {e}. It should be a valid JSON string or a file-like object.") from e
    if not data or not isinstance(data, dict) or "frames" not in data:
        raise ValueError("Invalid custom frame mappings. The input is empty or missing the required 'frames' key.")
    frames = data["frames"]
    first = frames[0] if frames else {}
    if not (any(k in first for k in ("pts", "pkt_pts")) and any(k in first for k in ("duration", "pkt_duration")) and "key_frame" in first):
        raise ValueError(
            "Invalid custom frame mappings. The 'pts'/'pkt_pts', 'duration'/'pkt_duration', and 'key_frame' keys are required in the frame metadata."
        )
    return len(frames)


def _is_integral(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _as_list(values, what: str) -> list:
    """A list from a list, tuple, NumPy array or torch tensor."""
    if _torch is not None and isinstance(values, _torch.Tensor):
        return values.reshape(-1).tolist()
    if isinstance(values, np.ndarray):
        return values.reshape(-1).tolist()
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"{what} must be a list, a tuple, a NumPy array or a tensor, got {type(values).__name__}")
    return list(values)


def _source_path(source: Source) -> Tuple[str, Optional[str]]:
    """A path FFmpeg can open for a decoder's ``source`` (torchcodec's source types), and the
    private temporary file holding the source's bytes when it is not a path (the caller
    deletes it)."""
    if isinstance(source, (str, Path)):
        path = os.fspath(source)
        if "://" not in path and not os.path.exists(path):
            raise SourceNotFoundError(2, "no such file", path)
        return path, None
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif _torch is not None and isinstance(source, _torch.Tensor):
        if source.dtype != _torch.uint8:
            raise TypeError(f"a tensor source must hold the file's bytes as uint8, got {source.dtype}")
        data = source.detach().cpu().contiguous().numpy().tobytes()
    elif isinstance(source, np.ndarray) and source.dtype == np.uint8:
        data = source.tobytes()
    elif isinstance(source, io.TextIOBase):
        raise TypeError("source is for reading text, likely from open(..., 'r'). Try with 'rb' for binary reading?")
    elif hasattr(source, "read") and hasattr(source, "seek"):
        data = _read_all(source)
    else:
        raise TypeError(
            f"Unknown source type: {type(source)}. Supported types are str, Path, bytes, Tensor and file-like "
            "objects with read(self, size: int) -> bytes and seek(self, offset: int, whence: int) -> int methods."
        )
    if not data:
        raise ValueError("the source holds no bytes")
    # FFmpeg reads (and seeks in) a file: the bytes go to a private temporary one.
    temp = tempfile.NamedTemporaryFile(prefix="frameflow-", suffix=".video", delete=False)
    temp.write(data)
    temp.close()
    return temp.name, temp.name


class _FileBacked:
    """What the video and audio decoders share: the file FFmpeg reads (``_path``; a private
    temporary one, ``_temp``, for bytes and file objects, deleted with the decoder) and the
    core object ``_open`` makes, reopened in a forked child."""

    def _core_here(self):
        """The decoder, reopened in a forked child (FFmpeg state does not survive a fork)."""
        if os.getpid() != self._pid:
            self._open()
        return self._core

    def _picklable_source(self):
        """The source as a pickle carries it: a path or bytes as given, else the file's bytes."""
        return self._source if isinstance(self._source, (str, Path, bytes)) else Path(self._path).read_bytes()

    def __del__(self):
        temp = getattr(self, "_temp", None)
        if temp and getattr(self, "_pid", None) == os.getpid():
            try:
                os.unlink(temp)
            except OSError:
                pass


class VideoDecoder(_FileBacked):
    """A video's frames by index, slice, pts or time, exact (as ``ffmpeg -vf select=eq(n,N)``).

    ``source`` is a path (``str`` or ``pathlib.Path``), ``bytes``, a uint8 tensor of the
    file's bytes, or a binary file-like object with ``read(size)`` (and ``seek(offset,
    whence)``). frameflow adds ``width``/``height``/``crop=(x, y, w, h)``: frames rendered in
    the core (crop, then resize), as the server renders them. ``seek_mode`` and
    ``custom_frame_mappings`` are accepted (and checked) for compatibility: frameflow always
    scans the packets, so every mode gives the same exact frames. Safe to use from several
    threads (one decode at a time per decoder) and after ``fork`` (the child reopens the file).
    """

    def __init__(
        self,
        source: Source,
        *,
        stream_index: Optional[int] = None,
        dimension_order: str = "NCHW",
        num_ffmpeg_threads: int = 1,
        device: Any = "cpu",
        seek_mode: str = "exact",
        custom_frame_mappings: Any = None,
        width: Optional[int] = None,
        height: Optional[int] = None,
        crop: Optional[Sequence[int]] = None,
    ):
        if seek_mode not in ("exact", "approximate"):
            raise ValueError(f"Invalid seek mode ({seek_mode}). Supported values are exact, approximate.")
        if custom_frame_mappings is not None:
            if seek_mode == "approximate":
                raise ValueError(
                    "custom_frame_mappings is incompatible with seek_mode='approximate'. "
                    "Use seek_mode='custom_frame_mappings' or leave it unspecified to automatically use custom frame mappings."
                )
            # Checked as torchcodec checks it, then not needed: the packet scan is exact.
            _read_custom_frame_mappings(custom_frame_mappings)
        if dimension_order not in ("NCHW", "NHWC"):
            raise ValueError(f"Invalid dimension order ({dimension_order}). Supported values are NCHW, NHWC.")
        if device is not None and str(device) != "cpu":
            raise ValueError(f"frameflow decodes on the CPU; device {str(device)!r} is not supported")
        if num_ffmpeg_threads is None:
            raise ValueError(f"num_ffmpeg_threads = {num_ffmpeg_threads} should be an int.")
        if not _is_integral(num_ffmpeg_threads):
            raise RuntimeError(f"num_ffmpeg_threads must be an int, got {type(num_ffmpeg_threads).__name__}")
        if stream_index is not None and not _is_integral(stream_index):
            raise TypeError(f"stream_index must be an int, got {type(stream_index).__name__}")
        for name, side in (("width", width), ("height", height)):
            if side is not None and (not _is_integral(side) or not 1 <= side <= 16384):
                raise ValueError(f"{name} must be an int in 1..16384, got {side!r}")
        if crop is not None:
            crop = tuple(crop)
            if len(crop) != 4 or not all(_is_integral(v) and v >= 0 for v in crop) or crop[2] == 0 or crop[3] == 0:
                raise ValueError(f"crop must be (x, y, width, height) with positive width and height, got {crop!r}")
        # frameflow: frames rendered in the core (crop first, then resize; one of width or
        # height keeps the aspect ratio), exactly as the server and `frameflow frame` render.
        self._render = (width, height, crop)
        self._source = source
        self._stream_index = None if stream_index is None else int(stream_index)
        self._dimension_order = dimension_order
        self._threads = max(int(num_ffmpeg_threads), 0)  # negative: FFmpeg's automatic count, as 0
        self._seek_mode = seek_mode
        self._out_size = None
        self._path, self._temp = _source_path(source)
        self._open()
        self._id = next(_NEXT_ID)
        _DECODERS[self._id] = self

    def _open(self) -> None:
        self._pid = os.getpid()
        try:
            self._core = _core.CoreVideo(self._path, self._stream_index, self._threads)
        except RuntimeError as e:
            if "is not a video stream" in str(e) or str(e).endswith("no video stream"):
                raise ValueError(f"{_NO_STREAM}: {e}") from e
            raise
        info = json.loads(self._core.info_json())
        self._info = info
        self._pts = np.asarray(self._core.pts(), dtype=np.int64)
        packet_durations = np.asarray(self._core.durations(), dtype=np.int64)
        num, den = info["time_base"]
        self._time_base = num / den
        n = len(self._pts)
        # Seconds as torchcodec computes them: pts * num / den (multiplied first).
        seconds = self._pts.astype(np.float64) * num / den
        self._pts_seconds = seconds
        # A frame lasts its packet's duration; where the container gives none, until the next
        # frame (the last one: the scan's average step).
        ticks = packet_durations.copy()
        if n:
            gaps = np.diff(self._pts)
            step = int(round(float(np.mean(gaps)))) if len(gaps) else 0
            fill = np.append(gaps, step)
            ticks = np.where(ticks > 0, ticks, fill)
        self._durations = ticks.astype(np.float64) * num / den
        # torchcodec's played-at model: frame i is on screen from its pts until the next
        # frame's pts (the last one, until the end of the stream).
        self._next_seconds = np.append(seconds[1:], math.inf) if n else np.empty(0)
        if n:
            begin = float(seconds.min())
            end = float(((self._pts + ticks).astype(np.float64) * num / den).max())
        else:
            begin, end = 0.0, 0.0
        self.stream_index = info["stream_index"]
        self._average_fps = n / (end - begin) if end > begin else None
        # The header's facts are read when `metadata` is first asked for (another open of the
        # container: not paid by decoders that only decode).
        self._metadata = None
        self._num_frames = n
        self._begin_stream_seconds = begin
        self._end_stream_seconds = end

    @property
    def metadata(self) -> VideoStreamMetadata:
        """The stream's metadata (torchcodec's ``VideoStreamMetadata``)."""
        if self._metadata is None:
            self._metadata = self._read_metadata()
        return self._metadata

    @metadata.setter
    def metadata(self, value: VideoStreamMetadata) -> None:
        self._metadata = value

    def _read_metadata(self) -> VideoStreamMetadata:
        info = self._info
        stream = json.loads(_core.header_json(self._path))["streams"][info["stream_index"]]
        fps = stream.get("r_frame_rate")
        fps_from_header = fps[0] / fps[1] if fps else None
        sar = stream.get("sample_aspect_ratio")
        n, begin, end = self._num_frames, self._begin_stream_seconds, self._end_stream_seconds
        return VideoStreamMetadata(
            **_header_fields(stream, info, "video"),
            width=info["width"],
            height=info["height"],
            num_frames_from_header=stream.get("num_frames"),
            average_fps_from_header=fps_from_header,
            pixel_aspect_ratio=Fraction(sar[0], sar[1]) if sar else None,
            rotation=float(info["rotation"]) if info["rotation"] else None,
            color_primaries=stream.get("color_primaries"),
            color_space=stream.get("color_space"),
            color_transfer_characteristic=stream.get("color_transfer"),
            pixel_format=stream.get("pix_fmt"),
            begin_stream_seconds_from_content=begin,
            end_stream_seconds_from_content=end,
            num_frames_from_content=n,
            duration_seconds=end - begin,
            begin_stream_seconds=begin,
            end_stream_seconds=end,
            num_frames=n,
            average_fps=self._average_fps if self._average_fps is not None else fps_from_header,
            key_frame_indices=list(info["keyframes"]),
        )

    # --- lifetime -----------------------------------------------------------------------

    def __reduce__(self):
        # Pickled by its source, so a decoder moves to DataLoader workers (spawn).
        width, height, crop = self._render
        kwargs = dict(stream_index=self._stream_index, dimension_order=self._dimension_order, num_ffmpeg_threads=self._threads,
                      seek_mode=self._seek_mode, width=width, height=height, crop=crop)
        return (_rebuild, (self._picklable_source(), kwargs))

    # --- indexing -----------------------------------------------------------------------

    def __len__(self) -> int:
        return self._num_frames

    def _index(self, index) -> int:
        """A frame index as torchcodec checks it (negative counts from the end)."""
        if not isinstance(index, numbers.Integral):
            raise RuntimeError(f"Expected a value of type 'int' for the frame index, got {type(index).__name__} ({index!r})")
        n = len(self)
        i = int(index)
        if i < 0:
            i += n
        if i < 0:
            raise IndexError(
                f"Invalid frame index={int(index)} for streamIndex={self.stream_index}; negative indices must have an "
                "absolute value less than the number of frames, and the number of frames must be known."
            )
        if i >= n:
            raise IndexError(f"Invalid frame index={i} for streamIndex={self.stream_index}; must be less than {n}")
        return i

    def _output_size(self):
        """(height, width) of the frames as this decoder renders them."""
        if self._out_size is None:
            if self._render == (None, None, None):
                self._out_size = (self._info["height"], self._info["width"])
            else:
                _, height, width = self._core_here().decode([0], *self._render)
                self._out_size = (height, width)
        return self._out_size

    def _decode(self, indices: Sequence[int]) -> np.ndarray:
        if len(indices) == 0:
            height, width = self._output_size()
            frames = np.empty((0, height, width, 3), dtype=np.uint8)
        else:
            flat, height, width = self._core_here().decode(list(indices), *self._render)
            # The core's buffer, owned by NumPy without a copy (torch.from_numpy shares it too).
            frames = flat.reshape(len(indices), height, width, 3)
        # NCHW is a view of the packed rows (channels-last memory), as torchcodec's tensors are.
        if self._dimension_order == "NCHW":
            frames = frames.transpose(0, 3, 1, 2)
        return frames

    def _batch(self, indices: Sequence[int]) -> FrameBatch:
        indices = np.asarray(list(indices), dtype=np.int64)
        data = self._decode(indices.tolist())
        pts = np.array(self._pts_seconds[indices], dtype=np.float64)
        durations = np.array(self._durations[indices], dtype=np.float64)
        if _torch is not None:
            return FrameBatch(_as_output(data), _torch.from_numpy(pts), _torch.from_numpy(durations))
        return FrameBatch(data, pts, durations)

    def _frame(self, i: int) -> Frame:
        return Frame(_as_output(self._decode([i])[0]), float(self._pts_seconds[i]), float(self._durations[i]))

    def _range(self, start, stop, step) -> range:
        """torchcodec's range rule: Python slice bounds, then a positive step."""
        start, stop, step = slice(start, stop, step).indices(len(self))
        if start < 0:
            raise RuntimeError(f"Range start, {start} is less than 0.")
        if step <= 0:
            raise RuntimeError(f"Step must be greater than 0; is {step}")
        return range(start, stop, step)

    def __getitem__(self, key):
        if isinstance(key, numbers.Integral):
            if _compiling():
                return _torch.ops.frameflow.frames_at(self._id, [int(key)])[0][0]
            return _as_output(self._decode([self._index(key)])[0])
        if isinstance(key, slice):
            return self._batch(self._range(key.start, key.stop, key.step)).data
        raise TypeError(f"Unsupported key type: {type(key)}. Supported types are int and slice.")

    def __iter__(self):
        # Every frame in order, decoded a few at a time in one pass.
        for first in range(0, len(self), 16):
            for frame in self._decode(list(range(first, min(first + 16, len(self))))):
                yield _as_output(frame)

    def _get_key_frame_indices(self):
        """Indices of the key frames (torchcodec's private helper of the same name)."""
        keys = np.asarray(self._info["keyframes"], dtype=np.int64)
        return _torch.from_numpy(keys) if _torch is not None else keys

    def get_frame_at(self, index: int) -> Frame:
        if _compiling():
            data, pts, duration = _torch.ops.frameflow.frames_at(self._id, [int(index)])
            return Frame(data[0], pts[0].item(), duration[0].item())
        return self._frame(self._index(index))

    def get_frames_at(self, indices=None, *, pts: Optional[Sequence[int]] = None) -> FrameBatch:
        """Frames by index (a list, array or tensor; negative counts from the end; decoded once
        each, in one pass), or by exact ``pts`` (frameflow)."""
        if (indices is None) == (pts is None):
            raise ValueError("give the frames by index or by pts, not both")
        if _compiling() and isinstance(indices, (list, tuple)):
            return FrameBatch(*_torch.ops.frameflow.frames_at(self._id, [int(i) for i in indices]))
        if pts is not None:
            return self._batch([self._core_here().index_of_pts(int(p)) for p in _as_list(pts, "pts")])
        if _torch is not None and isinstance(indices, _torch.Tensor):
            # torchcodec casts index tensors to integers.
            indices = np.asarray(indices.tolist(), dtype=np.float64).astype(np.int64).reshape(-1).tolist()
        elif isinstance(indices, numbers.Integral):
            indices = [indices]  # one index, as torchcodec takes it
        elif isinstance(indices, (str, bytes)) or not hasattr(indices, "__iter__"):
            raise TypeError(f"indices must be a list, a NumPy array or a tensor of ints, got {type(indices).__name__}")
        values = _as_list(indices, "indices")
        for v in values:
            if not isinstance(v, numbers.Integral):
                raise RuntimeError(f"Expected a value of type int for frame indices, got {type(v).__name__} ({v!r})")
        return self._batch([self._index(v) for v in values])

    def get_frames_in_range(self, start: int, stop: Optional[int] = None, step: int = 1) -> FrameBatch:
        """Frames ``start, start + step, ...`` before ``stop``, with Python's slice rules for the
        bounds (negative from the end, ``stop`` capped at the end or ``None``) and a positive step."""
        for name, v in (("start", start), ("stop", stop), ("step", step)):
            if v is not None and not _is_integral(v):
                raise TypeError(f"{name} must be an int, got {type(v).__name__}")
        return self._batch(self._range(start, stop, step))

    get_frames_at_indices = get_frames_at  # an older torchcodec name

    _ALGORITHMS = ("farneback", "dis-ultrafast", "dis-fast", "dis-medium", "tvl1")

    def _flows(self, pairs: Sequence[tuple], algorithm: str) -> np.ndarray:
        """``(len(pairs), 2, H, W)`` float32 flow for ``(from, to)`` index pairs (checked)."""
        if algorithm not in self._ALGORITHMS:
            raise ValueError(f"algorithm must be one of {list(self._ALGORITHMS)}, got {algorithm!r}")
        checked = [(self._index(a), self._index(b)) for a, b in pairs]
        if not checked:
            height, width = self._output_size()
            return np.empty((0, 2, height, width), dtype=np.float32)
        flat, height, width = self._core_here().flow(checked, algorithm, *self._render)
        return flat.reshape(len(checked), 2, height, width)

    def flow(self, index: int, to: Optional[int] = None, *, algorithm: str = "dis-medium"):
        """Optical flow from frame ``index`` to frame ``to`` (default ``index + 1``), computed
        in-process by the same code as the server (OpenCV; ``farneback``, ``dis-ultrafast``,
        ``dis-fast``, ``dis-medium``, ``tvl1``) on the frames as this decoder renders them (in
        grey): float32 ``(2, H, W)``, u (to the right) then v (down), in pixels, such that
        ``frame[index](x, y) ≈ frame[to](x + u, y + v)``. A tensor when torch is installed."""
        for v in (index, to):
            if v is not None and not _is_integral(v):
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
        if not all(_is_integral(v) for p in pairs for v in p):
            raise ValueError("frame indices must be ints")
        return _as_output(self._flows(pairs, algorithm))

    # --- by time --------------------------------------------------------------------------

    def _played_at(self, seconds: float) -> int:
        """The frame on screen at ``seconds`` (in the stream): the first whose successor
        starts after it — torchcodec's rule, robust to wrong or zero durations."""
        return min(int(np.searchsorted(self._next_seconds, seconds, side="right")), len(self) - 1)

    def get_frame_played_at(self, seconds: float) -> Frame:
        if isinstance(seconds, (str, bytes)) or not hasattr(seconds, "__float__"):
            raise TypeError(f"seconds must be a number, got {type(seconds).__name__}")
        seconds = float(seconds)
        begin, end = self._begin_stream_seconds, self._end_stream_seconds
        if not begin <= seconds < end:
            raise IndexError(f"Invalid pts in seconds: {seconds}. It must be greater than or equal to {begin} and less than {end}.")
        return self._frame(self._played_at(seconds))

    def get_frames_played_at(self, seconds) -> FrameBatch:
        """The frames on screen at each of ``seconds`` (a list, array or tensor)."""
        if isinstance(seconds, numbers.Real):
            seconds = [seconds]  # one time, as torchcodec takes it
        try:
            values = [float(v) for v in _as_list(seconds, "seconds")]
        except (TypeError, ValueError) as e:
            raise ValueError(f"Couldn't convert timestamps input to a tensor: {e}") from e
        begin, end = self._begin_stream_seconds, self._end_stream_seconds
        for v in values:
            if not v >= begin:
                raise RuntimeError(f"frame pts is {v}; must be greater than or equal to {begin}.")
            if not v < end:
                raise RuntimeError(f"frame pts is {v}; must be less than {end}.")
        return self._batch([self._played_at(v) for v in values])

    def get_frames_played_in_range(self, start_seconds: float, stop_seconds: float, fps: Optional[float] = None) -> FrameBatch:
        """The frames on screen at some time in ``[start_seconds, stop_seconds)``: each whose
        display interval (its pts until the next frame's) meets the range. With ``fps``, the
        frames on screen at ``start_seconds + k / fps`` instead (frames repeated or dropped)."""
        start_seconds, stop_seconds = float(start_seconds), float(stop_seconds)
        begin, end = self._begin_stream_seconds, self._end_stream_seconds
        if not start_seconds <= stop_seconds:
            raise ValueError(f"Invalid start seconds: {start_seconds}. It must be less than or equal to stop seconds ({stop_seconds}).")
        if not begin <= start_seconds < end:
            raise ValueError(f"Invalid start seconds: {start_seconds}. It must be greater than or equal to {begin} and less than {end}.")
        if not stop_seconds <= end:
            raise ValueError(f"Invalid stop seconds: {stop_seconds}. It must be less than or equal to {end}.")
        if fps is not None:
            if not (isinstance(fps, numbers.Real) and math.isfinite(fps) and fps > 0):
                raise RuntimeError(f"fps must be a positive number, got {fps!r}")
            # torchcodec's resampling: round((stop - start) * fps) times start + k / fps, each
            # the frame on screen then, timed as the new rate's frames.
            count = max(int(round((stop_seconds - start_seconds) * fps)), 0)
            times = np.array([start_seconds + k / fps for k in range(count)], dtype=np.float64)
            batch = self._batch([self._played_at(t) for t in times])
            durations = np.full(count, 1.0 / fps)
            if _torch is not None:
                return FrameBatch(batch.data, _torch.from_numpy(times), _torch.from_numpy(durations))
            return FrameBatch(batch.data, times, durations)
        if start_seconds == stop_seconds:
            return self._batch([])
        first = int(np.searchsorted(self._next_seconds, start_seconds, side="right"))
        last = int(np.searchsorted(self._pts_seconds, stop_seconds, side="left"))
        return self._batch(range(first, max(last, first)))

    def get_all_frames(self, fps: Optional[float] = None) -> FrameBatch:
        """Every frame (with ``fps``, resampled to that rate as ``get_frames_played_in_range``)."""
        return self.get_frames_played_in_range(self._begin_stream_seconds, self._end_stream_seconds, fps=fps)


def _rebuild(source, kwargs):
    return VideoDecoder(source, **kwargs)


if _torch is not None:
    # torch.compile support: frames by index as a torch custom op (what torchcodec does), so a
    # compiled function calling get_frame_at / get_frames_at / decoder[i] traces into one
    # graph instead of breaking at the native decode.

    @_torch.library.custom_op("frameflow::frames_at", mutates_args=())
    def _frames_at_op(decoder_id: int, indices: List[int]) -> tuple[_torch.Tensor, _torch.Tensor, _torch.Tensor]:
        batch = _DECODERS[decoder_id].get_frames_at(list(indices))
        return batch.data.clone(), batch.pts_seconds.clone(), batch.duration_seconds.clone()

    @_frames_at_op.register_fake
    def _frames_at_fake(decoder_id, indices):
        decoder = _DECODERS[decoder_id]
        height, width = decoder._output_size()
        data = _torch.empty((len(indices), height, width, 3), dtype=_torch.uint8)
        if decoder._dimension_order == "NCHW":
            data = data.permute(0, 3, 1, 2)
        times = _torch.empty((len(indices),), dtype=_torch.float64)
        return data.clone(), times, times.clone()
