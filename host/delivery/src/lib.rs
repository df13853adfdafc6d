//! frameflow's media delivery: what a player or an editor gets besides single frames.
//!
//! - `remux.rs`: [`remux`], a stream copy (`ffmpeg -c copy` semantics) of a video (a file,
//!   or an object read with ranged requests) into another [`Container`]: no re-encode, every
//!   packet as it was, so every decoded frame is bit-identical; [`DeliveryError`] says when a
//!   codec cannot go into that container.
//! - `clip.rs`: [`encode_clip`], frames `first..=last` re-encoded (H.264 + AAC in TS or
//!   fragmented MP4, or an animated GIF/WebP preview) into any writer as they are encoded;
//!   `audio.rs` cuts and encodes the audio of the span; `burn_in.rs` draws debug labels.
//! - `remux.rs` also has [`cut`], a frame range copied the same way (`/video?start_frame`,
//!   HLS segments); `temp.rs` the scratch files of outputs that must seek back.
//! - `tile.rs`: [`tile`], frames of one size laid out in a grid (storyboard sprites).
//! - `writer.rs`: [`VideoWriter`], pictures encoded as they come into an H.264 MP4 file
//!   (a stream's processed video).
//! - `ffi.rs`: the raw FFmpeg calls ffmpeg-next does not wrap; the crate's only `unsafe`.

#![deny(unsafe_code)]

mod audio;
mod burn_in;
mod clip;
mod ffi;
mod remux;
mod temp;
mod tile;
mod writer;

pub use burn_in::{burn_in, burn_in_at};
pub use clip::{clip_frames, encode_clip, encode_clip_with, ClipFormat, ClipReport, ClipSpec, Overlay};
pub use remux::{check_container, cut, remux, Container, CutSpec, DeliveryError, RemuxReport};
pub use temp::TempFile;
pub use tile::tile;
pub use writer::VideoWriter;
