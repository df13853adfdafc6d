//! Tenant components over HTTP: a tenant's own samplers, object-event handlers and analyzers uploaded,
//! listed and removed through the host's `frameflow:components/uploads` (which checks every
//! upload of every kind the same way); samplers also tried with a dry run through
//! `frameflow:sampler/samplers` (which runs them).
//!
//! | route (`{kind}`: `samplers`, `event-handlers` or `analyzers`) | does |
//! |---|---|
//! | `GET /v1/{kind}` | built-in and uploaded ones: name, builtin, size, sha256, uploaded_ms |
//! | `GET /v1/{kind}/{name}` | one of them |
//! | `PUT /v1/{kind}/{name}` | upload a component (`application/wasm`): 201 new, 200 replaced |
//! | `DELETE /v1/{kind}/{name}` | remove an upload (jobs already planned keep their plan) |
//! | `POST /v1/samplers/{name}/plan` | dry run: `{"video", "params", "seed"}` → the clips |

use frameflow_guest::bindings::frameflow::components::uploads::{self, ComponentInfo, Kind, UploadError};
use frameflow_guest::bindings::frameflow::media::video::Video;
use frameflow_guest::bindings::frameflow::sampler::samplers;
use frameflow_guest::{ApiError, ApiResult, Reply};
use frameflow_selector::FrameSelector;
use serde_json::{json, Value};

/// Largest component body read (the host refuses anything over its own limit, 16 MiB).
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

/// The route segment of a kind: `samplers`, `event-handlers`.
pub fn kind_of(segment: &str) -> Option<Kind> {
    match segment {
        "samplers" => Some(Kind::Sampler),
        "event-handlers" => Some(Kind::EventHandler),
        "analyzers" => Some(Kind::Analyzer),
        _ => None,
    }
}

/// What a kind is called in messages, and its collection in routes and listings.
fn names(kind: Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Kind::Sampler => ("sampler", "samplers", "samplers"),
        Kind::EventHandler => ("event handler", "event-handlers", "event_handlers"),
        Kind::Analyzer => ("analyzer", "analyzers", "analyzers"),
    }
}

/// The HTTP form of an upload refusal: what to fix, with a status that says whose fault.
fn refusal(kind: Kind, e: UploadError) -> ApiError {
    let (noun, _, _) = names(kind);
    match e {
        UploadError::BadName(m) => ApiError::new(400, "bad_name", m),
        UploadError::TooLarge(limit) => ApiError::new(413, "too_large", format!("a {noun} is at most {limit} bytes")),
        UploadError::NotAComponent(m) => ApiError::new(400, "not_a_component", m),
        UploadError::WrongWorld(m) => ApiError::new(422, "wrong_world", m),
        UploadError::ForbiddenImports(imports) => {
            let rule = match kind {
                Kind::Sampler => "a sampler must be pure (no clocks, randomness, files, sockets or host calls)",
                Kind::EventHandler => "an event handler may use the host's media, store and plans, clocks and randomness, not files, sockets or outgoing HTTP",
                Kind::Analyzer => "an analyzer must be pure (no clocks, randomness, files, sockets or host calls)",
            };
            ApiError::new(422, "forbidden_imports", format!("{rule}; it imports {}", imports.join(", ")))
        }
        UploadError::DoesNotCompile(m) => ApiError::new(422, "does_not_compile", m),
        UploadError::Builtin(m) => ApiError::new(409, "builtin", m),
        UploadError::Store(e) => e.into(),
    }
}

fn found(kind: Kind, name: &str) -> ApiResult<ComponentInfo> {
    let (noun, _, _) = names(kind);
    uploads::describe(kind, name).map_err(|e| refusal(kind, e))?.ok_or_else(|| ApiError::not_found(format!("no {noun} '{name}'")))
}

pub fn list(kind: Kind) -> ApiResult<Reply> {
    let all = uploads::installed(kind).map_err(|e| refusal(kind, e))?;
    let (_, _, field) = names(kind);
    Ok(Reply::json(200, &json!({field: all.iter().map(describe).collect::<Vec<_>>()})))
}

pub fn get(kind: Kind, name: &str) -> ApiResult<Reply> {
    Ok(Reply::json(200, &describe(&found(kind, name)?)))
}

/// `PUT /v1/{kind}/{name}`: `content_type` must say WebAssembly (or bytes).
pub fn put(kind: Kind, name: &str, content_type: Option<&str>, body: Vec<u8>) -> ApiResult<Reply> {
    let media_type = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    if !matches!(media_type.as_deref(), None | Some("application/wasm") | Some("application/octet-stream")) {
        return Err(ApiError::new(415, "unsupported_media_type", "upload the component as application/wasm"));
    }
    if body.is_empty() {
        return Err(ApiError::new(400, "not_a_component", "the body is empty: PUT the component's bytes"));
    }
    let existed = uploads::describe(kind, name).map_err(|e| refusal(kind, e))?.is_some_and(|i| !i.builtin);
    let info = uploads::install(kind, name, &body).map_err(|e| refusal(kind, e))?;
    let mut reply = Reply::json(if existed { 200 } else { 201 }, &describe(&info));
    reply.headers.push(("location".into(), format!("/v1/{}/{name}", names(kind).1)));
    Ok(reply)
}

pub fn delete(kind: Kind, name: &str) -> ApiResult<Reply> {
    let (noun, _, _) = names(kind);
    if uploads::remove(kind, name).map_err(|e| refusal(kind, e))? {
        Ok(Reply::json(200, &json!({"deleted": name})))
    } else {
        Err(ApiError::not_found(format!("no uploaded {noun} '{name}'")))
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
    found(Kind::Sampler, name)?;
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
