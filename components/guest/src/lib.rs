//! The shared half of frameflow's HTTP components.
//!
//! - `bindings.rs`: guest bindings for the `frameflow:sampler/handler-imports` world (the
//!   host's media, plans, store and samplers).
//! - `http.rs`: [`ApiError`] and [`Reply`], query strings ([`Query`]), percent-decoding,
//!   [`send`] through the response outparam, [`fnv64`].
//! - `errors.rs`: one HTTP status per `media-error` and `store-error` case.

pub mod bindings;
mod errors;
mod http;

pub use http::{fnv64, header, percent_decode, send, ApiError, ApiResult, Query, Reply};
