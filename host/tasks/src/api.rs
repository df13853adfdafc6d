//! The task routes, answered by the host (a task is host work: threads, sources,
//! webhooks); [`route`] gives `None` for paths that are not its own. Seed 003's
//! `/resources` and `/stream` routes are in `seed003.rs`.
//!
//! Seed 004's routes as written — bodies and answers in its JSON, `{"Code": 0, "Msg":
//! "OK", ...}` with the HTTP status saying what went wrong (`Code` repeats it):
//!
//! | route | does |
//! |---|---|
//! | `POST /task/create` | the seed's task JSON → `{"Code":0,"Msg":"OK","TaskID"}`; 400 (the field named), 409 (the id exists), 429 (too many tasks) |
//! | `POST /task/query` | `{"TaskID"}` → `Data`: state, counters, source |
//! | `POST /task/delete` | `{"TaskID"}` → stopped and removed with its reports |
//! | `GET` or `POST /task/list` | `Data`: every task of the caller |
//!
//! The v1 equivalents (problem+json errors):
//!
//! | route | does |
//! |---|---|
//! | `POST /v1/tasks` | a task in v1 JSON (`spec.rs`), or seed 004's → 201 |
//! | `GET /v1/tasks` | `{"tasks": [...]}` |
//! | `GET /v1/tasks/{id}` | one task: spec and status |
//! | `DELETE /v1/tasks/{id}` | 204 |
//! | `GET /v1/tasks/{id}/events?from=&count=` | its reports with their delivery, `next` when more |
//! | `POST /v1/videos/{id}/analyze?analyzer=face` | a task over the stored video whose tracked objects (trace = track id) become its detections when it ends → 202 |

use serde_json::{json, Value};

use crate::manager::{TaskError, TaskManager, TaskView};
use crate::spec::TaskSpec;
use frameflow_store::TenantStore;

/// Largest task request body.
pub const MAX_TASK_BODY: usize = 1 << 20;

/// Whether `path` is one of the task routes (seed 003's `/resources` and `/stream` too).
pub fn owns(path: &str) -> bool {
    let analyze = path.starts_with("/v1/videos/") && path.ends_with("/analyze") && path.matches('/').count() == 4;
    path.starts_with("/task/") || path == "/v1/tasks" || path.starts_with("/v1/tasks/") || crate::seed003::owns(path) || analyze
}

fn seed_view(view: &TaskView) -> Value {
    let s = &view.status;
    json!({
        "TaskID": view.spec.id,
        "SrcID": view.spec.src_id,
        "Address": view.spec.source.address,
        "Status": s.state,
        "Reason": s.reason,
        "ProcessedFrames": s.processed_frames,
        "AnalysedFrames": s.analysed_frames,
        "SkippedFrames": s.skipped_frames,
        "Reports": s.reports,
        "Reconnects": s.reconnects,
        "Fps": s.fps,
        "ElapsedMs": s.elapsed_ms,
        "Source": s.source.as_ref().map(|f| json!({"Width": f.width, "Height": f.height, "Fps": f.fps, "Live": f.live})),
        "Algorithm": view.spec.algorithms.iter().map(|a| json!({"Type": a.type_code, "Analyzer": a.analyzer})).collect::<Vec<_>>(),
    })
}

fn v1_view(view: &TaskView) -> Value {
    let mut status = serde_json::to_value(&view.status).expect("status serializes");
    if let Some(fields) = status.as_object_mut() {
        fields.remove("checkpoint");
    }
    json!({"id": view.spec.id, "spec": view.spec, "status": status})
}

fn seed_error(e: &TaskError) -> (u16, Value) {
    (e.status(), json!({"Code": e.status(), "Msg": e.to_string()}))
}

/// A task route's answer; the server renders problems in its one problem format.
#[derive(Debug)]
pub enum TaskReply {
    Json(u16, Value),
    NoContent,
    Problem { status: u16, code: &'static str, detail: String, param: Option<String> },
}

fn problem(e: &TaskError) -> TaskReply {
    let code = match e {
        TaskError::Invalid { .. } => "bad_request",
        TaskError::Conflict(_) => "conflict",
        TaskError::NotFound(_) => "not_found",
        TaskError::Busy(_) => "too_many_tasks",
        TaskError::Store(_) => "store_unavailable",
    };
    let param = match e {
        TaskError::Invalid { field, .. } => field.clone(),
        _ => None,
    };
    TaskReply::Problem { status: e.status(), code, detail: e.to_string(), param }
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=').map(str::to_string))
}

/// Answers a task route; `None` when `path` is not one.
pub async fn route(manager: &TaskManager, tenant: &TenantStore, method: &str, path: &str, query: &str, body: &[u8]) -> Option<TaskReply> {
    if !owns(path) {
        return None;
    }
    if crate::seed003::owns(path) {
        return crate::seed003::route(manager, tenant, method, path, body).await;
    }
    let types = &manager.settings().analyzer_types;
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let ok = |data: Value| {
        let mut v = json!({"Code": 0, "Msg": "OK"});
        if let (Some(fields), Some(extra)) = (v.as_object_mut(), data.as_object()) {
            fields.extend(extra.clone());
        }
        TaskReply::Json(200, v)
    };
    let seed = |r: Result<TaskReply, TaskError>| {
        r.unwrap_or_else(|e| {
            let (s, b) = seed_error(&e);
            TaskReply::Json(s, b)
        })
    };
    let v1 = |r: Result<TaskReply, TaskError>| r.unwrap_or_else(|e| problem(&e));
    let reply = match (method, segments.as_slice()) {
        ("POST", ["task", "create"]) => seed(async {
            let spec = crate::seed004::parse_task(body, types)?;
            let view = manager.create(tenant, spec).await?;
            Ok(ok(json!({"TaskID": view.spec.id})))
        }.await),
        ("POST", ["task", "query"]) => seed(async {
            let id = crate::seed004::task_id_of(body)?;
            let view = manager.get(tenant, &id).await?;
            Ok(ok(json!({"Data": seed_view(&view)})))
        }.await),
        ("POST", ["task", "delete"]) => seed(async {
            let id = crate::seed004::task_id_of(body)?;
            manager.delete(tenant, &id).await?;
            Ok(ok(json!({"TaskID": id})))
        }.await),
        ("GET" | "POST", ["task", "list"]) => seed(async {
            let all = manager.list(tenant).await?;
            Ok(ok(json!({"Data": all.iter().map(seed_view).collect::<Vec<_>>()})))
        }.await),
        ("POST", ["v1", "tasks"]) => v1(async {
            // v1 JSON, or seed 004's (it has a TaskID).
            let seed_shaped = serde_json::from_slice::<Value>(body).ok().is_some_and(|v| v.get("TaskID").is_some());
            let spec = if seed_shaped { crate::seed004::parse_task(body, types)? } else { TaskSpec::from_v1_json(body)? };
            let view = manager.create(tenant, spec).await?;
            Ok(TaskReply::Json(201, v1_view(&view)))
        }.await),
        ("GET", ["v1", "tasks"]) => v1(async {
            let all = manager.list(tenant).await?;
            Ok(TaskReply::Json(200, json!({"tasks": all.iter().map(v1_view).collect::<Vec<_>>()})))
        }.await),
        ("GET", ["v1", "tasks", id]) => v1(async { Ok(TaskReply::Json(200, v1_view(&manager.get(tenant, id).await?))) }.await),
        ("DELETE", ["v1", "tasks", id]) => v1(async {
            manager.delete(tenant, id).await?;
            Ok(TaskReply::NoContent)
        }.await),
        ("GET", ["v1", "tasks", id, "events"]) => v1(async {
            let from = match query_param(query, "from") {
                None => 0,
                Some(v) => v.parse::<u64>().map_err(|_| TaskError::Invalid { field: Some("from".into()), message: format!("'{v}' is not a report number") })?,
            };
            let count = match query_param(query, "count") {
                None => 100,
                Some(v) => v.parse::<usize>().ok().filter(|c| (1..=100).contains(c)).ok_or_else(|| TaskError::Invalid { field: Some("count".into()), message: "count is 1..=100".into() })?,
            };
            let (reports, next) = manager.events(tenant, id, from, count).await?;
            Ok(TaskReply::Json(200, json!({"events": reports, "next": next})))
        }.await),
        ("POST", ["v1", "videos", id, "analyze"]) => v1(async {
            // `?analyzer=` (default `face`), or a body {"analyzer", "params"} for analyzers that take parameters.
            let given: Value = if body.is_empty() {
                json!({})
            } else {
                serde_json::from_slice(body).map_err(|e| TaskError::Invalid { field: None, message: format!("the body is not JSON: {e}") })?
            };
            let analyzer = given["analyzer"].as_str().map(str::to_string).or_else(|| query_param(query, "analyzer")).unwrap_or_else(|| "face".into());
            let params = given.get("params").cloned().unwrap_or(json!({}));
            let spec = TaskSpec {
                id: format!("analyze-{id}-{}", crate::manager::now_ms()),
                src_id: id.to_string(),
                source: crate::spec::SourceSpec { address: format!("video:{id}"), transport: "tcp".into(), realtime: false, sample_interval: 1 },
                algorithms: vec![crate::spec::AlgorithmSpec {
                    type_code: None,
                    analyzer,
                    params,
                    detect_interval: 1,
                    min_size: 0,
                    max_size: i32::MAX,
                }],
                report_urls: Vec::new(),
                rule: Default::default(),
                created_ms: 0,
                kind: "analyze".into(),
                video_out: None,
                detections_of: Some(id.to_string()),
            };
            let view = manager.create(tenant, spec).await?;
            Ok(TaskReply::Json(202, json!({"task": view.spec.id, "status_url": format!("/v1/tasks/{}", view.spec.id), "detections_url": format!("/v1/videos/{id}/detections")})))
        }.await),
        (_, ["v1", "videos", ..]) => TaskReply::Problem { status: 405, code: "method_not_allowed", detail: format!("{method} is not allowed on {path}"), param: None },
        (_, ["v1", "tasks", ..]) => TaskReply::Problem { status: 405, code: "method_not_allowed", detail: format!("{method} is not allowed on {path}"), param: None },
        (_, ["task", ..]) => TaskReply::Json(405, json!({"Code": 405, "Msg": format!("{method} is not allowed on {path}")})),
        _ => return None,
    };
    Some(reply)
}
