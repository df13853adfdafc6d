//! Compatibility routes (v0) for users of the frame server frameflow grew from (seed 000),
//! answered exactly as that API does: `POST /frame` and `POST /flow` start or stop
//! sampling (`{"pattern": "random|sample", "op": "start|stop", "params": {"duration",
//! "interval"}}`), `GET` pages the results (`pattern`, `from`, `count` as query parameters
//! or a JSON body), `DELETE` removes results by id. Errors are `{"message": ...}`.
//!
//! Each `(frame|flow, pattern)` pair has one current job, named by
//! `seed000/{frame|flow}-{pattern}.json`; `start` replaces it. Durations and intervals are
//! milliseconds of video time: `random` is the `random-clip` sampler with
//! `clip_seconds = duration/1000` (`num_clips` clips, default 1, per video); `sample` is the
//! `uniform` sampler with one clip of `clip_seconds = duration/1000` every
//! `seconds_between_clips = interval/1000`. Frame counts come from the video's average
//! frame rate. Without `params.videos`, every registered video of the tenant is sampled.

use frameflow_guest::bindings::frameflow::store::objects::{self, PutMode};
use frameflow_guest::{ApiError, ApiResult, Query, Reply};
use serde_json::{json, Map, Value};
use spin_sdk::http::{IncomingRequest, Method};

use crate::{api, results, spec, state};

fn pointer_key(which: &str, pattern: &str) -> String {
    format!("seed000/{which}-{pattern}.json")
}

fn message(status: u16, text: impl Into<String>) -> Reply {
    Reply::json(status, &json!({"message": text.into()}))
}

pub async fn route(req: IncomingRequest, method: &Method, which: &str, query: &str) -> Reply {
    let result = async {
        let body = frameflow_guest::read_json_body(req).await?;
        match method {
            Method::Post => start_or_stop(which, &body),
            Method::Get => page(which, query, &body),
            Method::Delete => {
                let kinds: &[&str] = if which == "frame" { &["img"] } else { &["flow"] };
                let deleted = results::delete(&body, None, kinds)?;
                Ok(Reply::json(200, &deleted))
            }
            _ => Err(ApiError::new(405, "method_not_allowed", format!("{method:?} is not allowed on /{which}"))),
        }
    }
    .await;
    result.unwrap_or_else(|e| message(e.status, e.message))
}

fn json_body(body: &[u8]) -> ApiResult<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(ApiError::bad_request("the body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!("the body is not JSON: {e}"))),
    }
}

fn pattern_of(value: Option<&str>) -> ApiResult<&str> {
    match value {
        Some(p @ ("random" | "sample")) => Ok(p),
        Some(other) => Err(ApiError::bad_request(format!("'pattern' must be random or sample, got '{other}'"))),
        None => Err(ApiError::bad_request("'pattern' is required: random or sample")),
    }
}

fn millis(params: &Map<String, Value>, name: &str) -> ApiResult<Option<f64>> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(ms) if ms > 0.0 && ms <= 86_400_000.0 => Ok(Some(ms)),
            _ => Err(ApiError::bad_request(format!("'params.{name}' must be milliseconds above 0 and at most 86400000, got {v}"))),
        },
    }
}

fn current_job(which: &str, pattern: &str) -> ApiResult<String> {
    let bytes = objects::get(&pointer_key(which, pattern))
        .map_err(|_| ApiError::bad_request(format!("no {which} job with pattern '{pattern}' has been started (POST /{which} with op start)")))?;
    let pointer: Value = serde_json::from_slice(&bytes).map_err(|e| ApiError::new(500, "internal", format!("seed pointer is corrupt: {e}")))?;
    pointer["job"].as_str().map(str::to_string).ok_or_else(|| ApiError::new(500, "internal", "seed pointer has no job"))
}

fn start_or_stop(which: &str, body: &[u8]) -> ApiResult<Reply> {
    let o = json_body(body)?;
    let pattern = pattern_of(o.get("pattern").and_then(Value::as_str))?;
    let params = match o.get("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(other) => return Err(ApiError::bad_request(format!("'params' must be an object, got {other}"))),
    };
    match o.get("op").and_then(Value::as_str) {
        Some("start") => {}
        Some("stop") => {
            let id = current_job(which, pattern)?;
            let job = api::stop(&id)?;
            return Ok(Reply::json(200, &json!({"message": "stopped", "job": id, "state": job.state})));
        }
        other => return Err(ApiError::bad_request(format!("'op' must be start or stop, got {}", other.unwrap_or("nothing")))),
    }
    let duration = millis(&params, "duration")?.ok_or_else(|| ApiError::bad_request("'params.duration' (milliseconds) is required"))?;
    let interval = millis(&params, "interval")?;
    let mut sampler_params = Map::new();
    sampler_params.insert("clip_seconds".into(), (duration / 1000.0).into());
    let sampler = if pattern == "random" {
        if let Some(n) = params.get("num_clips") {
            sampler_params.insert("num_clips".into(), n.clone());
        }
        "random-clip"
    } else {
        let interval = interval.ok_or_else(|| ApiError::bad_request("'params.interval' (milliseconds) is required for pattern sample"))?;
        sampler_params.insert("seconds_between_clips".into(), (interval / 1000.0).into());
        "uniform"
    };
    let videos = match params.get("videos") {
        Some(Value::Array(list)) => {
            let body = serde_json::to_vec(&json!({"videos": list})).expect("JSON serializes");
            spec::parse(&body)?.videos
        }
        Some(_) => return Err(ApiError::bad_request("'params.videos' must be a list of keys or video ids")),
        None => spec::registered_videos()?,
    };
    if videos.is_empty() {
        return Err(ApiError::bad_request("no videos: upload one with POST /v1/videos, or list keys in 'params.videos'"));
    }
    let mut fields = Map::new();
    fields.insert("sampler".into(), sampler.into());
    fields.insert("params".into(), Value::Object(sampler_params));
    fields.insert("modality".into(), if which == "frame" { "rgb" } else { "flow" }.into());
    if let Some(seed) = params.get("seed") {
        fields.insert("seed".into(), seed.clone());
    }
    let mut job_spec = spec::build(videos, &mut fields)?;
    job_spec.origin = format!("seed000-{which}-{pattern}");
    let job = api::create(job_spec)?;
    objects::put(&pointer_key(which, pattern), json!({"job": job.id}).to_string().as_bytes(), &PutMode::Overwrite)?;
    Ok(Reply::json(200, &json!({"message": "started", "job": job.id})))
}

/// `GET /frame` / `GET /flow`: the current job's frames (`{"frames": [{"id", "idx",
/// "label", "image_path", ...}]}`) or flows (`{"flows": [{"id", "idx", "to_idx", "label",
/// "x_path", "y_path", ...}]}`: one entry per flow, its x and y planes together).
fn page(which: &str, query: &str, body: &[u8]) -> ApiResult<Reply> {
    let query = Query::parse(query)?;
    let o = if body.iter().any(|b| !b.is_ascii_whitespace()) { json_body(body)? } else { Map::new() };
    let number = |name: &str| -> ApiResult<Option<u64>> {
        match (o.get(name), query.get(name)) {
            (Some(v), _) => v.as_u64().map(Some).ok_or_else(|| ApiError::bad_request(format!("'{name}' must be a whole number, got {v}"))),
            (None, Some(_)) => query.number(name, 0..=u64::MAX),
            (None, None) => Ok(None),
        }
    };
    let pattern = pattern_of(o.get("pattern").and_then(Value::as_str).or(query.get("pattern")))?;
    let (from, count) = results::page_bounds(number("from")?, number("count")?)?;
    let id = current_job(which, pattern)?;
    let (job, _) = state::load(&id)?;
    let kind = if which == "frame" { "rgb" } else { "flow_x" };
    let (entries, next, total) = results::slice(results::entries(&id, |e| e["kind"] == kind)?, from, count);
    let items: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            let common = |mut v: Value| {
                for field in ["clip", "k", "pts", "seconds", "video"] {
                    v[field] = e[field].clone();
                }
                v
            };
            if which == "frame" {
                common(json!({"id": e["id"], "idx": e["index"], "label": e["label"], "image_path": e["url"]}))
            } else {
                let x = e["url"].as_str().unwrap_or_default();
                let id = e["id"].as_str().unwrap_or_default().replacen("flow_x_", "flow_", 1);
                common(json!({
                    "id": id, "idx": e["index"], "to_idx": e["to_index"], "label": e["label"],
                    "x_path": x, "y_path": x.replacen("flow_x_", "flow_y_", 1), "bound": e["bound"],
                }))
            }
        })
        .collect();
    let list_name = if which == "frame" { "frames" } else { "flows" };
    Ok(Reply::json(200, &json!({list_name: items, "job": id, "state": job.state, "from": from, "total": total, "next": next})))
}
