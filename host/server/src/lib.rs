//! Serving frameflow: the application (manifest + components) on this host, started by its
//! triggers.
//!
//! - `manifest.rs`: the Spin-style route manifest ([`Manifest`]): `[[trigger.http]]`
//!   routes, `[component.NAME]` sources, built-in samplers (`[frameflow.samplers]`).
//! - `runtime_config.rs`: [`RuntimeSettings`], the runtime config file — store, cache,
//!   media root, API keys, limits, host id — apart from the manifest, as Spin does.
//! - `config.rs`: [`ServerConfig`], every setting resolved once (runtime config, command
//!   line, defaults).
//! - `app.rs`: [`App`], the manifest's components loaded and bound to routes and triggers.
//! - `routes.rs`: [`Router`], where a request path is bound to a component (Spin's route
//!   syntax: exact paths, `:name` segments, trailing `/...` wildcards; most specific wins).
//! - `auth.rs`: [`ApiKeys`], the tenant of a request from its API key.
//! - `triggers/`: the [`Trigger`] trait and what starts work — `http.rs` ([`HttpTrigger`]:
//!   connection cap and header/idle timeout, tenant from the API key, then the component;
//!   every error a JSON body) and `jobs.rs` ([`JobsTrigger`]: job components driven for
//!   every tenant in the background, resumed after a restart without any request).
//! - `body_spool.rs`: request bodies received in full (memory or an unlinked temporary
//!   file) under the upload limit, an idle timeout and a minimum rate, before a component
//!   takes an instance slot.
//! - `server.rs`: [`Server`] (all of the above loaded) and [`serve`].

#![forbid(unsafe_code)]
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod app;
mod auth;
mod body_spool;
mod config;
mod manifest;
mod routes;
mod runtime_config;
mod server;
pub mod triggers;

pub use app::App;
pub use auth::ApiKeys;
pub use config::{ConnectionLimits, ServerConfig, ServerOptions};
pub use manifest::{AppSettings, Manifest};
pub use routes::{RoutePattern, Router};
pub use runtime_config::RuntimeSettings;
pub use server::{serve, Server};
pub use triggers::{HttpTrigger, JobsTrigger, ObjectTrigger, Trigger};
