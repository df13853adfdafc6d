//! frameflow's analysis tasks (seed 004): a source read frame by frame, the host's vision
//! primitives, analyzer components with their state, a report rule, reports pushed to
//! webhooks and kept in the store.
//!
//! - `spec.rs`: [`TaskSpec`], what a task is (source, algorithms, report URLs, rule), and
//!   the v1 JSON; `seed004.rs`: seed 004's task JSON (`TaskID`, `InputSrc`, `Algorithm[]`,
//!   `Reporting`) read into one; `seed003.rs`: seed 003's resources and streams (a task
//!   whose processed video, boxes drawn, is written to the store).
//! - `rule.rs`: [`RuleState`], the business rule: an object is reported once present for
//!   n consecutive analysed frames, again only after absent for m.
//! - `runner.rs`: one task on its own thread: source → motion/faces/people/scene → tracker
//!   → each analyzer due on the frame → rule → reports; status and checkpoints in the store.
//! - `report.rs`: seed 004's report JSON (scene image, event crops, boxes) and the
//!   [`Reporter`], which POSTs reports round-robin over `ReportUrlList` with retries.
//! - `manager.rs`: [`TaskManager`], tasks created, queried, listed, deleted and resumed
//!   after a restart or on another host; `lease.rs`: which host runs a task (conditional
//!   writes, taken over when it runs out); `api.rs`: its HTTP routes (seed 004's `/task/*`,
//!   `/v1/tasks`).
//!
//! In the store, under the tenant: `tasks/{id}/spec.json` (written once: a second
//! create of the id is a 409), `tasks/{id}/status.json` (state, counters, the checkpoint a
//! restart resumes from), `tasks/{id}/lease.json` (the host running it, until when) and
//! `tasks/{id}/events/{seq}.json` (every report, with its delivery).

#![warn(clippy::print_stdout, clippy::print_stderr)]
#![forbid(unsafe_code)]

pub mod api;
mod lease;
mod manager;
mod report;
mod rule;
mod runner;
mod seed003;
mod seed004;
mod spec;

pub use manager::{TaskError, TaskManager, TaskSettings};
pub use report::Reporter;
pub use rule::RuleState;
pub use spec::{AlgorithmSpec, RuleSpec, SourceSpec, TaskSpec};
