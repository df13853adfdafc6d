//! frameflow's media core: exact frames from real video, over FFmpeg (ffmpeg-next).
//!
//! The principal types:
//! - [`Video`]: an open stream with its [`FrameIndex`] and a live decoder; frames by index,
//!   pts or time ([`FrameSelector`]), batches, and sequential iteration.
//! - [`FrameIndex`]: the packet index (every frame's pts and key flag in presentation
//!   order, and the seek points), built once by scanning and serializable.
//! - [`VideoInfo`]: what `frameflow probe` prints.
//! - [`RenderOptions`] and [`RgbImage`]: RGB24 conversion bit-identical to the ffmpeg CLI,
//!   with autorotation, crop and resize; [`encode_image`] for JPEG and PNG
//!   ([`encode_gray_jpeg`] for single planes).
//!
//! - Decoding to frame N leaves out the packets shown before N that no other frame needs
//!   (non-reference H.264 slices, MPEG-4/MPEG-2 B pictures: `disposable.rs`), so a random
//!   frame costs its reference chain, not its whole GOP.
//! - [`DecoderTeam`]: one batch's frames decoded on several decoders at once, a GOP each.
//! - [`Video::frames_into`] and [`DecoderTeam::frames_into`]: a batch written straight into
//!   one caller-owned buffer (a NumPy array, an HTTP body), in the order asked (`batch.rs`).
//! - [`remote`]: objects read with ranged requests ([`remote::RangeSource`]) instead of
//!   files, for object stores.
//!
//! - [`Audio`]: an audio stream as float32 planar samples, converted with libswresample
//!   when asked, sample-exact against `ffmpeg -f f32le` (`audio.rs`).
//!
//! Frame rules: index is 0-based in presentation order; pts is in the stream time base and
//! is the stable id; time `t` selects the first frame whose pts is at or after `t` (the
//! `ffmpeg -ss t` rule, on the stream's own timeline).

#![warn(clippy::print_stdout, clippy::print_stderr)]
// Raw FFmpeg calls live in ffi.rs alone (it allows unsafe; nothing else may).
#![deny(unsafe_code)]

mod audio;
mod batch;
mod container;
mod decode;
mod disposable;
mod encode;
mod error;
mod ffi;
mod frame;
mod index;
mod probe;
pub mod remote;
mod render;
mod team;
mod video;

/// Opens a container (a file or a registered remote object) with FFmpeg, for crates that
/// work on packets (stream copy); errors as the media core names them.
pub use audio::{Audio, AudioInfo, AudioOptions, AudioSamples, DEFAULT_KEEP_BYTES, MAX_AUDIO_CHANNELS, MAX_SAMPLE_RATE};
pub use container::{open_input as open_container, seek_to_key};
pub use encode::{encode_gray_jpeg, encode_image, ImageFormat, DEFAULT_JPEG_QUALITY};
pub use error::{MediaError, Result};
pub use index::{FrameIndex, IndexMethod, IndexedFrame, SeekPoint, INDEX_FORMAT_VERSION};
pub use probe::{StreamSummary, VideoInfo};
pub use render::{Crop, RenderOptions, ResizeFilter, RgbImage, RgbView, MAX_OUTPUT_SIDE};
pub use frame::{FrameId, FrameSelector};
pub use team::DecoderTeam;
pub use video::{Frame, OpenOptions, RawFrame, Video};

/// How much FFmpeg itself writes to stderr. frameflow reports problems in its own errors,
/// so the default is [`LogLevel::Quiet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Quiet,
    Error,
    Warning,
    Info,
    Debug,
}

impl LogLevel {
    /// `error`, `warning`, `info`, `debug` or `quiet`.
    pub fn parse(name: &str) -> Option<LogLevel> {
        Some(match name {
            "quiet" => LogLevel::Quiet,
            "error" => LogLevel::Error,
            "warning" => LogLevel::Warning,
            "info" => LogLevel::Info,
            "debug" => LogLevel::Debug,
            _ => return None,
        })
    }
}

/// Sets FFmpeg's own log level (process-wide).
pub fn set_log_level(level: LogLevel) {
    init();
    apply_log_level(level);
}

fn apply_log_level(level: LogLevel) {
    use ffmpeg_next::util::log::Level;
    ffmpeg_next::util::log::set_level(match level {
        LogLevel::Quiet => Level::Quiet,
        LogLevel::Error => Level::Error,
        LogLevel::Warning => Level::Warning,
        LogLevel::Info => Level::Info,
        LogLevel::Debug => Level::Debug,
    });
}

/// Initialises FFmpeg once, with its log at the level `FRAMEFLOW_FFMPEG_LOG` names
/// (see [`LogLevel::parse`]; quiet otherwise). [`set_log_level`] changes it later.
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ffmpeg_next::init();
        let level = std::env::var("FRAMEFLOW_FFMPEG_LOG").ok().and_then(|v| LogLevel::parse(&v)).unwrap_or(LogLevel::Quiet);
        apply_log_level(level);
    });
}

/// What decides the pixels and encoded bytes this build gives for a video's frames: the
/// media core's version and the FFmpeg libraries that decode, filter and convert. Part of
/// every derived response's validator (the runtime's `content-tag`), so a host upgraded to
/// other decoders does not answer 304 for bytes it would now produce differently.
pub fn pixel_lineage() -> String {
    init();
    format!(
        "frameflow-media {}; libavcodec {}; libavfilter {}; libswscale {}",
        env!("CARGO_PKG_VERSION"),
        ffmpeg_next::codec::version(),
        ffmpeg_next::filter::version(),
        ffmpeg_next::software::scaling::version()
    )
}

/// Opens a video and returns its description (builds the packet index).
pub fn probe(path: impl AsRef<std::path::Path>, stream: Option<usize>) -> Result<VideoInfo> {
    Ok(Video::open_with(path, OpenOptions { stream, ..Default::default() })?.info().clone())
}
