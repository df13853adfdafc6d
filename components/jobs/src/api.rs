//! The v1 job routes:
//!
//! | route | does |
//! |---|---|
//! | `POST /v1/jobs` | create (201); params are checked against the first video at once |
//! | `GET /v1/jobs?after=&count=` | list, oldest first, with history |
//! | `GET /v1/jobs/{id}` | state, progress, stats, spec |
//! | `POST /v1/jobs/{id}/stop` | stop a pending or running job |
//! | `GET /v1/jobs/{id}/results?from=&count=` | manifest entries, `count` 1..100 |
//! | `DELETE /v1/jobs/{id}/results` | `{"id": [...]}`: delete those results only |
//! | `GET /v1/jobs/{id}/outputs/{clip}/{file}` | one output; `/outputs/manifest.jsonl` |
//! | `DELETE /v1/jobs/{id}` | the job and every object it wrote |
//! | `/v1/samplers/...`, `/v1/event-handlers/...`, `/v1/analyzers/...` | tenant components: `uploads.rs` |

use frameflow_guest::bindings::frameflow::store::objects;
use frameflow_guest::{ApiError, ApiResult, Query, Reply};
use serde_json::json;
use spin_sdk::http::Method;

use crate::results;
use crate::uploads;
use crate::spec::{self, JobSpec};
use crate::state::{self, Job, Progress, State, Stats};
use crate::worker;

pub fn route(method: &Method, segments: &[&str], query: &Query, body: &[u8], inm: Option<&str>, path: &str) -> ApiResult<Reply> {
    // Unknown query parameters are refused by name, before anything else.
    query.accept(match (method, segments) {
        (Method::Get, ["v1", "jobs"]) => &["after", "count"],
        (Method::Get, ["v1", "jobs", _, "results"]) => &["from", "count"],
        _ => &[],
    })?;
    match (method, segments) {
        (Method::Post, ["v1", "jobs"]) => create(spec::parse(body)?).map(|job| {
            let mut reply = Reply::json(201, &state::describe(&job));
            reply.headers.push(("location".into(), format!("/v1/jobs/{}", job.id)));
            reply
        }),
        (Method::Get, ["v1", "jobs"]) => list(query),
        (Method::Get, ["v1", "jobs", id]) => Ok(Reply::json(200, &state::describe(&state::load(id)?.0))),
        (Method::Post, ["v1", "jobs", id, "stop"]) => Ok(Reply::json(200, &state::describe(&stop(id)?))),
        (Method::Get, ["v1", "jobs", id, "results"]) => {
            let (from, count) = results::page_bounds(query.number("from", 0..=u64::MAX)?, query.number("count", 0..=u64::MAX)?)?;
            let (job, _) = state::load(id)?;
            let (page, next, total) = results::slice(results::entries(id, |_| true)?, from, count);
            Ok(Reply::json(
                200,
                &json!({"job": id, "state": job.state, "from": from, "count": page.len(), "total": total, "next": next, "results": page}),
            ))
        }
        (Method::Delete, ["v1", "jobs", id, "results"]) => {
            state::load(id)?;
            Ok(Reply::json(200, &results::delete(body, Some(id), &["img", "flow_x", "flow_y"])?))
        }
        (Method::Get, ["v1", "jobs", id, "outputs", rest @ ..]) => results::download(id, rest, inm),
        (Method::Delete, ["v1", "jobs", id]) => delete(id),
        (Method::Get, ["v1", kind]) if uploads::kind_of(kind).is_some() => uploads::list(uploads::kind_of(kind).expect("checked")),
        (Method::Get, ["v1", kind, name]) if uploads::kind_of(kind).is_some() => uploads::get(uploads::kind_of(kind).expect("checked"), name),
        (Method::Delete, ["v1", kind, name]) if uploads::kind_of(kind).is_some() => uploads::delete(uploads::kind_of(kind).expect("checked"), name),
        (Method::Post, ["v1", "samplers", name, "plan"]) => uploads::dry_run(name, body),
        (_, ["v1", "jobs" | "samplers" | "event-handlers" | "analyzers", ..]) => {
            Err(ApiError::new(405, "method_not_allowed", format!("{method:?} is not allowed on {path}")))
        }
        _ => Err(ApiError::not_found(format!("no route for {path}"))),
    }
}

/// Creates a job after planning its first video, so bad params are a 400 now rather than
/// a failed job later.
pub fn create(spec: JobSpec) -> ApiResult<Job> {
    create_as(spec, state::new_id())
}

/// Creates the job `id` unless it exists (an event delivered again, a handler retried):
/// then it is returned as it is, its markers written again in case the first attempt
/// stopped between the record and them. Returns whether this call created it.
pub fn create_once(spec: JobSpec, id: String) -> ApiResult<(Job, bool)> {
    match state::load(&id) {
        Ok((job, _)) => {
            state::write_markers(&job)?;
            return Ok((job, false));
        }
        Err(e) if e.status == 404 => {}
        Err(e) => return Err(e),
    }
    match create_as(spec, id.clone()) {
        Ok(job) => Ok((job, true)),
        // Another delivery created it in between.
        Err(e) if e.status == 409 || e.status == 412 => Ok((state::load(&id)?.0, false)),
        Err(e) => Err(e),
    }
}

fn create_as(spec: JobSpec, id: String) -> ApiResult<Job> {
    let now = state::now_ms();
    let job = Job {
        id,
        state: State::Pending,
        spec,
        created_ms: now,
        updated_ms: now,
        progress: Progress::default(),
        chunks: 0,
        cursor: 0,
        done_chunks: Default::default(),
        stats: Stats::default(),
        error: None,
        lease: None,
    };
    worker::plan_video(&job, 0)?;
    state::create(&job)?;
    Ok(job)
}

fn list(query: &Query) -> ApiResult<Reply> {
    let count = query.number("count", 1..=results::MAX_PAGE)?.unwrap_or(20);
    let after = query.get("after").filter(|a| state::valid_id(a)).map(|a| format!("job-index/{a}"));
    let page = objects::list("job-index/", after.as_deref(), count as u32)?;
    let mut jobs = Vec::new();
    for meta in &page.objects {
        let id = meta.key.trim_start_matches("job-index/");
        if let Ok((job, _)) = state::load(id) {
            jobs.push(state::describe(&job));
        }
    }
    let next = page.next_start_after.map(|k| k.trim_start_matches("job-index/").to_string());
    Ok(Reply::json(200, &json!({"jobs": jobs, "next": next})))
}

/// Stops a job that has not finished; a stopped job stays stopped.
pub fn stop(id: &str) -> ApiResult<Job> {
    state::update(id, |job| match job.state {
        State::Pending | State::Running => {
            job.state = State::Stopped;
            job.lease = None;
            Ok(())
        }
        State::Stopped => Ok(()),
        other => Err(ApiError::new(409, "conflict", format!("job {id} has already {}", serde_json::to_value(other).unwrap_or_default()))),
    })
}

fn delete(id: &str) -> ApiResult<Reply> {
    state::load(id)?;
    // Stop first, so no worker starts another chunk of it.
    let _ = stop(id);
    let objects_deleted = state::delete_prefix(&format!("jobs/{id}/"))?;
    for marker in [format!("job-index/{id}"), format!("job-active/{id}")] {
        let _ = objects::delete(&marker);
    }
    Ok(Reply::json(200, &json!({"deleted": id, "objects": objects_deleted})))
}
