//! The shared half of frameflow's HTTP components.
//!
//! - `bindings.rs`: guest bindings for the `frameflow:platform/handler-imports` world (the
//!   host's media, plans, store and samplers).
//! - `http.rs`: [`ApiError`] and [`Reply`], query strings ([`Query`]), percent-decoding,
//!   [`send`] through the response outparam, [`fnv64`].
//! - `choices.rs`: flow algorithm names ([`flow_algorithm`]) and [`random_u64`].
//! - `errors.rs`: one HTTP status per `media-error` and `store-error` case.
//! - `registry.rs`: video records (`videos/{id}/video.json`), registering a key.
//! - `keys.rs`: frameflow's own namespaces in a tenant's store ([`RESERVED_PREFIXES`]) and
//!   where the host caches a video's packet index ([`index_key`]).

pub mod bindings;
mod choices;
mod errors;
mod http;
mod keys;
pub mod registry;

pub use frameflow_selector::FrameSelector;
pub use choices::{flow_algorithm, random_u64, FLOW_ALGORITHMS};
pub use http::{client_has, fnv64, header, percent_decode, read_body, read_json_body, send, ApiError, ApiResult, Held, Query, Reply, RequestLine, MAX_JSON_BODY};
pub use keys::{index_key, reserved_prefix, RESERVED_PREFIXES};
