//! Executing a sampling plan: where a job's frames are decoded, its flow computed and its
//! outputs encoded.
//!
//! The principal types: [`PlannedClip`] (a clip's frames and, for flow, the frame each flow
//! goes to), [`OutputSpec`] (what to write), [`Output`] (one object, with the frame's ids),
//! and [`execute`], which walks a [`frameflow_media::Video`] once in presentation order:
//! every distinct frame any clip needs is decoded once, each flow pair computed once, and
//! frames are dropped as soon as no pending flow needs them, so memory stays at a few
//! frames whatever the plan. Where the outputs go is the caller's business (`emit`): the
//! object store for jobs, a directory for `frameflow sample`.

#![forbid(unsafe_code)]
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod execute;

pub use execute::{execute, prepare, Output, OutputKind, OutputSpec, PlanError, PlannedClip, Prepared, RunStats};
