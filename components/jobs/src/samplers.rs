//! The sampler routes: a tenant's own samplers uploaded, listed, tried and removed through
//! the host's `frameflow:components/uploads` (which checks every upload the same way) and
//! `frameflow:sampler/samplers` (which runs them).
//!
//! | route | does |
//! |---|---|
//! | `GET /v1/samplers` | built-in and uploaded samplers: name, builtin, size, sha256, uploaded_ms |
//! | `GET /v1/samplers/{name}` | one of them |
//! | `PUT /v1/samplers/{name}` | upload a component (`application/wasm`): 201 new, 200 replaced |
//! | `DELETE /v1/samplers/{name}` | remove an upload (jobs already planned keep their plan) |
//! | `POST /v1/samplers/{name}/plan` | dry run: `{"video", "params", "seed"}` → the clips |

use frameflow_guest::bindings::frameflow::components::uploads::{self, ComponentInfo, Kind, UploadError};
use frameflow_guest::bindings::frameflow::media::video::Video;
use frameflow_guest::bindings::frameflow::sampler::samplers;
use frameflow_guest::{ApiError, ApiResult, Reply};
use frameflow_selector::FrameSelector;
use serde_json::{json, Value};

/// Largest sampler body read (the host refuses anything over its own limit, 16 MiB).
pub const MAX_UPLOAD: usize = 16 << 20;

fn describe(info: &ComponentInfo) -> Value {
    json!({
        "name": info.name,
        "builtin": info.builtin,
        "size": info.size,
        "sha256": (!info.sha256.is_empty()).then_some(&info.sha256),
        "uploaded_ms": (info.uploaded_ms > 0).then_some(info.uploaded_ms),
    })
}

/// The HTTP form of an upload refusal: what to fix, with a status that says whose fault.
fn refusal(e: UploadError) -> ApiError {
    match e {
        UploadError::BadName(m) => ApiError::new(400, "bad_name", m),
        UploadError::TooLarge(limit) => ApiError::new(413, "too_large", format!("a sampler is at most {limit} bytes")),
        UploadError::NotAComponent(m) => ApiError::new(400, "not_a_component", m),
        UploadError::WrongWorld(m) => ApiError::new(422, "wrong_world", m),
        UploadError::ForbiddenImports(imports) => ApiError::new(
            422,
            "forbidden_imports",
            format!("a sampler must be pure (no clocks, randomness, files, sockets or host calls); it imports {}", imports.join(", ")),
        ),
        UploadError::DoesNotCompile(m) => ApiError::new(422, "does_not_compile", m),
        UploadError::Builtin(m) => ApiError::new(409, "builtin", m),
        UploadError::Store(e) => e.into(),
    }
}

fn found(name: &str) -> ApiResult<ComponentInfo> {
    uploads::describe(Kind::Sampler, name).map_err(refusal)?.ok_or_else(|| ApiError::not_found(format!("no sampler '{name}'")))
}

pub fn list() -> ApiResult<Reply> {
    let all = uploads::installed(Kind::Sampler).map_err(refusal)?;
    Ok(Reply::json(200, &json!({"samplers": all.iter().map(describe).collect::<Vec<_>>()})))
}

pub fn get(name: &str) -> ApiResult<Reply> {
    Ok(Reply::json(200, &describe(&found(name)?)))
}

/// `PUT /v1/samplers/{name}`: `content_type` must say WebAssembly (or bytes).
pub fn put(name: &str, content_type: Option<&str>, body: Vec<u8>) -> ApiResult<Reply> {
    let media_type = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    if !matches!(media_type.as_deref(), None | Some("application/wasm") | Some("application/octet-stream")) {
        return Err(ApiError::new(415, "unsupported_media_type", "upload the component as application/wasm"));
    }
    if body.is_empty() {
        return Err(ApiError::new(400, "not_a_component", "the body is empty: PUT the component's bytes"));
    }
    let existed = uploads::describe(Kind::Sampler, name).map_err(refusal)?.is_some_and(|i| !i.builtin);
    let info = uploads::install(Kind::Sampler, name, &body).map_err(refusal)?;
    let mut reply = Reply::json(if existed { 200 } else { 201 }, &describe(&info));
    reply.headers.push(("location".into(), format!("/v1/samplers/{name}")));
    Ok(reply)
}

pub fn delete(name: &str) -> ApiResult<Reply> {
    if uploads::remove(Kind::Sampler, name).map_err(refusal)? {
        Ok(Reply::json(200, &json!({"deleted": name})))
    } else {
        Err(ApiError::not_found(format!("no uploaded sampler '{name}'")))
    }
}

/// `POST /v1/samplers/{name}/plan`: runs the sampler on one video's info, as a job would,
/// and returns its clips without running anything.
pub fn dry_run(name: &str, body: &[u8]) -> ApiResult<Reply> {
    let value: Value = serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    let Value::Object(o) = value else { return Err(ApiError::bad_request("the body must be a JSON object")) };
    if let Some(unknown) = o.keys().find(|k| !["video", "params", "seed"].contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!("unknown field '{unknown}'; a dry run takes video, params, seed")));
    }
    let reference = o.get("video").and_then(Value::as_str).ok_or_else(|| ApiError::bad_request("'video' (a video id or key) is required"))?;
    let params = o.get("params").cloned().unwrap_or_else(|| json!({}));
    if !params.is_object() {
        return Err(ApiError::bad_request("'params' must be an object"));
    }
    let seed = match o.get("seed") {
        None => 0,
        Some(v) => v.as_u64().ok_or_else(|| ApiError::bad_request("'seed' must be a whole number >= 0"))?,
    };
    found(name)?;
    let key = frameflow_guest::registry::load(reference).map(|r| r.key).unwrap_or_else(|_| reference.to_string());
    let info = Video::open(&key).map_err(ApiError::from)?.info();
    let clips = samplers::plan(name, &info, &params.to_string(), seed).map_err(|e| {
        let at = e.param.map(|p| format!("'{p}': ")).unwrap_or_default();
        ApiError::new(422, "plan_failed", format!("{at}{}", e.message))
    })?;
    let clips: Vec<Value> = clips
        .into_iter()
        .map(|c| {
            let frames: Vec<FrameSelector> = c.frames.into_iter().map(Into::into).collect();
            let flow_to: Vec<FrameSelector> = c.flow_to.into_iter().map(Into::into).collect();
            json!({"frames": frames, "flow_to": flow_to})
        })
        .collect();
    Ok(Reply::json(200, &json!({"sampler": name, "video": key, "seed": seed, "clips": clips})))
}
