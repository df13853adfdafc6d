//! End-to-end tests: run the real `frameflow` binary, one module per area.

mod cli;
mod flow;
mod http;
mod jobs;
mod limits;
