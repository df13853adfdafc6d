//! Seed 003's video connector, as written: resources (a video source with `realtime`) and
//! streams (an analyzer over a resource, its processed video written out), answered in
//! DeepDetect's shape (`{"status": {"code", "msg"}, "head", "body"}`).
//!
//! | route | does |
//! |---|---|
//! | `PUT /resources/{id}` | `{"type": "video", "source", "realtime"}`: `source` is a stored video's id (or `video:{id}`), a path under the media root (or `file:{path}`), an `http(s)://` or `rtsp://` URL; checked (the outbound guard) and kept |
//! | `GET /resources/{id}` | the resource |
//! | `DELETE /resources/{id}` | removed (streams already started keep going) |
//! | `PUT /stream/{name}` | `{"predict": {"service": analyzer, "parameters": {...}, "data": ["resource id"]}, "output": {"type": "file", "video_out": store key}}`: a task over the resource; when the source ends the processed video (H.264 MP4, every tracked box drawn, events in red with their labels) is stored at `video_out` |
//! | `GET /stream/{name}` | `status`, `head {method, job, status, time}`, `body {processed_frames, elapsed_ms, fps, remaining_time_ms, video {width, height, fps}}` |
//! | `DELETE /stream/{name}` | stopped and removed |
//!
//! A stream is a task (`tasks/{name}/` in the store; `/task/list` shows it too). The
//! seed's own stream example has no comma between `predict` and `output`; such a body is
//! read as the seed means it.

use bytes::Bytes;
use frameflow_store::{StoreError, TenantStore, WriteMode};
use serde_json::{json, Value};

use crate::api::TaskReply;
use crate::manager::{TaskError, TaskManager, TaskView};
use crate::spec::{valid_task_id, AlgorithmSpec, RuleSpec, SourceSpec, TaskSpec};

pub fn owns(path: &str) -> bool {
    path.starts_with("/resources/") || path.starts_with("/stream/")
}

fn resource_key(id: &str) -> String {
    format!("resources/{id}.json")
}

fn reply(code: u16, msg: impl Into<String>, extra: Value) -> TaskReply {
    let mut v = json!({"status": {"code": code, "msg": msg.into()}});
    if let (Some(fields), Some(more)) = (v.as_object_mut(), extra.as_object()) {
        fields.extend(more.clone());
    }
    TaskReply::Json(code, v)
}

fn failure(e: TaskError) -> TaskReply {
    reply(e.status(), e.to_string(), json!({}))
}

fn invalid(field: &str, message: impl Into<String>) -> TaskError {
    TaskError::Invalid { field: Some(field.to_string()), message: message.into() }
}

/// A resource's `source` as a task address.
fn address_of(source: &str) -> Result<String, TaskError> {
    let s = source.trim();
    let url = ["rtsp://", "rtsps://", "http://", "https://", "video:", "file:"].iter().any(|p| s.starts_with(p));
    if url {
        return Ok(s.to_string());
    }
    if s.len() == 16 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Ok(format!("video:{s}"));
    }
    if s.contains('!') {
        return Err(invalid("source", "GStreamer pipelines are not sources frameflow runs: give a stored video, a file, or a stream URL"));
    }
    if s.is_empty() || s.starts_with('/') || s.contains("://") {
        return Err(invalid("source", format!("'{s}' is not a source: files are read from the media root (a path relative to it), or give a stored video's id or an http(s)/rtsp URL")));
    }
    Ok(format!("file:{s}"))
}

/// The body as JSON; the seed's stream example (no comma between two members on
/// separate lines) is read as meant.
fn lenient_json(body: &[u8]) -> Result<Value, TaskError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => Ok(v),
        Err(first) => {
            let text = String::from_utf8_lossy(body);
            let mut fixed = String::with_capacity(text.len() + 8);
            let mut last_significant = ' ';
            for line in text.lines() {
                let t = line.trim_start();
                if t.starts_with('"') && matches!(last_significant, '}' | ']') {
                    fixed.push(',');
                }
                fixed.push_str(line);
                fixed.push('\n');
                if let Some(c) = line.trim_end().chars().last() {
                    last_significant = c;
                }
            }
            serde_json::from_str(&fixed).map_err(|_| TaskError::Invalid { field: None, message: format!("the body is not JSON: {first}") })
        }
    }
}

async fn put_resource(tenant: &TenantStore, manager: &TaskManager, id: &str, body: &[u8]) -> Result<TaskReply, TaskError> {
    if !valid_task_id(id) {
        return Err(invalid("id", format!("'{id}' is not a resource id: 1-64 of letters, digits, '-', '_' and '.'")));
    }
    let v = lenient_json(body)?;
    if v.get("type").and_then(Value::as_str).unwrap_or("video") != "video" {
        return Err(invalid("type", "only `video` resources are served"));
    }
    let source = v.get("source").and_then(Value::as_str).ok_or_else(|| invalid("source", "a source is needed"))?;
    let address = address_of(source)?;
    let realtime = v.get("realtime").and_then(Value::as_bool).unwrap_or(false);
    // The same check a task gets: the guard, the media root, the stored video.
    let probe = TaskSpec {
        id: id.into(),
        src_id: id.into(),
        source: SourceSpec { address: address.clone(), transport: "tcp".into(), realtime, sample_interval: 1 },
        algorithms: Vec::new(),
        report_urls: Vec::new(),
        rule: RuleSpec::default(),
        created_ms: 0,
        kind: "resource".into(),
        video_out: None,
        detections_of: None,
    };
    manager.check_source(tenant, &probe).await?;
    let record = json!({"id": id, "type": "video", "source": source, "address": address, "realtime": realtime});
    let existed = tenant.head(&resource_key(id)).await.is_ok();
    tenant.put(&resource_key(id), Bytes::from(record.to_string()), WriteMode::Overwrite).await?;
    Ok(if existed { reply(200, "OK", json!({"body": record})) } else { reply(201, "Created", json!({"body": record})) })
}

async fn resource(tenant: &TenantStore, id: &str) -> Result<Value, TaskError> {
    let missing = || TaskError::NotFound(format!("no resource '{id}'"));
    if !valid_task_id(id) {
        return Err(missing());
    }
    match tenant.get(&resource_key(id)).await {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|_| missing()),
        Err(StoreError::NotFound(_)) => Err(missing()),
        Err(e) => Err(e.into()),
    }
}

async fn put_stream(tenant: &TenantStore, manager: &TaskManager, name: &str, body: &[u8]) -> Result<TaskReply, TaskError> {
    let v = lenient_json(body)?;
    let predict = v.get("predict").ok_or_else(|| invalid("predict", "predict is needed"))?;
    let service = predict.get("service").and_then(Value::as_str).ok_or_else(|| invalid("predict.service", "predict.service (an analyzer) is needed"))?;
    let data = predict.get("data").and_then(Value::as_array).ok_or_else(|| invalid("predict.data", "predict.data lists one resource"))?;
    let [first] = data.as_slice() else { return Err(invalid("predict.data", "a stream reads exactly one resource")) };
    let id = first.as_str().ok_or_else(|| invalid("predict.data", "a resource id is a string"))?;
    let id = id.strip_prefix("resource:").unwrap_or(id);
    let res = resource(tenant, id).await.map_err(|e| match e {
        TaskError::NotFound(m) => invalid("predict.data", m),
        e => e,
    })?;
    let output = v.get("output");
    let video_out = match output {
        None => None,
        Some(o) => {
            let kind = o.get("type").and_then(Value::as_str).unwrap_or("file");
            if kind != "file" {
                return Err(invalid("output.type", format!("'{kind}' outputs are not written; `file` (a store key) is")));
            }
            Some(o.get("video_out").and_then(Value::as_str).ok_or_else(|| invalid("output.video_out", "a store key is needed"))?.to_string())
        }
    };
    let spec = TaskSpec {
        id: name.to_string(),
        src_id: id.to_string(),
        source: SourceSpec {
            address: res["address"].as_str().unwrap_or_default().to_string(),
            transport: "tcp".into(),
            realtime: res["realtime"].as_bool().unwrap_or(false),
            sample_interval: 1,
        },
        algorithms: vec![AlgorithmSpec {
            type_code: None,
            analyzer: service.to_string(),
            params: predict.get("parameters").cloned().unwrap_or(json!({})),
            detect_interval: 1,
            min_size: 0,
            max_size: i32::MAX,
        }],
        report_urls: Vec::new(),
        rule: RuleSpec::default(),
        created_ms: 0,
        kind: "stream".into(),
        video_out,
        detections_of: None,
    };
    let view = manager.create(tenant, spec).await?;
    Ok(reply(201, "Created", stream_view(&view)))
}

/// `GET /stream/{name}`'s `head` and `body`.
fn stream_view(view: &TaskView) -> Value {
    let s = &view.status;
    let status = match s.state.as_str() {
        "failed" => "error",
        other => other,
    };
    let source = s.source.as_ref();
    let remaining = match (source.and_then(|f| f.frame_count), s.fps > 0.0) {
        (Some(total), true) => Some((total.saturating_sub(s.processed_frames) as f64 / s.fps * 1000.0) as u64),
        _ => None,
    };
    json!({
        "head": {"method": "/predict", "job": 1, "status": status, "time": s.elapsed_ms as f64 / 1000.0, "reason": s.reason},
        "body": {
            "processed_frames": s.processed_frames,
            "elapsed_ms": s.elapsed_ms,
            "fps": s.fps,
            "remaining_time_ms": remaining,
            "skipped_frames": s.skipped_frames,
            "video": source.map(|f| json!({"width": f.width, "height": f.height, "fps": f.fps})),
            "video_out": view.spec.video_out,
        },
    })
}

pub async fn route(manager: &TaskManager, tenant: &TenantStore, method: &str, path: &str, body: &[u8]) -> Option<TaskReply> {
    if !owns(path) {
        return None;
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let done = |r: Result<TaskReply, TaskError>| r.unwrap_or_else(failure);
    Some(match (method, segments.as_slice()) {
        ("PUT", ["resources", id]) => done(put_resource(tenant, manager, id, body).await),
        ("GET", ["resources", id]) => done(resource(tenant, id).await.map(|r| reply(200, "OK", json!({"body": r})))),
        ("DELETE", ["resources", id]) => done(
            async {
                resource(tenant, id).await?;
                tenant.delete(&resource_key(id)).await?;
                Ok(reply(200, "OK", json!({})))
            }
            .await,
        ),
        ("PUT", ["stream", name]) => done(put_stream(tenant, manager, name, body).await),
        ("GET", ["stream", name]) => done(manager.get(tenant, name).await.map(|view| reply(200, "OK", stream_view(&view)))),
        ("DELETE", ["stream", name]) => done(manager.delete(tenant, name).await.map(|()| reply(200, "OK", json!({})))),
        _ => reply(405, format!("{method} is not allowed on {path}"), json!({})),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_stream_example_reads_as_meant() {
        let body = br#"{
   "predict": {
       "service":"ganserv",
       "data":["file_video"]
   }
   "output": {
       "type": "file",
       "video_out": "out/video.mp4"
    }
}"#;
        let v = lenient_json(body).unwrap();
        assert_eq!(v["output"]["video_out"], "out/video.mp4");
        assert!(lenient_json(b"{not json").is_err());
        assert_eq!(address_of("abcdef0123456789").unwrap(), "video:abcdef0123456789");
        assert_eq!(address_of("clips/a.mp4").unwrap(), "file:clips/a.mp4");
        assert!(address_of("/opt/platform/data/video.mp4").is_err());
        assert!(address_of("appsrc ! queue ! udpsink").is_err());
        assert_eq!(address_of("rtsp://cam/1").unwrap(), "rtsp://cam/1");
    }
}
