//! frameflow's video analytics over detections (seed 002): faces and traces, representative
//! faces and frames, co-occurrence, the media proxy.
//!
//! - `model.rs`: detections as uploaded (JSON Lines or `{"detections": [...]}`), read one at a
//!   time and checked against the video ([`model::DetectionIn::check`]).
//! - `db.rs`: [`DetectionsDb`], one video's detections in an SQLite file (the embedded
//!   engine), kept in the store at `videos/{id}/detections.sqlite` and read from a local copy.
//! - `blur.rs`: [`blur_score`], FFmpeg's `blurdetect` (lower is sharper; no edges: +∞).
//! - `select.rs`: the representative face of a trace (top 10 by area × confidence, then the
//!   sharpest), its 320×320 thumbnail, the representative frame's fallback chain.
//! - `proxy.rs`: the media proxy, through the outbound guard.
//! - `api.rs`: [`Analytics`], the routes.

#![warn(clippy::print_stdout, clippy::print_stderr)]
#![forbid(unsafe_code)]

pub mod api;
mod blur;
pub mod db;
pub mod model;
mod proxy;
pub mod select;

pub use api::{owns, owns_request, Analytics, Reply};
pub use blur::blur_score;
pub use db::DetectionsDb;
