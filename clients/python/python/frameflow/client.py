"""``frameflow.Client``: frameflow's HTTP API from Python, on the standard library.

Videos (upload, register a stored object, list, delete), frames by index, pts or time as
NumPy arrays (``rgb24`` from the server, no image decoding), optical flow as float32
``(2, H, W)`` (Middlebury ``.flo`` from the server, exact), and jobs (create, watch with an
optional ``tqdm`` bar, stop, iterate results, download outputs), detections and seed 002's
analytics (representative faces and frames, co-occurrence), and analysis tasks (seed 004:
create, wait, reports). Every error status raises a
``FrameflowError`` subclass carrying the server's JSON error (``status``, ``code``,
``message``).
"""

from __future__ import annotations

import io
import json
import os
import time as _time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = [
    "Client",
    "FrameflowError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "TooLarge",
    "Unprocessable",
    "TooManyRequests",
    "ServerError",
    "Unavailable",
]


class FrameflowError(Exception):
    """An error answer from the server: ``status`` (HTTP), ``code`` and ``message`` (its
    RFC 9457 problem: ``code`` and ``detail``), ``param`` (the query parameter at fault, when
    the server names one), ``body`` (the raw bytes)."""

    def __init__(self, status: int, code: str, message: str, body: bytes = b"", param: Optional[str] = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.body, self.param = status, code, message, body, param


class BadRequest(FrameflowError):
    """400: a parameter the server names is wrong."""


class Unauthorized(FrameflowError):
    """401: no key, or a key the server does not know."""


class Forbidden(FrameflowError):
    """403: the key lacks the scope."""


class NotFound(FrameflowError):
    """404: no such video, job, frame or route."""


class Conflict(FrameflowError):
    """409: the state does not allow it (e.g. stopping a finished job)."""


class TooLarge(FrameflowError):
    """413: over a server limit."""


class Unprocessable(FrameflowError):
    """415/416/422: not a video, or not possible for this video."""


class TooManyRequests(FrameflowError):
    """429: over the tenant's rate or the host's encode slots; try again."""


class ServerError(FrameflowError):
    """500 and other 5xx."""


class Unavailable(ServerError):
    """503: busy, or the store is down; worth a retry."""


_BY_STATUS = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 413: TooLarge,
              415: Unprocessable, 416: Unprocessable, 422: Unprocessable, 429: TooManyRequests, 503: Unavailable}


def _error(status: int, body: bytes) -> FrameflowError:
    code, message, param = "error", body[:500].decode("utf-8", "replace"), None
    try:
        doc = json.loads(body)
        if "detail" in doc:  # RFC 9457 problem details
            code, message, param = str(doc.get("code", code)), str(doc["detail"]), doc.get("param")
        elif isinstance(doc.get("error"), dict):
            code, message = str(doc["error"].get("code", code)), str(doc["error"].get("message", message))
        elif isinstance(doc.get("message"), str):  # seed 000's routes
            message = doc["message"]
    except (ValueError, AttributeError, TypeError):
        pass
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else FrameflowError)
    return cls(status, code, message, body, param)


def _read_into(response: Any) -> bytearray:
    """A response body read straight into one writable buffer (sized by its length)."""
    length = response.headers.get("content-length")
    if length is None:
        return bytearray(response.read())
    body = bytearray(int(length))
    # One call: the buffered reader fills the buffer unless the connection ends first.
    got = response.readinto(body)
    if got != len(body):
        raise ConnectionError(f"the response body ended after {got} of {len(body)} bytes")
    return body


def _npy_array(body: bytearray) -> np.ndarray:
    """A NumPy ``.npy`` body as a writable array over the same buffer: no copy."""
    fmt = np.lib.format
    header = io.BytesIO(bytes(memoryview(body)[:65536 + 16]))
    version = fmt.read_magic(header)
    read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    shape, fortran_order, dtype = read_header(header)
    if fortran_order or dtype.hasobject:
        return np.load(io.BytesIO(body), allow_pickle=False)
    count = int(np.prod(shape)) if shape else 1
    return np.frombuffer(body, dtype=dtype, count=count, offset=header.tell()).reshape(shape)


def read_flo(data: bytes) -> np.ndarray:
    """A Middlebury ``.flo`` file as float32 ``(2, H, W)`` (u then v)."""
    if len(data) < 12 or data[:4] != b"PIEH":
        raise ValueError("not a Middlebury .flo file")
    width, height = np.frombuffer(data, dtype="<i4", count=2, offset=4)
    field = np.frombuffer(data, dtype="<f4", offset=12)
    if field.size != 2 * width * height:
        raise ValueError(f".flo of {width}x{height} has {field.size} values, not {2 * width * height}")
    return np.ascontiguousarray(field.reshape(int(height), int(width), 2).transpose(2, 0, 1))


class Client:
    """A frameflow server at ``base_url`` (``http://host:port``), with an API key (sent as
    ``X-API-Key``) or a bearer token (a JWT), or neither for a server without keys."""

    def __init__(self, base_url: str, api_key: Optional[str] = None, *, token: Optional[str] = None, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._auth: Dict[str, str] = {}
        if api_key:
            self._auth["x-api-key"] = api_key
        if token:
            self._auth["authorization"] = f"Bearer {token}"

    def __repr__(self) -> str:
        return f"Client({self.base_url!r})"

    # -- plumbing ------------------------------------------------------------------------

    def request(self, method: str, path: str, *, query: Optional[Dict[str, Any]] = None, body: Union[bytes, BinaryIO, None] = None,
                headers: Optional[Dict[str, str]] = None, json_body: Any = None,
                into_buffer: bool = False) -> Tuple[int, Dict[str, str], bytes]:
        """One request; returns ``(status, headers, body)`` for 2xx/3xx, raises otherwise.
        ``into_buffer``: the body is read straight into one writable ``bytearray`` (a large
        array's bytes are then not copied again)."""
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        all_headers = dict(self._auth)
        all_headers.update(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers["content-type"] = "application/json"
        req = urllib.request.Request(url, data=body, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                headers_got = {k.lower(): v for k, v in r.headers.items()}
                return r.status, headers_got, _read_into(r) if into_buffer else r.read()
        except urllib.error.HTTPError as e:
            raise _error(e.code, e.read()) from None

    def _json(self, method: str, path: str, **kwargs) -> Any:
        _, _, body = self.request(method, path, **kwargs)
        return json.loads(body) if body else None

    # -- videos --------------------------------------------------------------------------

    def upload(self, source: Union[str, os.PathLike, bytes, BinaryIO], name: Optional[str] = None) -> Dict[str, Any]:
        """Uploads a video (a path, bytes or a binary file object); returns its record and probe."""
        if isinstance(source, (str, os.PathLike)):
            name = name or Path(source).name
            with open(source, "rb") as f:
                data = f.read()
        elif isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        else:
            data = source.read()
        return self._json("POST", "/v1/videos", query={"name": name or "video"}, body=data,
                          headers={"content-type": "application/octet-stream"})

    def register(self, key: str) -> Dict[str, Any]:
        """Registers an object already in the store (``{"key": ...}``)."""
        return self._json("POST", "/v1/videos", json_body={"key": key})

    def videos(self, page_size: int = 100) -> Iterator[Dict[str, Any]]:
        """Every video, page by page."""
        after = None
        while True:
            page = self._json("GET", "/v1/videos", query={"limit": page_size, "start_after": after})
            yield from page["videos"]
            after = page.get("next_start_after")
            if not after:
                return

    def video(self, video_id: str) -> Dict[str, Any]:
        return self._json("GET", f"/v1/videos/{video_id}")

    def delete_video(self, video_id: str) -> None:
        self.request("DELETE", f"/v1/videos/{video_id}")

    def frame(self, video_id: str, index: Optional[int] = None, *, pts: Optional[int] = None, time: Optional[float] = None,
              width: Optional[int] = None, height: Optional[int] = None, crop: Optional[Sequence[int]] = None) -> np.ndarray:
        """One exact frame as ``(H, W, 3)`` uint8 RGB: by ``index``, ``pts`` or ``time``."""
        if sum(x is not None for x in (index, pts, time)) != 1:
            raise ValueError("name the frame with exactly one of index, pts or time")
        query = {"index": index, "pts": pts, "time": time, "width": width, "height": height, "format": "rgb24",
                 "crop": ",".join(str(int(c)) for c in crop) if crop is not None else None}
        _, headers, body = self.request("GET", f"/v1/videos/{video_id}/frame", query=query)
        w, h = int(headers["x-frame-width"]), int(headers["x-frame-height"])
        return np.frombuffer(body, dtype=np.uint8).reshape(h, w, 3)

    def frames(self, video_id: str, indices: Sequence[int], *, width: Optional[int] = None, height: Optional[int] = None,
               crop: Optional[Sequence[int]] = None) -> np.ndarray:
        """Several exact frames in one request, in the order asked: ``(N, H, W, 3)`` uint8
        (the server decodes them in one pass and sends one NumPy array)."""
        query = {"indices": ",".join(str(int(i)) for i in indices), "format": "npy", "width": width, "height": height,
                 "crop": ",".join(str(int(c)) for c in crop) if crop is not None else None}
        _, _, body = self.request("GET", f"/v1/videos/{video_id}/frames", query=query, into_buffer=True)
        return _npy_array(body)

    def frame_ids(self, video_id: str, from_index: int = 0, count: int = 100) -> Dict[str, Any]:
        """A page of frame ids: ``{"frames": [{"index", "pts", "seconds", "key", "url"}], "next", ...}``."""
        return self._json("GET", f"/v1/videos/{video_id}/frames", query={"from_index": from_index, "count": count})

    def flow(self, video_id: str, index: int, *, step: int = 1, algorithm: str = "dis-medium",
             width: Optional[int] = None, height: Optional[int] = None) -> np.ndarray:
        """Optical flow from frame ``index`` to ``index + step`` as float32 ``(2, H, W)``."""
        query = {"index": index, "step": step, "algorithm": algorithm, "format": "flo", "width": width, "height": height}
        _, _, body = self.request("GET", f"/v1/videos/{video_id}/flow", query=query)
        return read_flo(body)

    # -- jobs ----------------------------------------------------------------------------

    def create_job(self, videos: Union[str, Sequence[Union[str, Dict[str, str]]]], *, sampler: str = "random-clip",
                   params: Optional[Dict[str, Any]] = None, modality: str = "rgb", seed: Optional[int] = None,
                   **options: Any) -> Dict[str, Any]:
        """Starts a sampling job over video ids or store keys (or a ``prefix=...`` option
        instead of ``videos``); ``options`` are the other fields of ``POST /v1/jobs``."""
        spec: Dict[str, Any] = {"sampler": sampler, "params": params or {}, "modality": modality, **options}
        if videos is not None:
            spec["videos"] = [videos] if isinstance(videos, str) else list(videos)
        if seed is not None:
            spec["seed"] = seed
        return self._json("POST", "/v1/jobs", json_body=spec)

    def job(self, job_id: str) -> Dict[str, Any]:
        return self._json("GET", f"/v1/jobs/{job_id}")

    def jobs(self, page_size: int = 50) -> Iterator[Dict[str, Any]]:
        after = None
        while True:
            page = self._json("GET", "/v1/jobs", query={"count": page_size, "after": after})
            yield from page["jobs"]
            after = page.get("next")
            if not after:
                return

    def stop(self, job_id: str) -> Dict[str, Any]:
        return self._json("POST", f"/v1/jobs/{job_id}/stop")

    def delete_job(self, job_id: str) -> None:
        self.request("DELETE", f"/v1/jobs/{job_id}")

    def wait(self, job_id: str, *, timeout: Optional[float] = None, poll: float = 0.5, progress: bool = False) -> Dict[str, Any]:
        """Waits until the job ends (``succeeded``, ``failed`` or ``stopped``) and returns it;
        ``TimeoutError`` after ``timeout`` seconds. ``progress=True`` shows a ``tqdm`` bar of
        clips done (when tqdm is installed)."""
        deadline = None if timeout is None else _time.monotonic() + timeout
        bar = None
        if progress:
            try:
                from tqdm import tqdm
                bar = tqdm(desc=f"job {job_id}", unit="clip")
            except ImportError:
                bar = None
        try:
            while True:
                job = self.job(job_id)
                done = job.get("progress", {})
                if bar is not None:
                    bar.total = done.get("clips_total") or bar.total
                    bar.n = done.get("clips_done", 0)
                    bar.refresh()
                if job["state"] in ("succeeded", "failed", "stopped"):
                    return job
                if deadline is not None and _time.monotonic() > deadline:
                    raise TimeoutError(f"job {job_id} is still {job['state']} after {timeout} s")
                _time.sleep(poll)
        finally:
            if bar is not None:
                bar.close()

    def results(self, job_id: str, page_size: int = 100) -> Iterator[Dict[str, Any]]:
        """The job's manifest entries, in order (``id``, ``clip``, ``k``, ``kind``, ``index``,
        ``url``, ...)."""
        start: Optional[int] = 0
        while start is not None:
            page = self._json("GET", f"/v1/jobs/{job_id}/results", query={"from": start, "count": page_size})
            yield from page["results"]
            start = page.get("next")

    def output(self, entry_or_url: Union[Dict[str, Any], str]) -> bytes:
        """The bytes of one output (a manifest entry or its ``url``)."""
        url = entry_or_url["url"] if isinstance(entry_or_url, dict) else entry_or_url
        path = urllib.parse.urlparse(url).path if "://" in url else url
        return self.request("GET", path)[2]

    def download(self, job_id: str, dest: Union[str, os.PathLike]) -> Path:
        """Writes the job's outputs under ``dest`` as the job stored them (``clips/00000/...``)
        and its manifest as ``dest/manifest.jsonl``; returns ``dest``."""
        dest = Path(dest)
        lines: List[str] = []
        for entry in self.results(job_id):
            rel = entry.get("path") or "/".join(urllib.parse.urlparse(entry["url"]).path.split("/outputs/", 1)[1:])
            rel = rel.split(f"jobs/{job_id}/", 1)[-1]
            target = dest / rel
            if not target.resolve().is_relative_to(dest.resolve()):
                raise ValueError(f"the server named an output outside {dest}: {rel!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.output(entry))
            lines.append(json.dumps(entry))
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "manifest.jsonl").write_text("".join(line + "\n" for line in lines))
        return dest


    # -- detections and analytics (seed 002) ----------------------------------------------

    def put_detections(self, video_id: str, detections: Union[Iterable[Dict[str, Any]], str, os.PathLike, bytes]) -> Dict[str, Any]:
        """Replaces the video's detections: dicts (``frame``, ``trace_id``, ``kind``, ``bbox``,
        ``confidence``, ``identity``), a JSON Lines file's path, or its bytes. Returns the
        counts (``detections``, ``traces``, ``identities``, ``clipped``)."""
        if isinstance(detections, bytes):
            body = detections
        elif isinstance(detections, (str, os.PathLike)):
            body = Path(detections).read_bytes()
        else:
            body = "".join(json.dumps(d) + "\n" for d in detections).encode()
        return self._json("PUT", f"/v1/videos/{video_id}/detections", body=body, headers={"content-type": "application/x-ndjson"})

    def detections(self, video_id: str, *, from_frame: Optional[int] = None, to_frame: Optional[int] = None,
                   trace_id: Optional[int] = None, identity: Optional[str] = None, kind: Optional[str] = None,
                   page_size: int = 1000) -> Iterator[Dict[str, Any]]:
        """The video's detections matching the filters, in (frame, trace) order, page by page."""
        after: Optional[int] = 0
        while after is not None:
            page = self._json("GET", f"/v1/videos/{video_id}/detections", query={
                "from_frame": from_frame, "to_frame": to_frame, "trace_id": trace_id, "identity": identity, "kind": kind,
                "after": after, "limit": page_size})
            yield from page["detections"]
            after = page.get("next")

    def analyze(self, video_id: str, analyzer: str = "face", params: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """Starts an analyzer task over the stored video whose tracked objects become its
        detections; returns ``{"task", "status_url", ...}`` (see :meth:`wait_task`)."""
        return self._json("POST", f"/v1/videos/{video_id}/analyze", json_body={"analyzer": analyzer, "params": params or {}})

    def representative_face(self, video_id: str, trace_id: int, *, stranger: bool = False) -> Dict[str, Any]:
        """Seed 002's best face of a trace (top 10 by area x confidence, then the sharpest)."""
        kind = "stranger" if stranger else "trace"
        return self._json("GET", f"/api/v1/file/{video_id}/{kind}/{trace_id}/representative-face")

    def face_thumbnail(self, video_id: str, trace_id: int, *, stranger: bool = False) -> bytes:
        """That face as a 320x320 JPEG."""
        kind = "stranger" if stranger else "trace"
        return self.request("GET", f"/api/v1/file/{video_id}/{kind}/{trace_id}/thumbnail")[2]

    def cooccurrence(self, video_id: str, identity_a: str, identity_b: str) -> Dict[str, Any]:
        """The first frame two identities share, how many frames they share, both faces."""
        return self._json("GET", f"/api/v1/file/{video_id}/identities/{urllib.parse.quote(identity_a)}/co-occur-with/{urllib.parse.quote(identity_b)}")

    def representative_frame(self, video_id: str) -> Dict[str, Any]:
        """Seed 002's representative frame (the fallback chain, first half of the video)."""
        return self._json("GET", f"/api/v1/file/{video_id}/representative-frame")

    # -- analysis tasks (seed 004) ---------------------------------------------------------

    def create_task(self, spec: Dict[str, Any]) -> Dict[str, Any]:
        """Starts an analysis task (v1 JSON, or seed 004's task JSON); returns it."""
        return self._json("POST", "/v1/tasks", json_body=spec)

    def task(self, task_id: str) -> Dict[str, Any]:
        return self._json("GET", f"/v1/tasks/{task_id}")

    def tasks(self) -> List[Dict[str, Any]]:
        return self._json("GET", "/v1/tasks")["tasks"]

    def delete_task(self, task_id: str) -> None:
        self.request("DELETE", f"/v1/tasks/{task_id}")

    def task_events(self, task_id: str, page_size: int = 100) -> Iterator[Dict[str, Any]]:
        """The task's reports (seed 004's report JSON) with their delivery, in order."""
        start: Optional[int] = 0
        while start is not None:
            page = self._json("GET", f"/v1/tasks/{task_id}/events", query={"from": start, "count": page_size})
            yield from page["events"]
            start = page.get("next")

    def wait_task(self, task_id: str, *, timeout: Optional[float] = None, poll: float = 0.5) -> Dict[str, Any]:
        """Waits until the task ends (``finished``, ``failed`` or ``stopped``) and returns it."""
        deadline = None if timeout is None else _time.monotonic() + timeout
        while True:
            task = self.task(task_id)
            if task["status"]["state"] in ("finished", "failed", "stopped"):
                return task
            if deadline is not None and _time.monotonic() > deadline:
                raise TimeoutError(f"task {task_id} is still {task['status']['state']} after {timeout} s")
            _time.sleep(poll)
