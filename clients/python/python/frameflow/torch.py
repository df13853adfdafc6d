"""PyTorch datasets over frameflow: ``ClipDataset`` samples clips from videos in-process
(map-style, deterministic per index and epoch), with the samplers of ``frameflow.samplers``.

Works with ``torch.utils.data.DataLoader`` (the decoders are opened lazily in each worker and
reopened after a fork); without torch installed it is a plain sequence of clips.

Not built yet: the ``flow`` and ``rgb+flow`` modalities, the ``IterableDataset`` variant
sharding videos across workers and ranks, and ``JobResultsDataset``.
"""

from __future__ import annotations

import os
from typing import Callable, Dict, Optional, Sequence, Union

from . import samplers as _samplers
from ._decoder import VideoDecoder

try:
    from torch.utils.data import Dataset as _Base
except ImportError:  # pragma: no cover - depends on the environment
    _Base = object

__all__ = ["ClipDataset"]

_SAMPLERS = {
    "random-clip": _samplers.clips_at_random_indices,
    "regular-clip": _samplers.clips_at_regular_indices,
}

# 64-bit mixing constants (SplitMix64), so item seeds differ in every bit.
_GOLDEN = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1


class ClipDataset(_Base):
    """Item ``i`` is the clips of video ``i`` (``FrameBatch``: data ``(num_clips, frames, C,
    H, W)``) sampled with ``sampler`` (``"random-clip"`` or ``"regular-clip"``) and ``params``
    (``frameflow.samplers`` keyword arguments), seeded by ``(seed, i, epoch)``: the same item
    in the same epoch is the same clips, in any worker; ``set_epoch(e)`` draws new ones.
    ``transform`` is applied to each item's ``FrameBatch``.
    """

    def __init__(
        self,
        videos: Sequence[Union[str, os.PathLike]],
        *,
        sampler: str = "random-clip",
        params: Optional[Dict] = None,
        modality: str = "rgb",
        seed: int = 0,
        transform: Optional[Callable] = None,
        decoder_options: Optional[Dict] = None,
    ):
        if sampler not in _SAMPLERS:
            raise ValueError(f"sampler must be one of {sorted(_SAMPLERS)}, got {sampler!r}")
        if modality != "rgb":
            raise ValueError(f"modality {modality!r} is not built yet in Python; 'rgb' is")
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {seed!r}")
        self.videos = [os.fspath(v) for v in videos]
        self.sampler = sampler
        self.params = dict(params or {})
        self.seed = seed
        self.transform = transform
        self.decoder_options = dict(decoder_options or {})
        self.epoch = 0
        self._decoders: Dict[int, VideoDecoder] = {}
        self._pid = os.getpid()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.videos)

    def _decoder(self, i: int) -> VideoDecoder:
        if os.getpid() != self._pid:  # a forked worker opens its own decoders
            self._decoders, self._pid = {}, os.getpid()
        if i not in self._decoders:
            self._decoders[i] = VideoDecoder(self.videos[i], **self.decoder_options)
        return self._decoders[i]

    def item_seed(self, i: int) -> int:
        """The seed item ``i`` is sampled with in the current epoch."""
        return (self.seed + (i + 1) * _GOLDEN + self.epoch * (_GOLDEN ^ 0xBF58476D1CE4E5B9)) & _MASK

    def __getitem__(self, i: int):
        if not -len(self) <= i < len(self):
            raise IndexError(f"item {i} is out of range: the dataset has {len(self)} videos")
        i %= len(self)
        kwargs = dict(self.params)
        if self.sampler == "random-clip":
            kwargs["seed"] = self.item_seed(i)
        clips = _SAMPLERS[self.sampler](self._decoder(i), **kwargs)
        return self.transform(clips) if self.transform else clips

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_decoders"] = {}  # reopened where it lands (a spawned worker)
        return state
