"""torchcodec's clip samplers (``torchcodec.samplers``), computed by frameflow's sampling code
— the same code the built-in sampler components of a frameflow server run — so one ``seed``
gives the same clips here, in ``frameflow sample`` and in a server job.

Each returns a ``FrameBatch`` whose ``data`` is ``(num_clips, num_frames_per_clip, C, H, W)``
(or ``..., H, W, C`` with ``dimension_order="NHWC"``) and whose ``pts_seconds`` and
``duration_seconds`` are ``(num_clips, num_frames_per_clip)``.

frameflow adds ``seed=`` and ``modality=``: with ``"flow"`` or ``"rgb+flow"`` (what a server
job's ``modality`` makes) the result is a dict holding ``"flow"``, float32 ``(num_clips,
num_frames_per_clip, 2, H, W)`` (flow k from frame k to the frame one step later, computed
in-process with ``algorithm=``), the frames' ``"indices"``, ``"flow_to"`` and
``"pts_seconds"``, and for ``"rgb+flow"`` the frames as ``"rgb"``.
"""

from __future__ import annotations

import json
import random
from typing import Optional

import numpy as np

from . import _core
from ._decoder import FrameBatch, VideoDecoder, _as_output

__all__ = ["clips_at_random_indices", "clips_at_regular_indices", "clips_at_random_timestamps", "clips_at_regular_timestamps"]

_POLICIES = {"repeat_last_frame": "repeat_last", "wrap": "wrap", "error": "error"}


def _policy(policy: str) -> str:
    if policy not in _POLICIES:
        raise ValueError(f"policy must be one of {sorted(_POLICIES)}, got {policy!r}")
    return _POLICIES[policy]


def _seed(seed: Optional[int]) -> int:
    if seed is None:
        return random.getrandbits(64)
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    return seed & (2**64 - 1)


def _plan(decoder: VideoDecoder, strategy: str, params: dict, seed: int):
    """The strategy's clips as frame indices: ``[(frames, flow_to)]`` (``flow_to`` empty
    unless ``params`` carry a ``modality`` with flow)."""
    if not isinstance(decoder, VideoDecoder):
        raise ValueError("decoder must be a frameflow.VideoDecoder")
    m = decoder.metadata
    params = {k: v for k, v in params.items() if v is not None}
    planned = _core.plan_clips(strategy, m.num_frames, m.average_fps, m.begin_stream_seconds, m.duration_seconds, json.dumps(params), seed)
    if not planned:
        raise ValueError("the sampler planned no clips")

    def index(kind, value):
        return int(value) if kind == "index" else decoder._played_at(value)

    return [([index(*f) for f in frames], [index(*f) for f in flow_to]) for frames, flow_to in planned]


def _clips(decoder: VideoDecoder, strategy: str, params: dict, seed: int) -> FrameBatch:
    planned = _plan(decoder, strategy, params, seed)
    per_clip = len(planned[0][0])
    indices = [i for frames, _ in planned for i in frames]
    flat = decoder._batch(indices)
    shape = (len(planned), per_clip)
    data = flat.data.reshape(shape + tuple(flat.data.shape[1:]))
    pts = flat.pts_seconds.reshape(shape)
    durations = flat.duration_seconds.reshape(shape)
    return FrameBatch(data, pts, durations)


def _sample(decoder: VideoDecoder, strategy: str, params: dict, seed: int, modality: str, algorithm: str):
    if modality == "rgb":
        return _clips(decoder, strategy, params, seed)
    return _clips_with_flow(decoder, strategy, params, seed, modality, algorithm)


def _clips_with_flow(decoder: VideoDecoder, strategy: str, params: dict, seed: int, modality: str, algorithm: str) -> dict:
    """A strategy's clips with optical flow, as a server job with ``modality`` makes them:
    flow k of a clip goes from its frame k to the frame one step later (the plan's
    ``flow_to``). Returns a dict: ``"flow"`` float32 ``(num_clips, frames, 2, H, W)``,
    ``"indices"`` and ``"flow_to"`` ``(num_clips, frames)``, ``"pts_seconds"``, and with
    ``modality="rgb+flow"`` ``"rgb"`` as the samplers return it."""
    if modality not in ("flow", "rgb+flow"):
        raise ValueError(f"modality must be 'flow' or 'rgb+flow', got {modality!r}")
    planned = _plan(decoder, strategy, dict(params, modality=modality), seed)
    per_clip = len(planned[0][0])
    shape = (len(planned), per_clip)
    indices = [i for frames, _ in planned for i in frames]
    targets = [j for _, flow_to in planned for j in flow_to]
    flows = decoder._flows(list(zip(indices, targets)), algorithm)
    out = {"flow": _as_output(flows.reshape(shape + flows.shape[1:])),
           "indices": np.array(indices).reshape(shape), "flow_to": np.array(targets).reshape(shape),
           "pts_seconds": np.asarray(decoder._pts_seconds[indices]).reshape(shape)}
    if modality == "rgb+flow":
        frames = decoder._batch(indices)
        out["rgb"] = frames.data.reshape(shape + tuple(frames.data.shape[1:]))
    return out


def _index_params(num_clips, num_frames_per_clip, num_indices_between_frames, sampling_range_start, sampling_range_end, policy) -> dict:
    return dict(num_clips=num_clips, frames_per_clip=num_frames_per_clip, frame_step=num_indices_between_frames,
                sampling_range_start=sampling_range_start, sampling_range_end=sampling_range_end, policy=_policy(policy))


def clips_at_random_indices(
    decoder: VideoDecoder,
    *,
    num_clips: int = 1,
    num_frames_per_clip: int = 1,
    num_indices_between_frames: int = 1,
    sampling_range_start: int = 0,
    sampling_range_end: Optional[int] = None,
    policy: str = "repeat_last_frame",
    seed: Optional[int] = None,
    modality: str = "rgb",
    algorithm: str = "dis-medium",
):
    params = _index_params(num_clips, num_frames_per_clip, num_indices_between_frames, sampling_range_start, sampling_range_end, policy)
    return _sample(decoder, "random-clip", params, _seed(seed), modality, algorithm)


def clips_at_regular_indices(
    decoder: VideoDecoder,
    *,
    num_clips: int = 1,
    num_frames_per_clip: int = 1,
    num_indices_between_frames: int = 1,
    sampling_range_start: int = 0,
    sampling_range_end: Optional[int] = None,
    policy: str = "repeat_last_frame",
    modality: str = "rgb",
    algorithm: str = "dis-medium",
):
    params = _index_params(num_clips, num_frames_per_clip, num_indices_between_frames, sampling_range_start, sampling_range_end, policy)
    return _sample(decoder, "regular-clip", params, 0, modality, algorithm)


def clips_at_random_timestamps(
    decoder: VideoDecoder,
    *,
    num_clips: int = 1,
    num_frames_per_clip: int = 1,
    seconds_between_frames: Optional[float] = None,
    sampling_range_start: Optional[float] = None,
    sampling_range_end: Optional[float] = None,
    policy: str = "repeat_last_frame",
    seed: Optional[int] = None,
    modality: str = "rgb",
    algorithm: str = "dis-medium",
):
    between = seconds_between_frames if seconds_between_frames is not None else 1.0 / decoder.metadata.average_fps
    params = dict(num_clips=num_clips, frames_per_clip=num_frames_per_clip, seconds_between_frames=between,
                  sampling_range_start=sampling_range_start, sampling_range_end=sampling_range_end, policy=_policy(policy))
    return _sample(decoder, "random-clip", params, _seed(seed), modality, algorithm)


def clips_at_regular_timestamps(
    decoder: VideoDecoder,
    *,
    seconds_between_clip_starts: float,
    num_frames_per_clip: int = 1,
    seconds_between_frames: Optional[float] = None,
    sampling_range_start: Optional[float] = None,
    sampling_range_end: Optional[float] = None,
    policy: str = "repeat_last_frame",
    modality: str = "rgb",
    algorithm: str = "dis-medium",
):
    between = seconds_between_frames if seconds_between_frames is not None else 1.0 / decoder.metadata.average_fps
    params = dict(seconds_between_clip_starts=seconds_between_clip_starts, frames_per_clip=num_frames_per_clip,
                  seconds_between_frames=between, sampling_range_start=sampling_range_start,
                  sampling_range_end=sampling_range_end, policy=_policy(policy))
    return _sample(decoder, "regular-clip", params, 0, modality, algorithm)
