"""``AudioDecoder``: torchcodec's audio decoder API over frameflow's media core
(``frameflow._core.CoreAudio``).

Samples are float32, channels x samples, bit-identical to ``ffmpeg -i F -map 0:N -f f32le
[-ac C] [-ar R] -`` of the same span: sample ``i`` of a stream is played at
``first_pts + i / sample_rate`` (``first_pts``: the first decoded frame's time), and
``[start, stop)`` selects samples ``floor((t - first_pts) * rate + 0.5)`` for each end, as
torchcodec's ``AudioDecoder`` rounds. With ``sample_rate=``/``num_channels=`` the whole stream
is converted by libswresample from its start, so a window is the same span of the CLI's
converted output (torchcodec converts from the window's first frame: its samples differ from
the CLI's near the window's start). ``data`` is a ``torch.Tensor`` when torch is installed,
else a NumPy array. Differences from torchcodec that are deliberate are listed in the
package README.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np

from . import _core
from ._decoder import Source, StreamMetadata, _as_output, _FileBacked, _frame_repr, _header_fields, _source_path

# FFmpeg's default channel layouts (what `-ac N` picks) exist for 1..8 channels.
_MAX_CHANNELS = 8


@dataclass
class AudioSamples:
    """Samples of a range: torchcodec's ``AudioSamples``. ``data`` is (channels, samples)
    float32 in [-1, 1]; ``pts_seconds`` is when the first sample is played."""

    data: Any
    pts_seconds: float
    duration_seconds: float
    sample_rate: int

    def __post_init__(self):
        if not len(self.data.shape) == 2:
            raise ValueError(f"data must be 2-dimensional, got {tuple(self.data.shape) = }")
        self.pts_seconds = float(self.pts_seconds)
        self.sample_rate = int(self.sample_rate)

    def __iter__(self) -> Iterator[Any]:
        for f in dataclasses.fields(self):
            yield getattr(self, f.name)

    __repr__ = _frame_repr


@dataclass
class AudioStreamMetadata(StreamMetadata):
    """torchcodec 0.17's ``AudioStreamMetadata``: the header's facts and the source's sample
    rate, channels and sample format (those of the stream, not of a conversion asked for)."""

    sample_rate: Optional[int]
    num_channels: Optional[int]
    sample_format: Optional[str]
    duration_seconds: Optional[float]
    begin_stream_seconds: Optional[float]


def _seconds(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    return float(value)


def _positive_int(value, name: str, limit: int) -> Optional[int]:
    """``sample_rate``/``num_channels`` checked as torchcodec fails on them (a RuntimeError),
    but when the decoder is made rather than at the first decode."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise RuntimeError(f"{name} must be an int, got {type(value).__name__}")
    if not 0 < value <= limit:
        raise RuntimeError(f"{name} must be > 0 and <= {limit}. Got: {value}")
    return int(value)


class AudioDecoder(_FileBacked):
    """An audio stream's samples: torchcodec's ``AudioDecoder`` (CPU), on the media core.

    ``source`` is a path (``str`` or ``pathlib.Path``), ``bytes``, a uint8 tensor of the
    file's bytes, or a binary file-like object with ``read(size)`` (and ``seek(offset,
    whence)``), of an audio file (WAV, MP3, FLAC, ...) or a video with audio.
    ``stream_index`` is absolute (FFmpeg's best audio stream when ``None``); ``sample_rate``
    and ``num_channels`` (1..8, FFmpeg's default layout for the count, as ``-ac``) convert
    with libswresample. One decode at a time per decoder; reading forward continues the open
    decoder, reading back restarts it from the stream's start.
    """

    def __init__(
        self,
        source: Source,
        *,
        stream_index: Optional[int] = None,
        sample_rate: Optional[int] = None,
        num_channels: Optional[int] = None,
    ):
        if stream_index is not None and (isinstance(stream_index, bool) or not isinstance(stream_index, numbers.Integral)):
            raise TypeError(f"stream_index must be an int, got {type(stream_index).__name__}")
        sample_rate = _positive_int(sample_rate, "sample_rate", 768_000)
        num_channels = _positive_int(num_channels, "num_channels", _MAX_CHANNELS)
        if stream_index is not None and not 0 <= stream_index < 2**31:
            raise ValueError(f"The stream at index {stream_index} is not an audio stream.")
        self._options = (None if stream_index is None else int(stream_index), sample_rate, num_channels)
        self._source = source
        self._path, self._temp = _source_path(source)
        self._pid = os.getpid()
        self._open()
        info = self._info
        self.stream_index = info["stream_index"]
        self._desired_sample_rate = info["output_sample_rate"]
        self.metadata = self._read_metadata()

    def _open(self) -> None:
        stream_index, sample_rate, num_channels = self._options
        self._pid = os.getpid()
        self._core = _core.CoreAudio(self._path, stream_index, sample_rate, num_channels)
        self._info = json.loads(self._core.info_json())

    def _read_metadata(self) -> AudioStreamMetadata:
        info = self._info
        duration, begin = info["duration_seconds_from_header"], info["start_seconds_from_header"]
        header = dict(duration_seconds=duration, start_seconds=begin, bit_rate=info["bit_rate"])
        return AudioStreamMetadata(
            **_header_fields(header, info, "audio"),
            sample_rate=info["sample_rate"],
            num_channels=info["num_channels"],
            sample_format=info["sample_format"],
            # As torchcodec (no scan for audio): the header's, else the container's.
            duration_seconds=duration if duration is not None else info["container_duration_seconds"],
            begin_stream_seconds=begin if begin is not None else 0.0,
        )

    def __reduce__(self):
        stream_index, sample_rate, num_channels = self._options
        return (_rebuild, (self._picklable_source(), dict(stream_index=stream_index, sample_rate=sample_rate, num_channels=num_channels)))

    def get_all_samples(self) -> AudioSamples:
        """Every sample of the stream."""
        return self.get_samples_played_in_range()

    def get_samples_played_in_range(self, start_seconds: float = 0.0, stop_seconds: Optional[float] = None) -> AudioSamples:
        """The samples played in the half-open range ``[start_seconds, stop_seconds)``
        (``None``: to the end; ``-inf`` and a start before the stream are its first sample).

        Raises ``ValueError`` when ``start_seconds > stop_seconds`` or either is NaN, and
        ``RuntimeError`` ("No audio frames were decoded") when no frame is played in the range
        (it starts at or after the stream's end, or ends at or before its first sample).
        """
        start = _seconds(start_seconds, "start_seconds")
        stop = None if stop_seconds is None else _seconds(stop_seconds, "stop_seconds")
        if math.isnan(start) or (stop is not None and (math.isnan(stop) or not start <= stop)):
            raise ValueError(f"Invalid start seconds: {start_seconds}. It must be less than or equal to stop seconds ({stop_seconds}).")
        if start == math.inf:
            raise RuntimeError(f"No audio frames were decoded: start_seconds is {start_seconds}, after the end of any stream.")
        rate = self._desired_sample_rate
        channels = self._info["output_num_channels"]
        if stop is not None and start == stop:
            # An empty range, as torchcodec gives it (its time is the start, or 0 before 0).
            data = np.empty((channels, 0), dtype=np.float32)
            return AudioSamples(_as_output(data), start if start > 0 else 0.0, 0.0, rate)
        flat, pts_seconds, _first = self._core_here().samples(start, stop)
        data = flat.reshape(channels, -1)
        return AudioSamples(data=_as_output(data), pts_seconds=pts_seconds, duration_seconds=data.shape[1] / rate, sample_rate=rate)


def _rebuild(source, kwargs):
    return AudioDecoder(source, **kwargs)
