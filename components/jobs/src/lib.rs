//! frameflow's job lifecycle as a WebAssembly component (spin-sdk 5.2 handler plus the
//! `frameflow:jobs/worker` export the host calls in the background).
//!
//! - `spec.rs`: what a job asks for ([`spec::JobSpec`]) and its validation.
//! - `state.rs`: the job record in the store (`jobs/{id}/job.json`), read and written
//!   with if-match so concurrent writers never lose an update; leases; the job index.
//! - `worker.rs`: one background step: plan a pending job, run one chunk of clips, or
//!   finish (assemble `manifest.jsonl`). Every step is idempotent, so a host killed
//!   mid-step redoes that step and the outputs are neither missing nor duplicated.
//! - `results.rs`: results pages, output downloads, deleting results by id.
//! - `ingest.rs`: the built-in object-event handler (`frameflow:events/handler`): a new
//!   video registered and, when its trigger says so, a job started for it.
//! - `uploads.rs`: tenant samplers and event handlers uploaded, listed and removed (the
//!   host checks each); samplers dry-run.
//! - `api.rs`: the v1 routes; `compat_v0.rs`: the compatibility routes `/frame` and `/flow`
//!   of the frame server users come from (seed 000), answered as that API does.

mod api;
mod compat_v0;
mod ingest;
mod results;
mod uploads;
mod spec;
mod state;
mod worker;

use frameflow_guest::{send, ApiResult, Query, Reply, RequestLine};
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::http_component;

mod worker_bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "frameflow:jobs/job-worker",
        with: {
            "frameflow:store/objects@0.1.0": frameflow_guest::bindings::frameflow::store::objects,
            "wasi:io/error@0.2.0": ::wasi::io::error,
            "wasi:io/poll@0.2.0": ::wasi::io::poll,
            "wasi:io/streams@0.2.0": ::wasi::io::streams,
        },
    });
}

struct Worker;

use worker_bindings::exports::frameflow::jobs::worker::{ChunkOutcome, StepError, StepReport};

impl worker_bindings::exports::frameflow::jobs::worker::Guest for Worker {
    fn runnable() -> Result<Vec<String>, StepError> {
        worker::runnable().map_err(StepError::Store)
    }

    fn step(job: String, owner: String, lease_ms: u64, run_chunks: bool) -> Result<StepReport, StepError> {
        let stepped = worker::step(&job, &owner, lease_ms, run_chunks).map_err(StepError::Failed)?;
        Ok(StepReport { worked: stepped.worked, took_over: stepped.took_over, planned_chunks: stepped.planned_chunks })
    }

    fn run_chunk(job: String, chunk: u64, owner: String, lease_ms: u64) -> Result<ChunkOutcome, StepError> {
        Ok(match worker::run_one(&job, chunk, &owner, lease_ms).map_err(StepError::Failed)? {
            worker::ChunkRun::Ran => ChunkOutcome::Ran,
            worker::ChunkRun::TookOver => ChunkOutcome::TookOver,
            worker::ChunkRun::DoneAlready => ChunkOutcome::DoneAlready,
            worker::ChunkRun::Held => ChunkOutcome::Held,
        })
    }
}

worker_bindings::export!(Worker with_types_in worker_bindings);

mod event_bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "frameflow:events/handler-export",
    });
}

use event_bindings::exports::frameflow::events::handler::{EventError, Guest as EventGuest, ObjectEvent};

struct Ingest;

impl EventGuest for Ingest {
    fn handle(event: ObjectEvent, trigger_json: String) -> Result<String, EventError> {
        ingest::handle(&event.id, &event.key, &trigger_json).map_err(|(retry, message)| match retry {
            true => EventError::Retry(message),
            false => EventError::Rejected(message),
        })
    }
}

event_bindings::export!(Ingest with_types_in event_bindings);

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    let reply = route(req).await;
    send(out, reply).await;
}

async fn route(req: IncomingRequest) -> Reply {
    let line = RequestLine::of(&req);
    let segments = line.segments();
    if let ["frame" | "flow"] = segments.as_slice() {
        // Seed 000's routes answer errors as `{"message"}`, as the seed specifies.
        return compat_v0::route(req, &line.method, segments[0], &line.query).await;
    }
    if let (Method::Put, ["v1", kind, name]) = (&line.method, segments.as_slice()) {
        if let Some(kind) = uploads::kind_of(kind) {
            // A component upload: bytes, not JSON, up to the component size limit.
            let content_type = frameflow_guest::header(&req, "content-type");
            return match frameflow_guest::read_body(req, uploads::MAX_UPLOAD, "components").await {
                Ok(body) => uploads::put(kind, name, content_type.as_deref(), body).unwrap_or_else(Into::into),
                Err(e) => e.into(),
            };
        }
    }
    let body = match frameflow_guest::read_json_body(req).await {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    let result: ApiResult<Reply> = (|| {
        let query = Query::parse(&line.query)?;
        api::route(&line.method, &segments, &query, &body, line.if_none_match.as_deref(), &line.path)
    })();
    result.unwrap_or_else(Into::into)
}
