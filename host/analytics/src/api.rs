//! [`Analytics`]: the analytics routes, answered by the host (the embedded database, FFmpeg's
//! blurdetect and outbound fetches are host work); [`owns`] says which paths are its own.
//!
//! | route | does |
//! |---|---|
//! | `PUT /v1/videos/{id}/detections` | JSON Lines or `{"detections": [...]}`: replaces the video's detections at once (checked first: a bad one refuses the whole upload, naming it, and a blank body is refused; boxes clipped to the frame, and counted) |
//! | `GET /v1/videos/{id}/detections?from_frame&to_frame&trace_id&identity&kind&after&limit` | a page of them, `next` when there are more |
//! | `GET /api/v1/file/{id}/trace/{t}/representative-face` | seed 002: the trace's top 10 by area × confidence, the least blurry of them |
//! | `GET /api/v1/file/{id}/trace/{t}/thumbnail` | that face, 320×320 JPEG, `Cache-Control: public, max-age=86400` |
//! | `GET /api/v1/file/{id}/stranger/{s}/representative-face`, `/thumbnail` | the same for a trace without an identity (`stranger_id` = its trace id) |
//! | `GET /api/v1/file/{id}/identities/{a}/co-occur-with/{b}` | first frame with both, how many frames, each one's representative face |
//! | `GET /api/v1/file/{id}/representative-frame` | the fallback chain's frame in the first half, with the faces on it |
//! | `GET /api/v1/file/{id}/thumbnail` without `frame` | that frame as a JPEG (`x`, `y`, `w`, `h` crop it: all four or none) |
//! | `GET /api/v1/file/{id}/chunks` | the video's chunks: fixed windows of `chunk_seconds` ([`CHUNK_SECONDS`] by default), `chunk_1` first |
//! | `GET /api/v1/file/{id}/chunk/{chunk_id}/thumbnail` | the chain inside the chunk, else its middle frame, as a JPEG |
//! | `GET /api/v1/file/{id}/trace/{t}/video`, `/video/bbox` | overlay videos: boxes (and labels) drawn, re-encoded as sent |
//! | `GET /api/v1/media-proxy?url=` | an external image or video through the outbound guard (system key) |
//!
//! Seed routes answer in the seed's shape (`success`, `file_uuid`, `frame_number`,
//! `timestamp_secs` = frame / fps); errors are problem details with `"success": false`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use frameflow_runtime::Runtime;
use frameflow_sources::OutboundGuard;
use frameflow_store::{StoreError, TenantStore};
use serde_json::{json, Value};

use crate::db::{DetectionsDb, Filter, Row, Writer};
use crate::model::{for_each, Frame, UploadError};
use crate::select::{face_thumbnail, representative_face, representative_frame};

/// An analytics route's answer.
#[derive(Debug)]
pub enum Reply {
    Json(u16, Value),
    /// A JPEG or proxied media, with its content type; `cache` for a day when true.
    Bytes { content_type: String, bytes: Vec<u8>, cache: bool },
    /// A problem: status, stable code, message (seed routes add `success: false`).
    Problem { status: u16, code: &'static str, detail: String, seed: bool },
    /// A body made while it is sent: chunks, or an error that must break the response
    /// (a client must not take a cut-short video for a whole one).
    Stream { content_type: String, body: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, String>> },
}

/// A `Write` into a [`Reply::Stream`]'s channel: it blocks while the client is behind (a
/// slow reader slows the encoder) and fails once the client has left (which stops it).
struct ChannelWriter(tokio::sync::mpsc::Sender<Result<bytes::Bytes, String>>);

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(bytes::Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client left"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn problem(status: u16, code: &'static str, detail: impl Into<String>) -> Reply {
    Reply::Problem { status, code, detail: detail.into(), seed: false }
}

/// The paths [`Analytics::route`] answers.
pub fn owns(path: &str) -> bool {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    matches!(parts.as_slice(), ["v1", "videos", _, "detections"])
        || matches!(parts.as_slice(), ["api", "v1", "file", _, "trace" | "stranger" | "identities" | "chunk", ..])
        || matches!(parts.as_slice(), ["api", "v1", "file", _, "representative-frame" | "chunks"])
        || matches!(parts.as_slice(), ["api", "v1", "file", _, "video", "bbox"])
        || path == "/api/v1/media-proxy"
}

/// [`owns`], and seed 002's `/api/v1/file/{id}/thumbnail` without `frame` (the
/// representative frame; with `frame` it is the frames component's exact frame).
pub fn owns_request(path: &str, query: &str) -> bool {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let auto_thumbnail = matches!(parts.as_slice(), ["api", "v1", "file", _, "thumbnail"]) && query_param(query, "frame").is_none();
    owns(path) || auto_thumbnail
}

/// The default length of a chunk (`/chunk/{chunk_id}/thumbnail`), seconds (`chunk_seconds`).
pub const CHUNK_SECONDS: f64 = 60.0;

pub struct Analytics {
    runtime: Runtime,
    cache_dir: PathBuf,
    guard: OutboundGuard,
    proxy: reqwest::Client,
    /// The length of a chunk, seconds.
    chunk_seconds: f64,
}

/// Where a video's detections live in its tenant's store.
pub fn detections_key(id: &str) -> String {
    format!("videos/{id}/detections.sqlite")
}

fn valid_video_id(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=').map(|v| v.replace("%20", " ")))
}

/// What a stored video is: its key and media facts.
struct StoredVideo {
    video: Arc<frameflow_runtime::PooledVideo>,
}

impl StoredVideo {
    fn frames(&self) -> u64 {
        self.video.index().frames.len() as u64
    }

    fn fps(&self) -> f64 {
        let fps = self.video.info().avg_fps;
        if fps > 0.0 { fps } else { 25.0 }
    }
}

impl Analytics {
    /// `chunk_seconds`: the length of the fixed windows `/chunks` cuts a video into.
    pub fn new(runtime: Runtime, cache_dir: &Path, guard: OutboundGuard, chunk_seconds: f64) -> Analytics {
        let proxy = guard.http_client(crate::proxy::PROXY_TIMEOUT);
        let chunk_seconds = if chunk_seconds.is_finite() && chunk_seconds > 0.0 { chunk_seconds } else { CHUNK_SECONDS };
        Analytics { runtime, cache_dir: cache_dir.join("analytics"), guard, proxy, chunk_seconds }
    }

    async fn video(&self, tenant: &TenantStore, id: &str) -> Result<StoredVideo, Reply> {
        let missing = || problem(404, "not_found", format!("no video with id '{id}'"));
        if !valid_video_id(id) {
            return Err(missing());
        }
        let record = match tenant.get(&format!("videos/{id}/video.json")).await {
            Ok(b) => b,
            Err(StoreError::NotFound(_)) => return Err(missing()),
            Err(e) => return Err(problem(503, "store_unavailable", e.to_string())),
        };
        let key = serde_json::from_slice::<Value>(&record).ok().and_then(|v| v["key"].as_str().map(str::to_string)).ok_or_else(missing)?;
        let video = self
            .runtime
            .open_stored_video(tenant, &key)
            .await
            .map_err(|e| problem(422, "unreadable_video", format!("video '{id}' cannot be read: {e}")))?;
        Ok(StoredVideo { video })
    }

    /// The video's detections file, copied locally once per version; `None` when none
    /// were uploaded.
    async fn db_path(&self, tenant: &TenantStore, id: &str) -> Result<Option<PathBuf>, Reply> {
        let key = detections_key(id);
        let meta = match tenant.head(&key).await {
            Ok(m) => m,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(problem(503, "store_unavailable", e.to_string())),
        };
        let version = meta.etag.unwrap_or_else(|| format!("{}-{}", meta.size, meta.last_modified_ms)).replace(['"', '/'], "");
        let dir = self.cache_dir.join(tenant.tenant_name());
        let path = dir.join(format!("{id}-{version}.sqlite"));
        if !path.exists() {
            let tmp = dir.join(format!("{id}-{version}.{}-{}.tmp", std::process::id(), rand_suffix()));
            tokio::fs::create_dir_all(&dir).await.map_err(|e| problem(500, "internal", format!("the detections cannot be cached: {e}")))?;
            tenant.get_file(&key, meta.size, &tmp).await.map_err(|e| problem(503, "store_unavailable", e.to_string()))?;
            tokio::fs::rename(&tmp, &path).await.map_err(|e| problem(500, "internal", format!("the detections cannot be cached: {e}")))?;
        }
        Ok(Some(path))
    }

    /// Runs `work` on the video's detections (blocking, off the reactor); 404 when there are none.
    async fn with_db<T: Send + 'static>(&self, tenant: &TenantStore, id: &str, work: impl FnOnce(&DetectionsDb) -> Result<T, Reply> + Send + 'static) -> Result<T, Reply> {
        let Some(path) = self.db_path(tenant, id).await? else {
            return Err(problem(404, "no_detections", format!("video '{id}' has no detections: PUT /v1/videos/{id}/detections first")));
        };
        tokio::task::spawn_blocking(move || {
            let db = DetectionsDb::open(&path).map_err(|e| problem(500, "internal", format!("the detections cannot be read: {e}")))?;
            work(&db)
        })
        .await
        .map_err(|e| problem(500, "internal", e.to_string()))?
    }

    /// `PUT /v1/videos/{id}/detections`: `body` read (blocking) and checked as it goes into a
    /// new SQLite file, which then replaces the stored one in one write.
    pub async fn put_detections(&self, tenant: &TenantStore, id: &str, body: Box<dyn std::io::Read + Send>) -> Reply {
        let video = match self.video(tenant, id).await {
            Ok(v) => v,
            Err(r) => return r,
        };
        let info = video.video.info();
        let frame = Frame { frames: video.frames(), width: info.width as f64, height: info.height as f64 };
        let scratch = self.cache_dir.join("uploads");
        let _ = tokio::fs::create_dir_all(&scratch).await;
        let file = scratch.join(format!("{id}-{}-{}.sqlite", std::process::id(), rand_suffix()));
        let path = file.clone();
        let built = tokio::task::spawn_blocking(move || -> Result<(u64, u64, u64, u64), UploadError> {
            let mut writer = Writer::create(&path).map_err(|e| UploadError::Internal(e.to_string()))?;
            let mut at = 0;
            let mut traces = std::collections::HashSet::new();
            let mut identities = std::collections::HashSet::new();
            for_each(std::io::BufReader::with_capacity(1 << 16, body), |d| {
                at += 1;
                let (d, clipped) = d.check(at, frame)?;
                traces.insert(d.trace_id);
                if let Some(i) = &d.identity {
                    if identities.len() < 1_000_000 {
                        identities.insert(i.uuid.clone());
                    }
                }
                writer.add(&d, clipped).map_err(|e| UploadError::Internal(e.to_string()))
            })?;
            let (rows, clipped) = (writer.rows, writer.clipped);
            writer.finish().map_err(|e| UploadError::Internal(e.to_string()))?;
            Ok((rows, clipped, traces.len() as u64, identities.len() as u64))
        })
        .await;
        let outcome = match built {
            Ok(Ok(stats)) => stats,
            Ok(Err(e)) => {
                let _ = tokio::fs::remove_file(&file).await;
                return match e {
                    UploadError::Internal(m) => problem(500, "internal", m),
                    other => problem(400, "bad_detections", other.to_string()),
                };
            }
            Err(e) => return problem(500, "internal", e.to_string()),
        };
        // One write replaces the old set: a reader sees the old detections or the new ones.
        let stored = tenant.put_file(&detections_key(id), &file).await;
        let _ = tokio::fs::remove_file(&file).await;
        if let Err(e) = stored {
            return problem(503, "store_unavailable", format!("the detections were not stored: {e}"));
        }
        let (rows, clipped, traces, identities) = outcome;
        Reply::Json(200, json!({"video": id, "detections": rows, "clipped": clipped, "traces": traces, "identities": identities}))
    }

    async fn get_detections(&self, tenant: &TenantStore, id: &str, query: &str) -> Result<Reply, Reply> {
        self.video(tenant, id).await?;
        let num = |name: &str| -> Result<Option<u64>, Reply> {
            query_param(query, name).map(|v| v.parse::<u64>().map_err(|_| problem(400, "bad_request", format!("{name}: '{v}' is not a number")))).transpose()
        };
        let filter = Filter {
            from_frame: num("from_frame")?,
            to_frame: num("to_frame")?,
            trace_id: query_param(query, "trace_id").map(|v| v.parse::<i64>().map_err(|_| problem(400, "bad_request", format!("trace_id: '{v}' is not a number")))).transpose()?,
            identity: query_param(query, "identity"),
            kind: query_param(query, "kind"),
        };
        let after = num("after")?.unwrap_or(0);
        let limit = num("limit")?.unwrap_or(1000);
        if !(1..=10_000).contains(&limit) {
            return Err(problem(400, "bad_request", "limit is 1..=10000"));
        }
        let rows = self.with_db(tenant, id, move |db| db.page(&filter, after, limit + 1).map_err(|e| problem(500, "internal", e.to_string()))).await?;
        let more = rows.len() as u64 > limit;
        let rows: Vec<Value> = rows.into_iter().take(limit as usize).map(|r| detection_json(&r)).collect();
        let next = more.then_some(after + limit);
        Ok(Reply::Json(200, json!({"video": id, "detections": rows, "next": next})))
    }

    async fn face(&self, tenant: &TenantStore, id: &str, trace: &str, stranger: bool, thumbnail: bool) -> Result<Reply, Reply> {
        let word = if stranger { "stranger" } else { "trace" };
        let trace_id: i64 = trace.parse().map_err(|_| problem(404, "not_found", format!("no {word} '{trace}'")))?;
        let video = self.video(tenant, id).await?;
        let path = self.db_path(tenant, id).await?.ok_or_else(|| problem(404, "no_detections", format!("video '{id}' has no detections: PUT /v1/videos/{id}/detections first")))?;
        let pooled = video.video.clone();
        // One blocking call: the choice, and the thumbnail from the same open video.
        let (chosen, jpeg) = tokio::task::spawn_blocking(move || {
            let db = DetectionsDb::open(&path).map_err(|e| e.to_string())?;
            pooled
                .with_video(None, |v| {
                    let chosen = representative_face(&db, v, trace_id);
                    let jpeg = match (&chosen, thumbnail) {
                        (Ok(Some(c)), true) => Some(face_thumbnail(v, &c.row)),
                        _ => None,
                    };
                    Ok((chosen, jpeg))
                })
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| problem(500, "internal", e.to_string()))?
        .map_err(|e| problem(500, "internal", e))?;
        let chosen = chosen.map_err(|e| problem(500, "internal", e))?.ok_or_else(|| problem(404, "not_found", format!("no {word} {trace_id} in video '{id}'")))?;
        if let (true, Some(identity)) = (stranger, &chosen.row.identity_uuid) {
            return Err(problem(404, "not_found", format!("trace {trace_id} is identified ({identity}): not a stranger")));
        }
        if let Some(jpeg) = jpeg {
            let bytes = jpeg.map_err(|e| problem(500, "internal", e))?;
            return Ok(Reply::Bytes { content_type: "image/jpeg".into(), bytes, cache: true });
        }
        let r = &chosen.row;
        let mut body = json!({
            "success": true,
            "file_uuid": id,
            "face_count": chosen.face_count,
            "representative": {
                "frame_number": r.frame,
                "timestamp_secs": round2(r.frame as f64 / video.fps()),
                "bbox": bbox(r),
                "confidence": r.confidence,
                "quality_score": r.quality,
                "blur_score": if chosen.blur_score.is_finite() { json!(chosen.blur_score) } else { Value::Null },
            },
        });
        body[if stranger { "stranger_id" } else { "trace_id" }] = json!(trace_id);
        Ok(Reply::Json(200, body))
    }

    async fn cooccur(&self, tenant: &TenantStore, id: &str, a: &str, b: &str) -> Result<Reply, Reply> {
        let video = self.video(tenant, id).await?;
        let (ua, ub) = (a.to_string(), b.to_string());
        let found = self
            .with_db(tenant, id, move |db| {
                let e = |e: rusqlite::Error| problem(500, "internal", e.to_string());
                let ia = db.identity(&ua).map_err(e)?.ok_or_else(|| problem(404, "not_found", format!("no identity '{ua}' in this file")))?;
                let ib = db.identity(&ub).map_err(e)?.ok_or_else(|| problem(404, "not_found", format!("no identity '{ub}' in this file")))?;
                let together = db.cooccurrence(&ua, &ub, 0..u64::MAX).map_err(e)?;
                Ok((ia, ib, together))
            })
            .await?;
        let ((name_a, _, trace_a), (name_b, _, trace_b), together) = found;
        let Some((first, frames)) = together else {
            let detail = if a == b { format!("identity '{a}' does not co-occur with itself: name another identity") } else { format!("identities '{a}' and '{b}' never appear together in this file") };
            return Err(problem(404, "never_together", detail));
        };
        let face_a = self.face_summary(tenant, id, trace_a).await?;
        let face_b = self.face_summary(tenant, id, trace_b).await?;
        Ok(Reply::Json(
            200,
            json!({
                "success": true,
                "file_uuid": id,
                "identity_a": {"identity_uuid": a, "name": name_a, "trace_id": trace_a},
                "identity_b": {"identity_uuid": b, "name": name_b, "trace_id": trace_b},
                "first_cooccurrence": {
                    "frame_number": first,
                    "timestamp_secs": round2(first as f64 / video.fps()),
                    "total_cooccurrence_frames": frames,
                    "representative_face_a": face_a,
                    "representative_face_b": face_b,
                },
            }),
        ))
    }

    /// A trace's representative face with its thumbnail URL (co-occurrence answers).
    async fn face_summary(&self, tenant: &TenantStore, id: &str, trace: i64) -> Result<Value, Reply> {
        match self.face(tenant, id, &trace.to_string(), false, false).await? {
            Reply::Json(_, v) => {
                let r = &v["representative"];
                Ok(json!({
                    "frame_number": r["frame_number"],
                    "bbox": r["bbox"],
                    "confidence": r["confidence"],
                    "thumbnail_url": format!("/api/v1/file/{id}/trace/{trace}/thumbnail"),
                }))
            }
            other => Err(other),
        }
    }

    /// The video and its representative frame (404 without faces in its first half).
    async fn chosen_frame(&self, tenant: &TenantStore, id: &str) -> Result<(StoredVideo, crate::select::RepresentativeFrame), Reply> {
        let video = self.video(tenant, id).await?;
        let frames = video.frames();
        let chosen = self
            .with_db(tenant, id, move |db| representative_frame(db, frames).map_err(|e| problem(500, "internal", e)))
            .await?
            .ok_or_else(|| problem(404, "no_faces", format!("video '{id}' has no identified face in its first half")))?;
        Ok((video, chosen))
    }

    async fn representative_frame(&self, tenant: &TenantStore, id: &str) -> Result<Reply, Reply> {
        let (video, chosen) = self.chosen_frame(tenant, id).await?;
        Ok(Reply::Json(
            200,
            json!({
                "success": true,
                "file_uuid": id,
                "frame_number": chosen.frame,
                "timestamp_secs": round2(chosen.frame as f64 / video.fps()),
                "face_quality": chosen.face_quality,
                "selected_by": chosen.reason,
                "main_identities": chosen.main_identities.iter().map(|(uuid, name, count)| json!({"identity_uuid": uuid, "name": name, "face_count": count})).collect::<Vec<_>>(),
                "traces": chosen.traces.iter().map(|r| json!({
                    "trace_id": r.trace_id, "identity_uuid": r.identity_uuid, "name": r.name,
                    "x": r.x.round() as i64, "y": r.y.round() as i64, "width": r.width.round() as i64, "height": r.height.round() as i64,
                    "confidence": r.confidence,
                })).collect::<Vec<_>>(),
            }),
        ))
    }

    /// `/thumbnail` without `frame`: the representative frame as a JPEG (cropped with all of
    /// `x`, `y`, `w`, `h` when given).
    async fn auto_thumbnail(&self, tenant: &TenantStore, id: &str, query: &str) -> Result<Reply, Reply> {
        let crop = match ["x", "y", "w", "h"].map(|k| query_param(query, k)) {
            [None, None, None, None] => None,
            [Some(x), Some(y), Some(w), Some(h)] => {
                let n = |v: &str, k: &str| v.parse::<u32>().map_err(|_| problem(400, "bad_request", format!("{k}: '{v}' is not a pixel count")));
                let crop = frameflow_media::Crop { x: n(&x, "x")?, y: n(&y, "y")?, width: n(&w, "w")?, height: n(&h, "h")? };
                if crop.width == 0 || crop.height == 0 {
                    return Err(problem(400, "bad_request", "w and h must be positive"));
                }
                Some(crop)
            }
            _ => return Err(problem(400, "bad_request", "x, y, w and h go together: all four or none")),
        };
        let (video, chosen) = self.chosen_frame(tenant, id).await?;
        self.frame_jpeg(&video, chosen.frame, crop).await
    }

    async fn frame_jpeg(&self, video: &StoredVideo, frame: u64, crop: Option<frameflow_media::Crop>) -> Result<Reply, Reply> {
        let pooled = video.video.clone();
        let jpeg = tokio::task::spawn_blocking(move || {
            pooled.with_video(None, |v| {
                let options = frameflow_media::RenderOptions { crop, ..frameflow_media::RenderOptions::default() };
                v.frame(frame as usize, &options)?.encode(frameflow_media::ImageFormat::Jpeg, 90)
            })
        })
        .await
        .map_err(|e| problem(500, "internal", e.to_string()))?
        .map_err(|e| problem(400, "bad_request", e.to_string()))?;
        Ok(Reply::Bytes { content_type: "image/jpeg".into(), bytes: jpeg, cache: true })
    }

    /// The video's chunks: fixed windows of `chunk_seconds`, `chunk_1` first.
    fn chunk_ranges(&self, video: &StoredVideo) -> Vec<(String, u64, u64)> {
        let per = ((self.chunk_seconds * video.fps()).round() as u64).max(1);
        let frames = video.frames();
        (0..frames.div_ceil(per)).map(|k| (format!("chunk_{}", k + 1), k * per, ((k + 1) * per).min(frames))).collect()
    }

    async fn chunks(&self, tenant: &TenantStore, id: &str) -> Result<Reply, Reply> {
        let video = self.video(tenant, id).await?;
        let fps = video.fps();
        let chunks: Vec<Value> = self.chunk_ranges(&video)
            .into_iter()
            .map(|(chunk, from, until)| json!({"chunk_id": chunk, "start_frame": from, "end_frame": until - 1, "start_secs": round2(from as f64 / fps), "end_secs": round2(until as f64 / fps)}))
            .collect();
        Ok(Reply::Json(200, json!({"success": true, "file_uuid": id, "chunk_seconds": self.chunk_seconds, "chunks": chunks})))
    }

    /// A chunk's thumbnail: the representative frame's chain inside it, else its middle frame.
    async fn chunk_thumbnail(&self, tenant: &TenantStore, id: &str, chunk: &str) -> Result<Reply, Reply> {
        let video = self.video(tenant, id).await?;
        let Some((_, from, until)) = self.chunk_ranges(&video).into_iter().find(|(c, _, _)| c == chunk) else {
            return Err(problem(404, "not_found", format!("no chunk '{chunk}' in video '{id}' (GET /api/v1/file/{id}/chunks lists them)")));
        };
        let chosen = match self.db_path(tenant, id).await? {
            Some(path) => tokio::task::spawn_blocking(move || {
                let db = DetectionsDb::open(&path).map_err(|e| e.to_string())?;
                crate::select::representative_frame_in(&db, from, until)
            })
            .await
            .map_err(|e| problem(500, "internal", e.to_string()))?
            .map_err(|e| problem(500, "internal", e))?
            .map(|f| f.frame),
            None => None,
        };
        self.frame_jpeg(&video, chosen.unwrap_or((from + until) / 2), None).await
    }

    /// Seed 002's overlay videos, re-encoded as they are sent (H.264 + AAC in MPEG-TS, as
    /// clips are): `/trace/{t}/video` is the trace's span with its box drawn;
    /// `/video/bbox` every box with its label (`start_frame`/`end_frame` pick a span,
    /// default the whole video). `mode=debug` burns in each frame's index, `audio=off` drops
    /// the sound. At most the host's `max_clip_frames` frames (413 beyond).
    async fn overlay_video(&self, tenant: &TenantStore, id: &str, trace: Option<i64>, query: &str) -> Result<Reply, Reply> {
        let video = self.video(tenant, id).await?;
        let path = self.db_path(tenant, id).await?.ok_or_else(|| problem(404, "no_detections", format!("video '{id}' has no detections")))?;
        let frames = video.frames();
        let (first, last) = match trace {
            Some(t) => {
                let db_path = path.clone();
                let span = tokio::task::spawn_blocking(move || DetectionsDb::open(&db_path).and_then(|db| db.trace_span(t)))
                    .await
                    .map_err(|e| problem(500, "internal", e.to_string()))?
                    .map_err(|e| problem(500, "internal", e.to_string()))?;
                span.ok_or_else(|| problem(404, "not_found", format!("no trace {t} in video '{id}'")))?
            }
            None => {
                let n = |k: &str| query_param(query, k).map(|v| v.parse::<u64>().map_err(|_| problem(400, "bad_request", format!("{k}: '{v}' is not a frame index")))).transpose();
                (n("start_frame")?.unwrap_or(0), n("end_frame")?.unwrap_or(frames.saturating_sub(1)))
            }
        };
        if first > last || last >= frames {
            return Err(problem(400, "bad_request", format!("frames {first}..={last} are not a span of this video (0..={})", frames.saturating_sub(1))));
        }
        let limit = self.runtime.limits().max_clip_frames;
        if last - first + 1 > limit {
            return Err(problem(413, "too_large", format!("{} frames; an overlay video holds at most {limit}: pick a span with start_frame and end_frame", last - first + 1)));
        }
        let spec = frameflow_delivery::ClipSpec {
            first: first as usize,
            last: last as usize,
            format: frameflow_delivery::ClipFormat::Ts,
            fps: None,
            width: None,
            height: None,
            audio: query_param(query, "audio").as_deref() != Some("off"),
            burn_in: query_param(query, "mode").as_deref() == Some("debug"),
        };
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let pooled = video.video.clone();
        let failed = tx.clone();
        let vid = id.to_string();
        tokio::task::spawn_blocking(move || {
            let outcome = (|| -> Result<(), String> {
                let db = DetectionsDb::open(&path).map_err(|e| e.to_string())?;
                pooled
                    .with_video(None, |v| {
                        let (source_w, source_h) = (v.info().width as f64, v.info().height as f64);
                        let mut draw = |frame: &frameflow_media::FrameId, rgb: &mut [u8], w: u32, h: u32| {
                            let (sx, sy) = (w as f64 / source_w, h as f64 / source_h);
                            for r in db.at(frame.index as u64).unwrap_or_default().into_iter().filter(|r| trace.is_none_or(|t| r.trace_id == t)) {
                                let rect = frameflow_vision::Rect {
                                    x: (r.x * sx).round() as i32,
                                    y: (r.y * sy).round() as i32,
                                    width: (r.width * sx).round() as i32,
                                    height: (r.height * sy).round() as i32,
                                };
                                let color = if r.identity_uuid.is_some() { [0, 255, 0] } else { [255, 200, 0] };
                                frameflow_vision::draw_box(rgb, w, h, rect, color, 2);
                                let label = format!("{} #{}", r.name.as_deref().or(r.identity_uuid.as_deref()).unwrap_or("stranger"), r.trace_id);
                                let top = if rect.y >= 14 { rect.y - 14 } else { rect.y + rect.height };
                                frameflow_delivery::burn_in_at(rgb, w, h, rect.x.max(0) as u32, top.max(0) as u32, &label.to_uppercase());
                            }
                        };
                        let cancel = std::sync::atomic::AtomicBool::new(false);
                        frameflow_delivery::encode_clip_with(v, &spec, ChannelWriter(tx), &cancel, Some(&mut draw))
                            .map(|_| ())
                            .map_err(|e| frameflow_media::MediaError::Consumer(Box::new(e)))
                    })
                    .map_err(|e| e.to_string())
            })();
            if let Err(why) = outcome {
                tracing::warn!(video = %vid, "an overlay video stopped: {why}");
                let _ = failed.blocking_send(Err(why));
            }
        });
        Ok(Reply::Stream { content_type: "video/mp2t".into(), body: rx })
    }

    /// Answers an analytics route (see [`owns`]); `system` says the caller holds the system
    /// key (or no credentials are in use), which the media proxy needs.
    pub async fn route(&self, tenant: &TenantStore, method: &str, path: &str, query: &str, system: bool) -> Reply {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let seed = path.starts_with("/api/");
        let reply = match (method, parts.as_slice()) {
            ("GET", ["v1", "videos", id, "detections"]) => self.get_detections(tenant, id, query).await,
            ("GET", ["api", "v1", "file", id, "trace", t, "representative-face"]) => self.face(tenant, id, t, false, false).await,
            ("GET", ["api", "v1", "file", id, "trace", t, "thumbnail"]) => self.face(tenant, id, t, false, true).await,
            ("GET", ["api", "v1", "file", id, "stranger", s, "representative-face"]) => self.face(tenant, id, s, true, false).await,
            ("GET", ["api", "v1", "file", id, "stranger", s, "thumbnail"]) => self.face(tenant, id, s, true, true).await,
            ("GET", ["api", "v1", "file", id, "identities", a, "co-occur-with", b]) => self.cooccur(tenant, id, a, b).await,
            ("GET", ["api", "v1", "file", id, "representative-frame"]) => self.representative_frame(tenant, id).await,
            ("GET", ["api", "v1", "file", id, "thumbnail"]) => self.auto_thumbnail(tenant, id, query).await,
            ("GET", ["api", "v1", "file", id, "chunks"]) => self.chunks(tenant, id).await,
            ("GET", ["api", "v1", "file", id, "trace", t, "video"]) => match t.parse::<i64>() {
                Ok(trace) => self.overlay_video(tenant, id, Some(trace), query).await,
                Err(_) => Err(problem(404, "not_found", format!("no trace '{t}'"))),
            },
            ("GET", ["api", "v1", "file", id, "video", "bbox"]) => self.overlay_video(tenant, id, None, query).await,
            ("GET", ["api", "v1", "file", id, "chunk", chunk, "thumbnail"]) => self.chunk_thumbnail(tenant, id, chunk).await,
            ("GET", ["api", "v1", "media-proxy"]) if !system => Err(problem(403, "forbidden", "the media proxy needs the system key")),
            ("GET", ["api", "v1", "media-proxy"]) => match query_param(query, "url").map(|u| percent_decode(&u)) {
                None => Err(problem(400, "bad_request", "url is needed")),
                Some(url) => Ok(match crate::proxy::fetch(&self.guard, &self.proxy, &url).await {
                    crate::proxy::Proxied::Media { content_type, bytes } => Reply::Bytes { content_type, bytes, cache: false },
                    crate::proxy::Proxied::Refused(status, code, detail) => problem(status, code, detail),
                }),
            },
            _ => Err(problem(405, "method_not_allowed", format!("{method} is not allowed on {path}"))),
        };
        match reply.unwrap_or_else(|r| r) {
            Reply::Problem { status, code, detail, .. } => Reply::Problem { status, code, detail, seed },
            other => other,
        }
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn bbox(r: &Row) -> Value {
    json!({"x": r.x.round() as i64, "y": r.y.round() as i64, "width": r.width.round() as i64, "height": r.height.round() as i64})
}

fn detection_json(r: &Row) -> Value {
    json!({
        "frame": r.frame, "trace_id": r.trace_id, "kind": r.kind,
        "bbox": {"x": r.x, "y": r.y, "width": r.width, "height": r.height},
        "confidence": r.confidence,
        "identity": r.identity_uuid.as_ref().map(|u| json!({"uuid": u, "name": r.name, "source": r.source})),
        "mutual_gaze": r.mutual_gaze,
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}
