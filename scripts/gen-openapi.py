#!/usr/bin/env python3
"""Writes frameflow's OpenAPI 3.1 document, components/frames/src/openapi.json, which the
frames component serves at /v1/openapi.json (and renders at /docs).

The routes themselves live in the components' match statements; this file describes them,
and tests/e2e/openapi.rs keeps the two honest: the document validates as OpenAPI 3.1, every
operation is answered by the server (no "no route"), and schemathesis finds no 5xx and no
response outside the document. Run it after changing a route:

    python3 scripts/gen-openapi.py
"""

import json
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "components/frames/src/openapi.json"

ERROR = {"$ref": "#/components/schemas/Error"}


def error(description):
    return {"description": description, "content": {"application/problem+json": {"schema": ERROR}}}


def q(name, schema, description, required=False):
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


INDEX = {"type": "integer", "minimum": 0}
ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
      "description": "The video's id (16 hex digits)."}
JOB = {"name": "job", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": 64},
       "description": "The job's id."}
# A component upload: application/wasm, or application/octet-stream (accepted too).
WASM = {t: {"schema": {"type": "string", "format": "binary"}} for t in ["application/wasm", "application/octet-stream"]}
TENANT = {"name": "tenant", "in": "path", "required": True, "schema": {"type": "string"}, "description": "A tenant's name."}
NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"},
        "description": "A sampler's name."}
SIZE = [q("width", {"type": "integer", "minimum": 1, "maximum": 16384}, "Output width (alone: keeps the aspect ratio)."),
        q("height", {"type": "integer", "minimum": 1, "maximum": 16384}, "Output height.")]
CROP = q("crop", {"type": "string", "pattern": "^[0-9]+,[0-9]+,[0-9]+,[0-9]+$"}, "x,y,width,height in the displayed picture.")
RANGE = [q("start_frame", INDEX, "First frame (inclusive, 0-based, as /frame?index=)."),
         q("end_frame", INDEX, "Last frame (inclusive)."),
         q("start_time", {"type": "number", "minimum": 0, "maximum": 1e9}, "Start, seconds (the first frame at or after it)."),
         q("end_time", {"type": "number", "minimum": 0, "maximum": 1e9}, "End, seconds (exclusive)."),
         q("fps", {"type": "number", "exclusiveMinimum": 0, "maximum": 1000}, "Convert times to frames at this rate (frame = floor(t x fps)).")]
COMMON = {"400": error("A parameter is wrong; the message names it."), "401": error("No key, or an unknown one."),
          "403": error("The key's scope does not allow it."), "404": error("No such video, frame or route.")}
IMAGE = {"image/jpeg": {}, "image/png": {}, "image/webp": {}, "application/octet-stream": {}}


def op(summary, tag, params=(), responses=None, body=None, description=None):
    out = {"summary": summary, "tags": [tag], "parameters": list(params), "responses": {**COMMON, **(responses or {})}}
    if description:
        out["description"] = description
    if body:
        out["requestBody"] = body
    return out


def ok(description, content=None):
    return {"description": description, **({"content": content} if content else {})}


def js(schema):
    return {"application/json": {"schema": schema}}


VIDEO = {"$ref": "#/components/schemas/Video"}
TRACE = {"name": "trace_id", "in": "path", "required": True, "schema": {"type": "integer"}, "description": "A trace's id (a stranger's id is its trace id)."}
TASK = {"type": "object", "required": ["id", "spec", "status"], "properties": {
    "id": {"type": "string"}, "spec": {"type": "object"},
    "status": {"type": "object", "properties": {"state": {"enum": ["starting", "running", "reconnecting", "finished", "failed", "stopped", ""]},
                                                "reason": {"type": ["string", "null"]}, "processed_frames": {"type": "integer"},
                                                "analysed_frames": {"type": "integer"}, "skipped_frames": {"type": "integer"},
                                                "reports": {"type": "integer"}, "fps": {"type": "number"}}}}}
TASK_ID = {"name": "task", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": 64},
           "description": "The task's id."}
ANALYZER = {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,62}$"},
            "description": "An analyzer's name."}
SEED_ERROR = {"type": "object", "required": ["Code", "Msg"], "properties": {"Code": {"type": "integer"}, "Msg": {"type": "string"}}}
SEED_TASK = {"type": "object", "required": ["TaskID", "InputSrc", "Algorithm"], "properties": {
    "TaskID": {"type": "string"}, "InputSrc": {"type": "object", "properties": {
        "SrcID": {"type": "string"}, "StreamSrc": {"type": "object", "properties": {"Address": {"type": "string"}}}}},
    "Algorithm": {"type": "array", "items": {"type": "object", "properties": {
        "Type": {"type": "integer"}, "TrackInterval": {"type": "integer"}, "DetectInterval": {"type": "integer"},
        "TargetSize": {"type": "object"}, "DetectInfos": {"type": ["array", "null"]}, "Extend": {"type": "object"}}}},
    "Reporting": {"type": "object", "properties": {"ReportUrlList": {"type": "array", "items": {"type": "string"}}}},
    "Extend": {"type": "object", "description": "PresentFrames (n, 3), AbsentFrames (m, 5), Transport (tcp|udp), Realtime, SampleInterval"}}}
TASK_ID_BODY = {"type": "object", "required": ["TaskID"], "properties": {"TaskID": {"type": "string"}}}


def seed_ok(description):
    return ok(description, js({"type": "object", "required": ["Code", "Msg"]}))


def seed_error(description):
    return ok(description, js(SEED_ERROR))


def seed_op(summary, body, responses):
    """A seed 004 route: its errors are the seed's {Code, Msg} JSON, not problem details."""
    out = {"summary": summary, "tags": ["seed routes"], "parameters": [],
           "responses": {"401": error("No key, or an unknown one."), "403": error("The key's scope does not allow it."),
                         "405": seed_error("Another method."), **responses}}
    if body:
        out["requestBody"] = {"required": True, "content": js(body)}
    return out
paths = {
    "/v1/videos": {
        "post": op("Upload a video (its bytes) or register a stored object (JSON {\"key\"})", "videos",
                   [q("name", {"type": "string", "maxLength": 200}, "A file name for the upload.")],
                   {"201": ok("The video's record and probe.", js(VIDEO)), "413": error("Over the upload limit."),
                    "415": error("Not a video this host can decode."), "422": error("A video over a host limit (picture size).")},
                   body={"required": True, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                                                        "application/json": {"schema": {"type": "object", "required": ["key"],
                                                                                        "properties": {"key": {"type": "string"}}}}}}),
        "get": op("List videos", "videos", [q("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size."),
                                            q("start_after", {"type": "string"}, "The last id of the previous page.")],
                  {"200": ok("A page of videos.", js({"type": "object", "required": ["videos"],
                                                       "properties": {"videos": {"type": "array", "items": {"type": "object"}},
                                                                      "next_start_after": {"type": ["string", "null"]}}}))}),
    },
    "/v1/videos/{id}": {
        "get": op("A video's record and probe", "videos", [ID], {"200": ok("The record and probe.", js(VIDEO))}),
        "delete": op("Delete a video (its record, cached index, and uploaded bytes)", "videos", [ID], {"204": ok("Deleted.")}),
    },
    "/v1/videos/{id}/frame": {
        "get": op("One exact frame, by index, pts or time", "frames",
                  [ID, q("index", INDEX, "0-based presentation index."), q("pts", {"type": "integer"}, "Presentation timestamp (stream time base)."),
                   q("time", {"type": "number", "minimum": 0, "maximum": 1e9}, "Seconds: the first frame at or after (ffmpeg -ss)."),
                   q("format", {"enum": ["jpeg", "jpg", "png", "webp", "rgb24"]}, "Image format (default jpeg)."),
                   q("quality", {"type": "integer", "minimum": 1, "maximum": 100}, "JPEG/WebP quality."), *SIZE, CROP],
                  {"200": ok("The frame; X-Frame-Index, X-Frame-Pts, X-Frame-Seconds, X-Frame-Width, X-Frame-Height; strong ETag.", IMAGE),
                   "304": ok("Not modified (If-None-Match)."), "413": error("Output over a host limit.")}),
    },
    "/v1/videos/{id}/frames": {
        "get": op("Frame ids page by page, or (with indices) many frames in one body", "frames",
                  [ID, q("from_index", INDEX, "First id of the page."), q("from_pts", {"type": "integer"}, "First id of the page, by pts."),
                   q("count", {"type": "integer", "minimum": 1, "maximum": 1000}, "Ids per page (default 100)."),
                   q("indices", {"type": "string", "pattern": "^[0-9]+(,[0-9]+)*$"}, "Frames for a batch, comma-separated (at most 256)."),
                   q("format", {"enum": ["npy", "raw", "rgb24"]}, "A batch's layout (default npy)."), *SIZE, CROP],
                  {"200": ok("Ids (JSON), or a batch: NumPy (N, H, W, 3) uint8, or raw RGB24.",
                             {"application/json": {"schema": {"type": "object"}}, "application/x-npy": {}, "application/octet-stream": {}}),
                   "304": ok("Not modified."), "413": error("Too many frames in a batch.")}),
    },
    "/v1/videos/{id}/audio": {
        "get": op("The audio played in [start, end) seconds, float32, sample-exact against ffmpeg -f f32le", "frames",
                  [ID, q("start", {"type": "number", "minimum": -1e12, "maximum": 1e12}, "Seconds (default 0; before the stream: its first sample)."),
                   q("end", {"type": "number", "minimum": -1e12, "maximum": 1e12}, "Seconds, excluded (default: to the end)."),
                   q("sample_rate", {"type": "integer", "minimum": 1, "maximum": 768000}, "Resampled to this rate (libswresample, as -ar)."),
                   q("num_channels", {"type": "integer", "minimum": 1, "maximum": 8}, "Mixed to this many channels (FFmpeg's default layout, as -ac)."),
                   q("stream", {"type": "integer", "minimum": 0, "maximum": 4294967295}, "Absolute stream index (default: the best audio stream)."),
                   q("format", {"enum": ["wav", "npy"]}, "A float WAV (default), or NumPy (channels, samples) float32.")],
                  {"200": ok("The samples; X-Sample-Rate, X-Channels; strong ETag.", {"audio/wav": {}, "application/x-npy": {}}),
                   "304": ok("Not modified."), "413": error("A span over the request's byte budget."),
                   "415": error("No audio stream (or not that one).")}),
    },
    "/v1/videos/{id}/flow": {
        "get": op("Optical flow from frame index to index+step", "frames",
                  [ID, q("index", INDEX, "From frame.", True), q("step", {"type": "integer", "minimum": 1, "maximum": 1000}, "To frame index+step."),
                   q("algorithm", {"enum": ["farneback", "dis-ultrafast", "dis-fast", "dis-medium", "tvl1"]}, "Algorithm (default dis-medium)."),
                   q("format", {"enum": ["color", "x", "y", "flo"]}, "Colour-wheel PNG, denseflow x/y JPEG planes, Middlebury .flo."),
                   q("bound", {"type": "number", "exclusiveMinimum": 0, "maximum": 1000}, "Quantization bound of x/y."), *SIZE],
                  {"200": ok("The flow.", {"image/png": {}, "image/jpeg": {}, "application/octet-stream": {}}),
                   "304": ok("Not modified."), "413": error("Over the flow size limit.")}),
    },
    "/v1/videos/{id}/video": {
        "get": op("The stored video (HTTP ranges), or a frame range stream-copied into MP4", "delivery",
                  [ID, {"name": "Range", "in": "header", "schema": {"type": "string", "pattern": "^[ -~]*$"},
                    "description": "bytes=a-b, a-, -n (the first of several). A header is printable ASCII: anything else is not HTTP."},
                   *RANGE, q("mode", {"type": "string"}, "Seed 002's; ignored."), q("audio", {"type": "string"}, "Seed 002's; ignored.")],
                  {"200": ok("The bytes (or the range's MP4).", {"video/*": {}, "application/octet-stream": {}}),
                   "206": ok("Part of the bytes; Content-Range."), "304": ok("Not modified."),
                   "416": error("The range is outside the video."), "422": error("The codec cannot go into MP4.")}),
    },
    "/v1/videos/{id}/clip": {
        "get": op("Exactly frames S..=E re-encoded (H.264 + AAC), streamed", "delivery",
                  [ID, *RANGE, q("format", {"enum": ["ts", "mp4"]}, "MPEG-TS (default) or fragmented MP4."),
                   q("mode", {"enum": ["normal", "debug"]}, "debug burns in CLIP #n."), q("audio", {"enum": ["on", "off"]}, "The span's audio."),
                   q("width", {"type": "integer", "minimum": 2, "maximum": 4096}, "Output width."),
                   q("height", {"type": "integer", "minimum": 2, "maximum": 4096}, "Output height.")],
                  {"200": ok("The clip, as it is encoded.", {"video/mp2t": {}, "video/mp4": {}}), "413": error("Longer than max_clip_frames."),
                   "429": error("Every encode slot is busy.")}),
    },
    "/v1/videos/{id}/animated": {
        "get": op("An animated GIF or WebP preview", "delivery",
                  [ID, q("start", {"type": "number", "minimum": 0, "maximum": 1e9}, "Seconds."), q("end", {"type": "number", "minimum": 0, "maximum": 1e9}, "Seconds (at most 10 after start)."),
                   q("start_frame", INDEX, "Or by frames."), q("end_frame", INDEX, "Or by frames."),
                   q("fps", {"type": "number", "exclusiveMinimum": 0, "maximum": 30}, "Preview frame rate (default 10)."),
                   q("width", {"type": "integer", "minimum": 2, "maximum": 640}, "Default 320."), q("height", {"type": "integer", "minimum": 2, "maximum": 640}, "Height."),
                   q("format", {"enum": ["gif", "webp"]}, "Default gif.")],
                  {"200": ok("The animation.", {"image/gif": {}, "image/webp": {}}), "413": error("Too many frames."), "429": error("Every encode slot is busy.")}),
    },
    "/v1/videos/{id}/thumbnail": {
        "get": op("A thumbnail of an exact frame, cropped and fitted", "delivery",
                  [ID, q("frame", INDEX, "Frame index (else time, else the sharpest of 8)."), q("time", {"type": "number", "minimum": 0, "maximum": 1e9}, "Seconds."),
                   *[q(n, {"type": "integer", "minimum": 0}, f"Crop {n} (all four or none).") for n in ["x", "y"]],
                   *[q(n, {"type": "integer", "minimum": 1}, f"Crop {n} (all four or none).") for n in ["w", "h"]],
                   q("width", {"type": "integer", "minimum": 1, "maximum": 8192}, "Box width."), q("height", {"type": "integer", "minimum": 1, "maximum": 8192}, "Box height."),
                   q("fit_mode", {"enum": ["preserve", "stretch", "crop", "smartcrop", "pad"]}, "How it fits the box (Mux's)."),
                   q("format", {"enum": ["jpg", "jpeg", "png", "webp"]}, "Default jpg."), q("quality", {"type": "integer", "minimum": 1, "maximum": 100}, "Quality."),
                   q("mode", {"type": "string"}, "Seed 002's; ignored."), q("audio", {"type": "string"}, "Seed 002's; ignored.")],
                  {"200": ok("The image; X-Thumbnail-Rule says how the frame was chosen.", IMAGE), "304": ok("Not modified.")}),
    },
    "/v1/videos/{id}/storyboard.jpg": {
        "get": op("A storyboard sprite (scrub previews)", "delivery",
                  [ID, q("tiles", {"type": "integer", "minimum": 1, "maximum": 256}, "Tiles (default up to 100)."),
                   q("width", {"type": "integer", "minimum": 16, "maximum": 640}, "Tile width (default 160)."),
                   q("columns", {"type": "integer", "minimum": 1, "maximum": 64}, "Tiles across (default 10).")],
                  {"200": ok("The sprite.", {"image/jpeg": {}}), "304": ok("Not modified."),
                   "413": error("The sheet would be over 65535 px on a side (a JPEG's limit).")}),
    },
    "/v1/videos/{id}/storyboard.vtt": {
        "get": op("The storyboard's WebVTT cues with #xywh= fragments", "delivery",
                  [ID, q("tiles", {"type": "integer", "minimum": 1, "maximum": 256}, "As storyboard.jpg."),
                   q("width", {"type": "integer", "minimum": 16, "maximum": 640}, "As storyboard.jpg."),
                   q("columns", {"type": "integer", "minimum": 1, "maximum": 64}, "As storyboard.jpg.")],
                  {"200": ok("WebVTT.", {"text/vtt": {}}), "304": ok("Not modified."),
                   "413": error("Its sprite would be over 65535 px on a side.")}),
    },
    "/v1/videos/{id}/hls/index.m3u8": {
        "get": op("HLS VOD playlist (H.264/HEVC)", "delivery", [ID],
                  {"200": ok("The playlist.", {"application/vnd.apple.mpegurl": {}}), "304": ok("Not modified."),
                   "422": error("A codec HLS here does not carry.")}),
    },
    "/v1/videos/{id}/hls/{segment}": {
        "get": op("One HLS segment, stream-copied into MPEG-TS", "delivery",
                  [ID, {"name": "segment", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9]+\\.ts$"}, "description": "n.ts"}],
                  {"200": ok("The segment.", {"video/mp2t": {}}), "422": error("A codec HLS here does not carry.")}),
    },
    "/v1/videos/{id}/remux": {
        "post": op("Copy the video into another container without re-encoding, as a new video", "delivery",
                   [ID, q("container", {"enum": ["mp4", "mkv", "ts"]}, "Target container.")],
                   {"201": ok("The new video.", js(VIDEO)), "422": error("The codec cannot go into that container.")}),
    },
    "/v1/jobs": {
        "post": op("Start a sampling job", "jobs", [],
                   {"201": ok("The job.", js({"type": "object"})), "413": error("Too large.")},
                   body={"required": True, "content": js({"type": "object", "properties": {
                       "videos": {"type": "array"}, "prefix": {"type": "string"}, "sampler": {"type": "string"}, "params": {"type": "object"},
                       "modality": {"enum": ["rgb", "flow", "rgb+flow"]}, "seed": {"type": "integer", "minimum": 0}}})}),
        "get": op("List jobs, oldest first", "jobs", [q("after", {"type": "string"}, "The last id of the previous page."),
                                                      q("count", {"type": "integer", "minimum": 1, "maximum": 100}, "Page size.")],
                  {"200": ok("A page of jobs.", js({"type": "object", "required": ["jobs"]}))}),
    },
    "/v1/jobs/{job}": {
        "get": op("A job: state, progress, stats, spec", "jobs", [JOB], {"200": ok("The job.", js({"type": "object"}))}),
        "delete": op("Delete a job and every object it wrote", "jobs", [JOB], {"200": ok("Deleted.", js({"type": "object"}))}),
    },
    "/v1/jobs/{job}/stop": {
        "post": op("Stop a job", "jobs", [JOB], {"200": ok("The stopped job.", js({"type": "object"})), "409": error("The job has ended.")}),
    },
    "/v1/jobs/{job}/results": {
        "get": op("A page of the job's manifest entries", "jobs",
                  [JOB, q("from", INDEX, "First entry."), q("count", {"type": "integer", "minimum": 1, "maximum": 100}, "Entries.")],
                  {"200": ok("Entries, each with its url; next.", js({"type": "object", "required": ["results"]}))}),
        "delete": op("Delete exactly these outputs", "jobs", [JOB], {"200": ok("Deleted and missing ids.", js({"type": "object"}))},
                     body={"required": True, "content": js({"type": "object", "required": ["id"], "properties": {"id": {"type": "array", "items": {"type": "string"}}}})}),
    },
    "/v1/jobs/{job}/outputs/manifest.jsonl": {
        "get": op("The whole manifest, once the job succeeded", "jobs", [JOB],
                  {"200": ok("JSON lines.", {"application/x-ndjson": {}, "application/jsonl": {}, "application/json": {}, "text/plain": {}}),
                   "304": ok("Not modified."), "409": error("Not finished.")}),
    },
    "/v1/jobs/{job}/outputs/{clip}/{file}": {
        "get": op("One output", "jobs", [JOB, {"name": "clip", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9]{5}$"}, "description": "00000"},
                                         {"name": "file", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[a-z_0-9]+\\.(jpg|png)$"}, "description": "img_00000.jpg"}],
                  {"200": ok("The image.", {"image/jpeg": {}, "image/png": {}}), "304": ok("Not modified.")}),
    },
    "/v1/samplers": {
        "get": op("Built-in and uploaded samplers", "samplers", [], {"200": ok("The samplers.", js({"type": "object"}))}),
    },
    "/v1/samplers/{name}": {
        "get": op("One sampler", "samplers", [NAME], {"200": ok("The sampler.", js({"type": "object"}))}),
        "put": op("Upload your own sampler (a wasm component of the sampler world), checked first", "samplers", [NAME],
                  {"200": ok("Replaced.", js({"type": "object"})), "201": ok("Installed.", js({"type": "object"})),
                   "409": error("A built-in's name."), "413": error("Over 16 MiB."), "415": error("Neither application/wasm nor application/octet-stream."),
                   "422": error("Another world, forbidden imports, or it does not compile.")},
                  body={"required": True, "content": WASM}),
        "delete": op("Remove your upload", "samplers", [NAME], {"204": ok("Removed."), "409": error("A built-in.")}),
    },
    "/v1/samplers/{name}/plan": {
        "post": op("Dry run: the clips a sampler plans for a video", "samplers", [NAME], {"200": ok("The plan.", js({"type": "object"}))},
                   body={"required": True, "content": js({"type": "object", "required": ["video"], "properties": {
                       "video": {"type": "string"}, "params": {"type": "object"}, "seed": {"type": "integer", "minimum": 0}}})}),
    },
    "/v1/event-handlers": {
        "get": op("Your object-event handlers", "events", [], {"200": ok("The handlers.", js({"type": "object"}))}),
    },
    "/v1/event-handlers/{name}": {
        "get": op("One handler", "events", [NAME], {"200": ok("The handler.", js({"type": "object"}))}),
        "put": op("Upload a handler (the events handler-export world), checked first", "events", [NAME],
                  {"200": ok("Replaced.", js({"type": "object"})), "201": ok("Installed.", js({"type": "object"})),
                   "413": error("Too large."), "415": error("Neither application/wasm nor application/octet-stream."), "422": error("Refused by the check.")},
                  body={"required": True, "content": WASM}),
        "delete": op("Remove a handler", "events", [NAME], {"204": ok("Removed.")}),
    },
    "/v1/analyzers": {
        "get": op("Built-in and uploaded analyzers (frameflow:analyzer components for tasks)", "tasks", [],
                  {"200": ok("The analyzers.", js({"type": "object"}))}),
    },
    "/v1/analyzers/{name}": {
        "get": op("One analyzer", "tasks", [ANALYZER], {"200": ok("The analyzer.", js({"type": "object"}))}),
        "put": op("Upload your own analyzer (a wasm component of the analyzer-component world), checked first", "tasks", [ANALYZER],
                  {"200": ok("Replaced.", js({"type": "object"})), "201": ok("Installed.", js({"type": "object"})),
                   "409": error("A built-in's name."), "413": error("Over 16 MiB."), "415": error("Neither application/wasm nor application/octet-stream."),
                   "422": error("Another world, forbidden imports, or it does not compile.")},
                  body={"required": True, "content": WASM}),
        "delete": op("Remove your upload", "tasks", [ANALYZER], {"204": ok("Removed."), "409": error("A built-in.")}),
    },
    "/v1/tasks": {
        "post": op("Start an analysis task (v1 JSON, or seed 004's task JSON)", "tasks", [],
                   {"201": ok("The task: spec and status.", js(TASK)), "409": error("A task with this id exists."),
                    "413": error("Over 1 MiB."), "429": error("This host runs as many tasks as it may.")},
                   body={"required": True, "content": js({"type": "object", "description":
                       "{id, src_id?, source: {address (rtsp://, http(s)://, video:{id}, file:{path under the media root}), transport? (tcp|udp), "
                       "realtime?, sample_interval?}, analyzers: [{name, params?, detect_interval?, target_size?: {min, max}}], report_urls?, "
                       "rule?: {present, absent}}; or seed 004's task JSON (with TaskID)",
                       "properties": {"id": {"type": "string"}, "source": {"type": "object"}, "analyzers": {"type": "array"}}})}),
        "get": op("Your tasks", "tasks", [], {"200": ok("The tasks.", js({"type": "object", "required": ["tasks"],
                                                                          "properties": {"tasks": {"type": "array", "items": TASK}}}))}),
    },
    "/v1/tasks/{task}": {
        "get": op("One task: spec, state and counters", "tasks", [TASK_ID], {"200": ok("The task.", js(TASK))}),
        "delete": op("Stop a task and remove it with its reports", "tasks", [TASK_ID], {"204": ok("Removed.")}),
    },
    "/v1/tasks/{task}/events": {
        "get": op("A task's reports (seed 004's report JSON) with their delivery", "tasks",
                  [TASK_ID, q("from", INDEX, "First report number."), q("count", {"type": "integer", "minimum": 1, "maximum": 100}, "Reports per page.")],
                  {"200": ok("A page of reports.", js({"type": "object", "required": ["events"], "properties": {
                      "events": {"type": "array", "items": {"type": "object"}}, "next": {"type": ["integer", "null"]}}}))}),
    },
    "/v1/videos/{id}/analyze": {
        "post": op("Detections for a stored video from an analyzer (a task; its tracked objects become the video's detections)", "analytics",
                   [ID, q("analyzer", {"type": "string"}, "The analyzer (default face).")],
                   {"202": ok("The task making them.", js({"type": "object"})), "409": error("Already running."),
                    "429": error("This host runs as many tasks as it may.")},
                   body={"required": False, "content": js({"type": "object", "properties": {"analyzer": {"type": "string"}, "params": {"type": "object"}}})}),
    },
    "/task/create": {"post": seed_op("Seed 004: start a task from its task JSON", SEED_TASK,
                                     {"200": seed_ok("Started: {Code: 0, Msg, TaskID}."), "400": seed_error("The task is not valid; Msg names the field."),
                                      "409": seed_error("A task with this TaskID exists."), "413": error("Over 1 MiB."),
                                      "429": seed_error("This host runs as many tasks as it may.")})},
    "/task/query": {"post": seed_op("Seed 004: a task's state and counters", TASK_ID_BODY,
                                    {"200": seed_ok("{Code: 0, Msg, Data}."), "400": seed_error("No TaskID."), "404": seed_error("No such task.")})},
    "/task/delete": {"post": seed_op("Seed 004: stop and remove a task", TASK_ID_BODY,
                                     {"200": seed_ok("{Code: 0, Msg, TaskID}."), "400": seed_error("No TaskID."), "404": seed_error("No such task.")})},
    "/task/list": {"get": seed_op("Seed 004: every task", None, {"200": seed_ok("{Code: 0, Msg, Data: [...]}.")}),
                   "post": seed_op("Seed 004: every task", None, {"200": seed_ok("{Code: 0, Msg, Data: [...]}.")})},
    "/v1/events/s3": {
        "post": op("An S3 event notification (as S3, MinIO or Garage send it)", "events", [],
                   {"202": ok("Accepted and ignored records.", js({"type": "object"}))},
                   body={"required": True, "content": js({"type": "object", "properties": {"Records": {"type": "array"}}})}),
    },
    "/v1/events/failed": {
        "get": op("Your dead letters", "events", [], {"200": ok("The letters.", js({"type": "object"}))}),
    },
    "/v1/events/failed/{letter}/retry": {
        "post": op("Run a dead letter's event again", "events",
                   [{"name": "letter", "in": "path", "required": True, "schema": {"type": "string"}, "description": "The letter's id."}],
                   {"200": ok("The outcome.", js({"type": "object"}))}),
    },
    "/v1/admin/tenants": {
        "post": op("Create a tenant (system key)", "admin", [], {"201": ok("Created.", js({"type": "object"})), "409": error("It exists.")},
                   body={"required": True, "content": js({"type": "object", "required": ["name"], "properties": {
                       "name": {"type": "string"}, "limits": {"type": "object"}}})}),
        "get": op("List tenants (system key)", "admin", [], {"200": ok("Tenants.", js({"type": "object"}))}),
    },
    "/v1/admin/tenants/{tenant}": {
        "get": op("One tenant with its keys' ids", "admin", [TENANT], {"200": ok("The tenant.", js({"type": "object"}))}),
        "delete": op("Delete a tenant and revoke its keys", "admin", [TENANT], {"200": ok("Deleted.", js({"type": "object"}))}),
    },
    "/v1/admin/tenants/{tenant}/keys": {
        "post": op("A new key, shown once", "admin", [TENANT], {"201": ok("The key.", js({"type": "object"}))},
                   body={"required": False, "content": js({"type": "object", "properties": {"scope": {"type": "string"}, "label": {"type": "string"}}})}),
        "get": op("The tenant's keys (never the keys themselves)", "admin", [TENANT], {"200": ok("Keys.", js({"type": "object"}))}),
    },
    "/v1/admin/tenants/{tenant}/keys/{key}": {
        "delete": op("Revoke a key", "admin", [TENANT, {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}, "description": "The key's id."}],
                     {"200": ok("Revoked.", js({"type": "object"}))}),
    },
    "/api/v1/file/{id}/video": {"get": op("Seed 002: the stored video with ranges", "seed routes", [ID, *RANGE],
                                          {"200": ok("The bytes."), "206": ok("Part of them."), "416": error("Outside the video.")})},
    "/api/v1/file/{id}/thumbnail": {"get": op(
        "Seed 002: a thumbnail; without frame, the representative frame (the analytics fallback chain)", "seed routes",
        [ID, q("frame", INDEX, "Frame index (omit: the representative frame)."),
         *[q(k, {"type": "integer", "minimum": 0, "maximum": 100000}, f"Crop {k} (x, y, w, h go together).") for k in ["x", "y", "w", "h"]]],
        {"200": ok("The image.", IMAGE), "422": error("The video cannot be read.")})},
    "/api/v1/file/{id}/trace/{trace_id}/video": {"get": op(
        "Seed 002: the trace's span re-encoded with its box drawn (H.264+AAC in MPEG-TS, streamed)", "analytics",
        [ID, TRACE, q("mode", {"enum": ["debug"]}, "Burn in each frame's index."), q("audio", {"enum": ["on", "off"]}, "The sound (default on).")],
        {"200": ok("The video.", {"video/mp2t": {}}), "413": error("Over the clip frame limit."), "422": error("The video cannot be read.")})},
    "/api/v1/file/{id}/video/bbox": {"get": op(
        "Seed 002: the video (or a span) re-encoded with every box and its label drawn (MPEG-TS, streamed)", "analytics",
        [ID, q("start_frame", INDEX, "First frame (default 0)."), q("end_frame", INDEX, "Last frame (default the last)."),
         q("mode", {"enum": ["debug"]}, "Burn in each frame's index."), q("audio", {"enum": ["on", "off"]}, "The sound (default on).")],
        {"200": ok("The video.", {"video/mp2t": {}}), "413": error("Over the clip frame limit: pick a span."), "422": error("The video cannot be read.")})},
    "/api/v1/file/{id}/chunks": {"get": op("Seed 002: the video's chunks (fixed windows of the chunk_seconds setting, 60 s by default; chunk_1 first)", "analytics", [ID],
                                           {"200": ok("The chunks.", js({"type": "object"})), "422": error("The video cannot be read.")})},
    "/api/v1/file/{id}/chunk/{chunk_id}/thumbnail": {"get": op(
        "Seed 002: a chunk's thumbnail (the representative frame's chain inside it, else its middle frame)", "analytics",
        [ID, {"name": "chunk_id", "in": "path", "required": True, "schema": {"type": "string"}, "description": "chunk_1, chunk_2, ..."}],
        {"200": ok("The JPEG.", {"image/jpeg": {}}), "422": error("The video cannot be read.")})},
    "/api/v1/file/{id}/clip": {"get": op("Seed 002: a clip as MPEG-TS", "seed routes", [ID, *RANGE],
                                         {"200": ok("The clip.", {"video/mp2t": {}}), "413": error("Too long."), "429": error("Busy.")})},
    "/v1/videos/{id}/detections": {
        "put": op("Replace the video's detections (JSON Lines, or {\"detections\": [...]})", "analytics", [ID],
                  {"200": ok("Stored: counts of detections, traces, identities and clipped boxes.", js({"type": "object"})),
                   "413": error("Over the upload limit."), "422": error("The video cannot be read.")},
                  body={"required": True, "content": js({"type": "object", "properties": {"detections": {"type": "array"}}})},
                  description="Each detection: {frame, trace_id, kind, bbox: {x, y, width, height}, confidence (0..1), identity: {uuid, name, source} | null, "
                              "mutual_gaze?}. A bad one refuses the whole upload (the message names it); boxes are clipped to the frame."),
        "get": op("A page of the video's detections", "analytics",
                  [ID, q("from_frame", INDEX, "First frame."), q("to_frame", INDEX, "Last frame."), q("trace_id", {"type": "integer"}, "One trace."),
                   q("identity", {"type": "string"}, "One identity's uuid."), q("kind", {"type": "string"}, "One kind."),
                   q("after", INDEX, "Skip this many."), q("limit", {"type": "integer", "minimum": 1, "maximum": 10000}, "At most this many (1000).")],
                  {"200": ok("The page.", js({"type": "object", "required": ["detections"], "properties": {
                      "detections": {"type": "array"}, "next": {"type": ["integer", "null"]}}})), "422": error("The video cannot be read.")}),
    },
    "/api/v1/file/{id}/trace/{trace_id}/representative-face": {"get": op(
        "Seed 002: a trace's best face (top 10 by area x confidence, then the least blurry by FFmpeg blurdetect)", "analytics", [ID, TRACE],
        {"200": ok("The face.", js({"type": "object"})), "422": error("The video cannot be read.")})},
    "/api/v1/file/{id}/trace/{trace_id}/thumbnail": {"get": op("Seed 002: that face, 320x320 JPEG", "analytics", [ID, TRACE],
                                                               {"200": ok("The JPEG.", {"image/jpeg": {}}), "422": error("The video cannot be read.")})},
    "/api/v1/file/{id}/stranger/{trace_id}/representative-face": {"get": op("Seed 002: an unidentified trace's best face", "analytics", [ID, TRACE],
                                                                            {"200": ok("The face.", js({"type": "object"})), "422": error("The video cannot be read.")})},
    "/api/v1/file/{id}/stranger/{trace_id}/thumbnail": {"get": op("Seed 002: a stranger's face, 320x320 JPEG", "analytics", [ID, TRACE],
                                                                  {"200": ok("The JPEG.", {"image/jpeg": {}}), "422": error("The video cannot be read.")})},
    "/api/v1/file/{id}/identities/{a}/co-occur-with/{b}": {"get": op(
        "Seed 002: the first frame two identities share, how many they share, each one's face", "analytics",
        [ID, {"name": "a", "in": "path", "required": True, "schema": {"type": "string"}, "description": "An identity's uuid."},
         {"name": "b", "in": "path", "required": True, "schema": {"type": "string"}, "description": "Another identity's uuid."}],
        {"200": ok("The first co-occurrence.", js({"type": "object"})), "422": error("The video cannot be read.")})},
    "/api/v1/file/{id}/representative-frame": {"get": op(
        "Seed 002: the representative frame (main identities' mutual gaze, co-occurrence, one identity's best face, anyone's), in the first half",
        "analytics", [ID], {"200": ok("The frame and the faces on it.", js({"type": "object"})), "422": error("The video cannot be read.")})},
    "/api/v1/media-proxy": {"get": op("Seed 002: an external image or video through the outbound guard (system key)", "analytics",
                                      [q("url", {"type": "string"}, "The http(s) URL.", True)],
                                      {"200": ok("The media.", {"image/*": {}, "video/*": {}}), "413": error("Over 25 MiB."),
                                       "415": error("Not an image or a video."), "502": error("The URL's server failed."),
                                       "504": error("It did not answer in time.")})},
    "/v1/openapi.json": {"get": {"summary": "This document", "tags": ["meta"], "responses": {"200": ok("OpenAPI 3.1.", js({"type": "object"}))}}},
}

doc = {
    "openapi": "3.1.0",
    "info": {"title": "frameflow", "version": "0.1.0",
             "description": "Exact frames, optical flow, delivery, sampling jobs and analysis tasks from video. Errors are RFC 9457 problem "
                            "details (application/problem+json); seed 000's routes keep their seed's {\"message\"}."},
    "security": [{"apiKey": []}, {"bearer": []}, {}],
    "tags": [{"name": n} for n in ["videos", "frames", "delivery", "jobs", "samplers", "tasks", "analytics", "events", "admin", "seed routes", "meta"]],
    "paths": paths,
    "components": {
        "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "schemas": {
            "Error": {"type": "object", "description": "RFC 9457 problem details, with frameflow's stable code and the offending "
                      "query parameter, and the earlier error member.",
                      "required": ["type", "title", "status", "detail", "code"], "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"},
                "code": {"type": "string"}, "param": {"type": "string"},
                "error": {"type": "object", "required": ["code", "message"],
                          "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
            "Video": {"type": "object", "required": ["id", "key"], "properties": {
                "id": {"type": "string"}, "key": {"type": "string"}, "name": {"type": "string"}, "size": {"type": "integer"},
                "frame_count": {"type": "integer"}, "width": {"type": "integer"}, "height": {"type": "integer"},
                "codec": {"type": "string"}, "keyframes": {"type": "array", "items": {"type": "integer"}}}},
        },
    },
}

OUT.write_text(json.dumps(doc, indent=1) + "\n")
print(f"wrote {OUT} ({len(paths)} paths)")
