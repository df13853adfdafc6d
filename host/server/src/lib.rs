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
//! - `auth/`: [`Auth`], who a request acts for (system key, config keys, keys kept in the
//!   store by [`TenantDirectory`], HS256 JWTs) and [`Scope`] checks; `admin.rs`: the
//!   system key's `/v1/admin` routes (tenants, keys).
//! - `triggers/`: the [`Trigger`] trait and what starts work — `http.rs` ([`HttpTrigger`]:
//!   connection cap and header/idle timeout, caller and scope from its credentials, then the component;
//!   every error a JSON body) and `jobs.rs` ([`JobsTrigger`]: job components driven for
//!   every tenant in the background, resumed after a restart without any request).
//! - `metrics.rs`: the Prometheus recorder the libraries count into, rendered at `/metrics`.
//! - `rate_limit.rs`: each tenant's requests per second (429 + `Retry-After` beyond);
//!   `quota.rs`: each tenant's stored bytes (507 beyond).
//! - `body_spool.rs`: request bodies received in full (memory or an unlinked temporary
//!   file) under the upload limit, an idle timeout and a minimum rate, before a component
//!   takes an instance slot.
//! - `drain.rs`: [`drain::Drain`], the shutdown on SIGTERM: no new work, in-flight work
//!   finished or handed over within `shutdown_grace_ms`, exit 0.
//! - `server.rs`: [`Server`] (all of the above loaded) and [`serve`].

#![forbid(unsafe_code)]
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod admin;
mod app;
pub mod auth;
mod body_spool;
mod config;
pub mod drain;
mod manifest;
pub mod metrics;
pub mod problem;
mod quota;
mod rate_limit;
mod routes;
mod runtime_config;
mod server;
pub mod triggers;

pub use app::App;
pub use auth::{Auth, Principal, Scope, TenantDirectory};
pub use config::{ConnectionLimits, ServerConfig, ServerOptions};
pub use manifest::{AppSettings, Manifest};
pub use routes::{RoutePattern, Router};
pub use runtime_config::RuntimeSettings;
pub use server::{serve, Server};
pub use triggers::{HttpTrigger, JobsTrigger, ObjectTrigger, Trigger};
