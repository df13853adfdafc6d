//! frameflow's media delivery: what a player or an editor gets besides single frames.
//!
//! - `remux.rs`: [`remux`], a stream copy (`ffmpeg -c copy` semantics) of a video (a file,
//!   or an object read with ranged requests) into another [`Container`]: no re-encode, every
//!   packet as it was, so every decoded frame is bit-identical; [`DeliveryError`] says when a
//!   codec cannot go into that container.
//! - `tile.rs`: [`tile`], frames of one size laid out in a grid (storyboard sprites).
//! - `ffi.rs`: the raw FFmpeg calls ffmpeg-next does not wrap; the crate's only `unsafe`.

#![deny(unsafe_code)]

mod ffi;
mod remux;
mod tile;

pub use remux::{remux, Container, DeliveryError, RemuxReport};
pub use tile::tile;
