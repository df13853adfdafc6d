"""PyTorch datasets over frameflow.

- ``ClipDataset`` samples clips from videos in-process (map-style, deterministic per index
  and epoch), with the samplers of ``frameflow.samplers``.
- ``ClipIterableDataset`` streams the same items, each video read by exactly one worker of
  one rank (sharded by ``torch.utils.data.get_worker_info()`` and the process group).
- ``JobResultsDataset`` reads a finished server job's outputs (``manifest.jsonl``, RGB
  JPEGs, flow x/y JPEGs turned back into float with the recorded bound), from a folder
  (``Client.download`` or ``frameflow sample --out``) or through a ``frameflow.Client``.

They work with ``torch.utils.data.DataLoader`` (decoders are opened lazily in each worker and
reopened after a fork); without torch installed they are plain sequences / iterables.

``modality="flow"`` or ``"rgb+flow"`` computes optical flow in-process (the server's flow
code, on the same planned pairs a job with that modality uses); ``JobResultsDataset`` reads
a job's quantized flow JPEGs back instead.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np

from . import samplers as _samplers
from ._decoder import VideoDecoder

try:
    from torch.utils.data import Dataset as _Base
    from torch.utils.data import IterableDataset as _IterBase
except ImportError:  # pragma: no cover - depends on the environment
    _Base = object
    _IterBase = object

__all__ = ["ClipDataset", "ClipIterableDataset", "JobResultsDataset"]

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
    With ``modality="flow"`` or ``"rgb+flow"`` an item is the samplers' flow dict (``"flow"``
    float32 ``(num_clips, frames, 2, H, W)``, ``"rgb"`` too for ``"rgb+flow"``), computed
    with ``algorithm``. ``transform`` is applied to each item.

    Each worker keeps up to ``open_decoders`` decoders open, by path (a video listed many
    times, or read again next epoch, is not opened and scanned again).
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
        algorithm: str = "dis-medium",
        open_decoders: int = 8,
    ):
        if sampler not in _SAMPLERS:
            raise ValueError(f"sampler must be one of {sorted(_SAMPLERS)}, got {sampler!r}")
        if modality not in ("rgb", "flow", "rgb+flow"):
            raise ValueError(f"modality must be 'rgb', 'flow' or 'rgb+flow', got {modality!r}")
        if not isinstance(open_decoders, int) or open_decoders < 1:
            raise ValueError(f"open_decoders must be an int >= 1, got {open_decoders!r}")
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {seed!r}")
        self.videos = [os.fspath(v) for v in videos]
        self.sampler = sampler
        self.params = dict(params or {})
        self.seed = seed
        self.transform = transform
        self.decoder_options = dict(decoder_options or {})
        self.modality = modality
        self.algorithm = algorithm
        self.open_decoders = open_decoders
        self.epoch = 0
        self._decoders: "OrderedDict[str, VideoDecoder]" = OrderedDict()
        self._pid = os.getpid()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.videos)

    def _decoder(self, i: int) -> VideoDecoder:
        if os.getpid() != self._pid:  # a forked worker opens its own decoders
            self._decoders, self._pid = OrderedDict(), os.getpid()
        path = self.videos[i]
        decoder = self._decoders.get(path)
        if decoder is None:
            decoder = VideoDecoder(path, **self.decoder_options)
            self._decoders[path] = decoder
            while len(self._decoders) > self.open_decoders:
                self._decoders.popitem(last=False)
        self._decoders.move_to_end(path)
        return decoder

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
        if self.modality != "rgb":
            kwargs.update(modality=self.modality, algorithm=self.algorithm)
        clips = _SAMPLERS[self.sampler](self._decoder(i), **kwargs)
        return self.transform(clips) if self.transform else clips

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_decoders"] = OrderedDict()  # reopened where it lands (a spawned worker)
        return state


def _shard() -> tuple:
    """(this reader's number, readers in all): DataLoader workers times distributed ranks."""
    worker, workers = 0, 1
    rank, world = 0, 1
    try:
        from torch.utils.data import get_worker_info

        info = get_worker_info()
        if info is not None:
            worker, workers = info.id, info.num_workers
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            rank, world = dist.get_rank(), dist.get_world_size()
    except ImportError:  # pragma: no cover - without torch: one reader
        pass
    return rank * workers + worker, world * workers


class ClipIterableDataset(_IterBase):
    """``ClipDataset``'s items as a stream: each reader (DataLoader worker of each rank)
    takes every n-th video, so every video is read once per epoch in all, with the same
    clips ``ClipDataset`` gives for that index and epoch."""

    def __init__(self, videos: Sequence[Union[str, os.PathLike]], **options: Any):
        self.clips = ClipDataset(videos, **options)

    def set_epoch(self, epoch: int) -> None:
        self.clips.set_epoch(epoch)

    def __iter__(self) -> Iterator:
        me, readers = _shard()
        for i in range(me, len(self.clips), readers):
            yield self.clips[i]


def _decode_image(data: bytes) -> np.ndarray:
    """A JPEG or PNG as ``(H, W, 3)`` uint8, decoded by the media core."""
    frame = VideoDecoder(data, dimension_order="NHWC")[0]
    return np.asarray(frame)


class _LocalFolder:
    """A job's results in a local folder."""

    def __init__(self, root: Union[str, os.PathLike]):
        self.root = Path(root)

    def read(self, rel: str) -> Optional[bytes]:
        path = self.root / rel
        return path.read_bytes() if path.is_file() else None

    def __str__(self) -> str:
        return str(self.root)


class _S3Folder:
    """A job's results under an ``s3://bucket/prefix`` URL, read with boto3 (endpoint, keys
    and region from the usual AWS settings, e.g. ``AWS_ENDPOINT_URL``, or a client given).
    A client made here is made again in a forked or spawned worker (boto3 clients are not
    safe across ``fork``)."""

    def __init__(self, url: str, client: Any = None):
        import urllib.parse

        parsed = urllib.parse.urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"an S3 URL is s3://BUCKET/PREFIX, got {url!r}")
        self.url, self.bucket, self.prefix = url, parsed.netloc, parsed.path.strip("/")
        if client is None:
            try:
                import boto3  # noqa: F401
            except ImportError as e:
                raise ImportError("reading results from s3:// needs boto3: pip install 'frameflow[s3]'") from e
        self._given, self._client, self._pid = client, client, os.getpid()

    def _s3(self):
        if self._given is not None:
            return self._given
        if self._client is None or self._pid != os.getpid():
            import boto3

            self._client, self._pid = boto3.client("s3"), os.getpid()
        return self._client

    def read(self, rel: str) -> Optional[bytes]:
        key = f"{self.prefix}/{rel}" if self.prefix else rel
        s3 = self._s3()
        try:
            return s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_client"] = None  # made again where it lands
        return state

    def __str__(self) -> str:
        return self.url


class JobResultsDataset(_Base):
    """Item ``i`` is clip ``i`` of a finished job: a dict with ``"clip"``, ``"video"``,
    ``"indices"`` (frame indices), and ``"rgb"`` (uint8 ``(T, H, W, 3)``) and/or ``"flow"``
    (float32 ``(T, 2, H, W)``, from the x/y JPEGs and the bound the manifest records) as the
    job's modality made them.

    ``source`` is one of:

    - a folder holding ``manifest.jsonl`` and ``clips/`` (``Client.download``, ``frameflow
      sample --out``);
    - an ``s3://bucket/prefix`` URL: the job's folder in the server's store
      (``s3://bucket/prefix/tenants/TENANT/jobs/JOB``), or with ``job`` the store's URL itself
      (the server's ``store`` setting; ``tenant`` names whose store, ``default`` unless
      tenants are used); read with boto3 (``pip install 'frameflow[s3]'``), or ``s3_client``;
    - a ``frameflow.Client`` with ``job`` its id (outputs are fetched over HTTP as items are
      read).
    """

    def __init__(self, source: Any, job: Optional[str] = None, *, transform: Optional[Callable] = None,
                 tenant: str = "default", s3_client: Any = None):
        from .client import Client

        self.transform = transform
        self._client, self._folder = None, None
        if isinstance(source, Client):
            if not job:
                raise ValueError("give the job id to read its results through a Client")
            self._client = source
            entries = list(source.results(job))
        else:
            if isinstance(source, str) and source.startswith("s3://"):
                url = source.rstrip("/")
                if job:
                    for name, value in (("job", job), ("tenant", tenant)):
                        if not value or "/" in value or value in (".", ".."):
                            raise ValueError(f"{name} must be a plain name, got {value!r}")
                    url = f"{url}/tenants/{tenant}/jobs/{job}"
                self._folder = _S3Folder(url, s3_client)
            else:
                self._folder = _LocalFolder(source)
            manifest = self._folder.read("manifest.jsonl")
            if manifest is None:
                raise FileNotFoundError(f"no manifest.jsonl in {self._folder}")
            entries = [json.loads(line) for line in manifest.decode().splitlines() if line.strip()]
        clips: Dict[int, List[Dict[str, Any]]] = {}
        for entry in entries:
            clips.setdefault(int(entry["clip"]), []).append(entry)
        self._clips = [sorted(clips[c], key=lambda e: (int(e["k"]), e["kind"])) for c in sorted(clips)]

    def __len__(self) -> int:
        return len(self._clips)

    def _bytes(self, entry: Dict[str, Any]) -> bytes:
        if self._client is not None:
            return self._client.output(entry)
        rel = str(entry.get("path", ""))
        # Where the job stored it (jobs/JOB/clips/...), relative to the job's folder, then
        # as named, then by clip and file name.
        candidates = [rel.split("/", 2)[2] if rel.startswith("jobs/") and rel.count("/") >= 2 else None,
                      rel or None,
                      f"clips/{int(entry['clip']):05d}/{Path(rel or entry.get('url', '')).name}"]
        for candidate in candidates:
            if candidate is None or ".." in Path(candidate).parts:
                continue
            data = self._folder.read(candidate)
            if data is not None:
                return data
        raise FileNotFoundError(f"output {entry.get('id')} ({rel}) is not under {self._folder}")

    def __getitem__(self, i: int) -> Dict[str, Any]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"clip {i} is out of range: the job has {len(self)} clips")
        entries = self._clips[i % len(self)]
        rgb = [e for e in entries if e["kind"] == "rgb"]
        xs = [e for e in entries if e["kind"] == "flow_x"]
        ys = [e for e in entries if e["kind"] == "flow_y"]
        item: Dict[str, Any] = {"clip": int(entries[0]["clip"]), "video": entries[0].get("video")}
        item["indices"] = [int(e["index"]) for e in (rgb or xs)]
        if rgb:
            item["rgb"] = np.stack([_decode_image(self._bytes(e)) for e in rgb])
        if xs:
            planes = []
            for x, y in zip(xs, ys):
                bound = float(x["bound"])
                u = _decode_image(self._bytes(x))[..., 0].astype(np.float32)
                v = _decode_image(self._bytes(y))[..., 0].astype(np.float32)
                # The inverse of v = round(255 (f + b) / 2b).
                planes.append(np.stack([u, v]) * (2 * bound / 255.0) - bound)
            item["flow"] = np.stack(planes)
        return self.transform(item) if self.transform else item
