//! HTTP serving for frameflow.
//!
//! - `manifest.rs`: the Spin-style manifest ([`Manifest`]): `[[trigger.http]]` routes,
//!   `[component.NAME]` sources, and frameflow's own `[frameflow]` settings.
//! - `config.rs`: [`ServerConfig`], every setting resolved once (manifest, command line,
//!   defaults).
//! - `app.rs`: [`App`], the manifest's components loaded and bound to their routes.
//! - `routes.rs`: [`Router`], where a request path is bound to a component (Spin's route
//!   syntax: exact paths, `:name` segments, trailing `/...` wildcards; most specific wins).
//! - `auth.rs`: [`ApiKeys`], the tenant of a request from its API key.
//! - `listener.rs`: the hyper listener ([`serve`]): connection cap and header/idle
//!   timeout, tenant from the API key, then the component; every error is a JSON body.
//! - `body_spool.rs`: request bodies received in full (memory or an unlinked temporary
//!   file) under the upload limit, an idle timeout and a minimum rate, before a component
//!   takes an instance slot.
//! - `job_runner.rs`: [`JobRunner`], the background loop that drives job components
//!   (`frameflow:sampler/job-worker`) for every tenant, so jobs run and resume after a
//!   restart without any request.

#![forbid(unsafe_code)]
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod app;
mod auth;
mod body_spool;
mod config;
mod job_runner;
mod listener;
mod manifest;
mod routes;

pub use app::App;
pub use auth::ApiKeys;
pub use config::{ConnectionLimits, ServerConfig, ServerOptions};
pub use job_runner::JobRunner;
pub use listener::{serve, Server};
pub use manifest::{Manifest, Settings};
pub use routes::{RoutePattern, Router};
