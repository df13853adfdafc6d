"""torchcodec's clip samplers (``torchcodec.samplers``), with torchcodec 0.17's arguments,
defaults, checks and errors.

The index-based samplers plan their clips with frameflow's sampling code — the same code the
built-in sampler components of a frameflow server run — so one ``seed`` gives the same clips
here, in ``frameflow sample`` and in a server job. The time-based samplers follow torchcodec's
time rules (a clip's times stop before the end of the stream, then the ``policy``), drawing
their random starts from the same seeded generator.

Each returns a ``FrameBatch`` whose ``data`` is ``(num_clips, num_frames_per_clip, C, H, W)``
(or ``..., H, W, C`` with ``dimension_order="NHWC"``) and whose ``pts_seconds`` and
``duration_seconds`` are ``(num_clips, num_frames_per_clip)``.

Without ``seed=`` the random samplers draw their seed from torch's generator when torch is
installed (so ``torch.manual_seed`` replays them, as it replays torchcodec's), else from the
operating system; Python's ``random`` module is never touched.

frameflow adds ``seed=`` and ``modality=``: with ``"flow"`` or ``"rgb+flow"`` (what a server
job's ``modality`` makes) the result is a dict holding ``"flow"``, float32 ``(num_clips,
num_frames_per_clip, 2, H, W)`` (flow k from frame k to the frame one step later, computed
in-process with ``algorithm=``), the frames' ``"indices"``, ``"flow_to"`` and
``"pts_seconds"``, and for ``"rgb+flow"`` the frames as ``"rgb"``.
"""

from __future__ import annotations

import json
import math
import os
from typing import List, Optional, Tuple

import numpy as np

from . import _core
from ._decoder import FrameBatch, VideoDecoder, _as_output, _torch

__all__ = ["clips_at_random_indices", "clips_at_regular_indices", "clips_at_random_timestamps", "clips_at_regular_timestamps"]

# torchcodec's policy names; "repeat_last_frame" is the name frameflow used before.
_POLICIES = {"repeat_last": "repeat_last", "wrap": "wrap", "error": "error", "repeat_last_frame": "repeat_last"}
_BEYOND = ("You set the 'error' policy, and the sampler tried to decode a frame that is beyond the number of frames "
           "in the video. Try to leave sampling_range_end to its default value?")


def _validate_common(decoder, num_frames_per_clip, policy) -> str:
    if not isinstance(decoder, VideoDecoder):
        raise TypeError(f"decoder must be a frameflow.VideoDecoder, got {type(decoder).__name__}")
    if len(decoder) < 1:
        raise ValueError(f"Decoder must have at least one frame, found {len(decoder)} frames.")
    if num_frames_per_clip <= 0:
        raise ValueError(f"num_frames_per_clip ({num_frames_per_clip}) must be strictly positive")
    if policy not in _POLICIES:
        raise ValueError(f"Invalid policy ({policy}). Supported values are {['repeat_last', 'wrap', 'error']}.")
    return _POLICIES[policy]


def _seed(seed: Optional[int]) -> int:
    if seed is None:
        if _torch is not None:
            return int(_torch.randint(0, 2**63 - 1, (1,), dtype=_torch.int64).item())
        return int.from_bytes(os.urandom(8), "little")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    return int(seed) & (2**64 - 1)


class _SplitMix64:
    """The sampling crate's generator (``rng.rs``), for the time-based samplers' starts."""

    def __init__(self, seed: int):
        self.state = seed & (2**64 - 1)

    def next_u64(self) -> int:
        mask = 2**64 - 1
        self.state = (self.state + 0x9E3779B97F4A7C15) & mask
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    def unit(self) -> float:
        return (self.next_u64() >> 11) / float(1 << 53)


def _apply_policy(values: list, desired: int, policy: str) -> list:
    """torchcodec's policies for a clip that runs past the end of the video."""
    if len(values) >= desired:
        return values
    if policy == "error" or not values:
        raise ValueError(_BEYOND)
    if policy == "repeat_last":
        return values + [values[-1]] * (desired - len(values))
    return (values * (desired // len(values) + 1))[:desired]


def _reshape(flat: FrameBatch, num_clips: int, per_clip: int) -> FrameBatch:
    shape = (num_clips, per_clip)
    data = flat.data.reshape(shape + tuple(flat.data.shape[1:]))
    return FrameBatch(data, flat.pts_seconds.reshape(shape), flat.duration_seconds.reshape(shape))


# --- index-based ----------------------------------------------------------------------------


def _index_range(num_frames_per_clip, step, start, end, count, flow: bool) -> Tuple[int, Optional[int]]:
    """torchcodec's sampling range: negative values from the end, the end capped at the video's
    length, by default the last start whose clip fits."""
    if start < 0:
        start = count + start
    if start >= count:
        raise ValueError(f"sampling_range_start ({start}) must be smaller than the number of frames ({count}).")
    span = step * (num_frames_per_clip - 1 + int(flow)) + 1
    if end is None:
        end = max(count - span + 1, 1)
        if start >= end:
            raise ValueError(f"We determined that sampling_range_end should be {end}, but it is smaller than or equal to "
                             f"sampling_range_start ({start}).")
    else:
        if end < 0:
            end = count + end
        end = min(end, count)
        if start >= end:
            raise ValueError(f"sampling_range_start ({start}) must be smaller than sampling_range_end ({end}).")
    return start, end


def _index_plan(decoder, strategy, num_clips, num_frames_per_clip, num_indices_between_frames, sampling_range_start,
                sampling_range_end, policy, seed, modality) -> List[tuple]:
    """The clips as frame indices, ``[(frames, flow_to)]``, planned by the sampling crate."""
    policy = _validate_common(decoder, num_frames_per_clip, policy)
    for name, v in (("num_clips", num_clips), ("num_frames_per_clip", num_frames_per_clip),
                    ("num_indices_between_frames", num_indices_between_frames), ("sampling_range_start", sampling_range_start)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    if num_clips <= 0:
        raise ValueError(f"num_clips ({num_clips}) must be > 0")
    if num_indices_between_frames <= 0:
        raise ValueError(f"num_indices_between_frames ({num_indices_between_frames}) must be strictly positive")
    flow = modality != "rgb"
    start, end = _index_range(int(num_frames_per_clip), int(num_indices_between_frames), int(sampling_range_start),
                              None if sampling_range_end is None else int(sampling_range_end), len(decoder), flow)
    # The decoder's scan, not `metadata` (whose header facts cost another open).
    fps = decoder._average_fps if decoder._average_fps is not None else decoder.metadata.average_fps
    begin, end_stream = decoder._begin_stream_seconds, decoder._end_stream_seconds
    params = dict(num_clips=int(num_clips), frames_per_clip=int(num_frames_per_clip), frame_step=int(num_indices_between_frames),
                  sampling_range_start=start, sampling_range_end=end, policy=policy)
    if flow:
        params["modality"] = modality
    try:
        planned = _core.plan_clips(strategy, len(decoder), fps, begin, end_stream - begin, json.dumps(params), seed)
    except ValueError as e:
        if str(e).startswith("'policy'"):
            raise ValueError(_BEYOND) from e
        raise
    return [([int(v) for _, v in frames], [int(v) for _, v in flow_to]) for frames, flow_to in planned]


# --- time-based -----------------------------------------------------------------------------


def _time_plan(decoder, kind, num_clips, seconds_between_clip_starts, num_frames_per_clip, seconds_between_frames,
               sampling_range_start, sampling_range_end, policy, seed, modality) -> List[tuple]:
    """The clips as times (torchcodec's rules), ``[(frames, flow_to)]`` of frame indices."""
    policy = _validate_common(decoder, num_frames_per_clip, policy)
    if seconds_between_clip_starts is not None and seconds_between_clip_starts <= 0:
        raise ValueError(f"seconds_between_clip_starts ({seconds_between_clip_starts}) must be > 0")
    if num_clips is not None and num_clips <= 0:
        raise ValueError(f"num_clips ({num_clips}) must be > 0")
    m = decoder.metadata
    if m.average_fps is None:
        raise ValueError("Could not infer average fps from video metadata. Try using an index-based sampler instead.")
    if m.end_stream_seconds is None:
        raise ValueError("Could not infer stream end from video metadata. Try using an index-based sampler instead.")
    if seconds_between_frames is None:
        seconds_between_frames = 1 / m.average_fps
    elif seconds_between_frames <= 0:
        raise ValueError(f"seconds_between_frames ({seconds_between_frames}) must be > 0")
    if seconds_between_clip_starts is not None and not math.isfinite(seconds_between_clip_starts):
        raise RuntimeError(f"step must be finite but got {seconds_between_clip_starts}")  # torch.arange's error
    for name, v in (("seconds_between_frames", seconds_between_frames),
                    ("sampling_range_start", sampling_range_start), ("sampling_range_end", sampling_range_end)):
        if v is not None and not math.isfinite(v):
            raise ValueError(f"{name} ({v}) must be a finite number")
    begin, end_stream = m.begin_stream_seconds, m.end_stream_seconds
    start, end = sampling_range_start, sampling_range_end
    if start is None:
        start = begin
    else:
        if start < begin:
            raise ValueError(f"sampling_range_start ({start}) must be at least {begin}")
        if start >= end_stream:
            raise ValueError(f"sampling_range_start ({start}) must be smaller than {end_stream}")
    if end is None:
        end = end_stream - (num_frames_per_clip - 1) * seconds_between_frames
    elif end <= begin:
        raise ValueError(f"sampling_range_end ({end}) must be at least {begin}")
    if start >= end:
        raise ValueError(f"sampling_range_start ({start}) must be smaller than sampling_range_end ({end})")
    end = min(end, end_stream)

    if kind == "random":
        rng = _SplitMix64(seed)
        starts = [start + rng.unit() * (end - start) for _ in range(int(num_clips))]
    else:
        # torch.arange(start, end, step) in float64: ceil((end - start) / step) values.
        count = int(math.ceil((end - start) / seconds_between_clip_starts))
        starts = [v for v in (start + i * seconds_between_clip_starts for i in range(count)) if v < end]
    flow = modality != "rgb"
    positions = num_frames_per_clip + int(flow)
    plan = []
    for s in starts:
        times = [t for t in (s + i * seconds_between_frames for i in range(positions)) if t < end_stream]
        times = _apply_policy(times, positions, policy)
        indices = [decoder._played_at(t) for t in times]
        plan.append((indices[:num_frames_per_clip], indices[1:] if flow else []))
    return plan


# --- results ----------------------------------------------------------------------------------


def _result(decoder: VideoDecoder, planned: List[tuple], modality: str, algorithm: str):
    if modality not in ("rgb", "flow", "rgb+flow"):
        raise ValueError(f"modality must be 'rgb', 'flow' or 'rgb+flow', got {modality!r}")
    per_clip = len(planned[0][0])
    shape = (len(planned), per_clip)
    indices = [i for frames, _ in planned for i in frames]
    if modality == "rgb":
        return _reshape(decoder._batch(indices), *shape)
    # A strategy's clips with optical flow, as a server job with `modality` makes them: flow k
    # of a clip goes from its frame k to the frame one step later (the plan's `flow_to`).
    targets = [j for _, flow_to in planned for j in flow_to]
    flows = decoder._flows(list(zip(indices, targets)), algorithm)
    out = {"flow": _as_output(flows.reshape(shape + flows.shape[1:])),
           "indices": np.array(indices).reshape(shape), "flow_to": np.array(targets).reshape(shape),
           "pts_seconds": np.asarray(decoder._pts_seconds[indices]).reshape(shape)}
    if modality == "rgb+flow":
        frames = decoder._batch(indices)
        out["rgb"] = frames.data.reshape(shape + tuple(frames.data.shape[1:]))
    return out


def _check_modality(modality: str) -> None:
    if modality not in ("rgb", "flow", "rgb+flow"):
        raise ValueError(f"modality must be 'rgb', 'flow' or 'rgb+flow', got {modality!r}")


def clips_at_random_indices(
    decoder: VideoDecoder,
    *,
    num_clips: int = 1,
    num_frames_per_clip: int = 1,
    num_indices_between_frames: int = 1,
    sampling_range_start: int = 0,
    sampling_range_end: Optional[int] = None,
    policy: str = "repeat_last",
    seed: Optional[int] = None,
    modality: str = "rgb",
    algorithm: str = "dis-medium",
):
    """Clips starting at random indices in ``[sampling_range_start, sampling_range_end)``
    (negative values count from the end; the default end is the last start whose clip fits)."""
    _check_modality(modality)
    planned = _index_plan(decoder, "random-clip", num_clips, num_frames_per_clip, num_indices_between_frames,
                          sampling_range_start, sampling_range_end, policy, _seed(seed), modality)
    return _result(decoder, planned, modality, algorithm)


def clips_at_regular_indices(
    decoder: VideoDecoder,
    *,
    num_clips: int = 1,
    num_frames_per_clip: int = 1,
    num_indices_between_frames: int = 1,
    sampling_range_start: int = 0,
    sampling_range_end: Optional[int] = None,
    policy: str = "repeat_last",
    modality: str = "rgb",
    algorithm: str = "dis-medium",
):
    """Clips starting at ``num_clips`` equally spaced indices of the sampling range."""
    _check_modality(modality)
    planned = _index_plan(decoder, "regular-clip", num_clips, num_frames_per_clip, num_indices_between_frames,
                          sampling_range_start, sampling_range_end, policy, 0, modality)
    return _result(decoder, planned, modality, algorithm)


def clips_at_random_timestamps(
    decoder: VideoDecoder,
    *,
    num_clips: int = 1,
    num_frames_per_clip: int = 1,
    seconds_between_frames: Optional[float] = None,
    sampling_range_start: Optional[float] = None,
    sampling_range_end: Optional[float] = None,
    policy: str = "repeat_last",
    seed: Optional[int] = None,
    modality: str = "rgb",
    algorithm: str = "dis-medium",
):
    """Clips starting at random times in ``[sampling_range_start, sampling_range_end)``."""
    _check_modality(modality)
    planned = _time_plan(decoder, "random", num_clips, None, num_frames_per_clip, seconds_between_frames,
                         sampling_range_start, sampling_range_end, policy, _seed(seed), modality)
    return _result(decoder, planned, modality, algorithm)


def clips_at_regular_timestamps(
    decoder: VideoDecoder,
    *,
    seconds_between_clip_starts: float,
    num_frames_per_clip: int = 1,
    seconds_between_frames: Optional[float] = None,
    sampling_range_start: Optional[float] = None,
    sampling_range_end: Optional[float] = None,
    policy: str = "repeat_last",
    modality: str = "rgb",
    algorithm: str = "dis-medium",
):
    """Clips starting every ``seconds_between_clip_starts`` in the sampling range."""
    _check_modality(modality)
    planned = _time_plan(decoder, "regular", None, seconds_between_clip_starts, num_frames_per_clip, seconds_between_frames,
                         sampling_range_start, sampling_range_end, policy, 0, modality)
    return _result(decoder, planned, modality, algorithm)
