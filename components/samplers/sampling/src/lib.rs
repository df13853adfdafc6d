//! The built-in sampling strategies, pure and deterministic: the same video facts, params
//! and seed always give the same plan, on any machine.
//!
//! - `params.rs` ([`Params`]): the JSON parameters every strategy shares (frames per clip,
//!   step, modality, end-of-video policy, sampling range) and their validation; errors name
//!   the parameter ([`ParamError`]).
//! - `strategies.rs` ([`Strategy`], [`plan`]): `random-clip` (torchcodec's
//!   `clips_at_random_indices` / `_timestamps`), `uniform` (TSN segments, seed 000's `sample`
//!   mode) and `regular-clip` (`clips_at_regular_indices` / `_timestamps`).
//! - `rng.rs`: SplitMix64, so plans do not depend on a library's RNG.
//! - `component.rs`: the `frameflow:sampler` world bindings and [`wit_plan`], which each
//!   sampler component calls from its `plan` export.

mod component;
mod params;
mod rng;
mod strategies;

pub use component::{bindings, wit_plan};
pub use params::{Modality, ParamError, Params, Policy};
pub use strategies::{plan, Clip, Selector, Strategy, VideoFacts};
