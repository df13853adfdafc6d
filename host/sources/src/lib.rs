//! frameflow's sources: where analysed frames come from, and the guard every outbound
//! request passes.
//!
//! - `guard.rs`: [`OutboundGuard`], the one check for every address frameflow connects to
//!   on a user's behalf (stream sources, report webhooks, the media proxy): `allowed_hosts`
//!   entries (names, addresses, CIDR blocks) pass; otherwise loopback, private, link-local
//!   (cloud metadata included), multicast and unspecified addresses are refused — after DNS
//!   resolution and on every redirect ([`OutboundGuard::http_client`]).
//! - `http.rs`: [`HttpSource`], a progressive HTTP(S) video read with ranged GETs through the
//!   guarded client (registered with the media core like an S3 object), or in order from a
//!   server without byte ranges; `hls.rs`:
//!   [`HlsReader`], an HLS playlist's MPEG-TS segments (VOD or live) as one stream, every
//!   request through the guard.
//! - `reader.rs`: [`Source`], a thread that opens an [`Input`] (a file or registered object,
//!   or an RTSP URL over TCP or UDP), decodes it in order and hands [`SourceFrame`]s on:
//!   every `sample_interval`-th frame, at most one waiting when `realtime` (the rest are
//!   skipped and counted, never queued), reconnecting with backoff when a source drops.
//!   HLS: the reader above.

#![warn(clippy::print_stdout, clippy::print_stderr)]
#![forbid(unsafe_code)]

mod guard;
mod hls;
mod http;
mod reader;

pub use guard::{GuardError, OutboundGuard};
pub use hls::{parse_playlist, HlsReader, Playlist};
pub use http::HttpSource;
pub use reader::{Input, Source, SourceEvent, SourceFrame, SourceInfo, SourceOptions, Transport};

/// Why a source cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Refused(#[from] GuardError),
    #[error("'{0}' is not a source frameflow reads (rtsp://, http(s)://, a stored video or a file under the media root)")]
    Unsupported(String),
    #[error("{url}: {reason}")]
    Http { url: String, reason: String },
    #[error("{0}")]
    Open(String),
}

/// The frame size of a file or a registered object (its container opened, nothing
/// decoded). Blocks.
pub fn frame_size(path: &std::path::Path) -> Result<(u32, u32), String> {
    use ffmpeg_next as ffmpeg;
    let input = frameflow_media::open_container(path).map_err(|e| e.to_string())?;
    let stream = input.streams().best(ffmpeg::media::Type::Video).ok_or("the source has no video stream")?;
    let video = ffmpeg::codec::context::Context::from_parameters(stream.parameters()).and_then(|c| c.decoder().video()).map_err(|e| e.to_string())?;
    Ok((video.width(), video.height()))
}
