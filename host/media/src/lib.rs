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
//! Frame rules: index is 0-based in presentation order; pts is in the stream time base and
//! is the stable id; time `t` selects the first frame whose pts is at or after `t` (the
//! `ffmpeg -ss t` rule, on the stream's own timeline).

#![warn(clippy::print_stdout, clippy::print_stderr)]

mod container;
mod decode;
mod encode;
mod error;
mod frame;
mod index;
mod probe;
mod render;
mod video;

pub use encode::{encode_gray_jpeg, encode_image, ImageFormat, DEFAULT_JPEG_QUALITY};
pub use error::{MediaError, Result};
pub use index::{FrameIndex, IndexMethod, IndexedFrame, SeekPoint, INDEX_FORMAT_VERSION};
pub use probe::{StreamSummary, VideoInfo};
pub use render::{Crop, RenderOptions, ResizeFilter, RgbImage, RgbView, MAX_OUTPUT_SIDE};
pub use frame::{FrameId, FrameSelector};
pub use video::{Frame, OpenOptions, RawFrame, Video};

/// Initialises FFmpeg once. Its log goes quiet unless `FRAMEFLOW_FFMPEG_LOG` names a level
/// (`error`, `warning`, `info`, `debug`): the CLI reports problems in one line of its own.
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ffmpeg_next::init();
        use ffmpeg_next::util::log::Level;
        let level = match std::env::var("FRAMEFLOW_FFMPEG_LOG").as_deref() {
            Ok("error") => Level::Error,
            Ok("warning") => Level::Warning,
            Ok("info") => Level::Info,
            Ok("debug") => Level::Debug,
            _ => Level::Quiet,
        };
        ffmpeg_next::util::log::set_level(level);
    });
}

/// Opens a video and returns its description (builds the packet index).
pub fn probe(path: impl AsRef<std::path::Path>, stream: Option<usize>) -> Result<VideoInfo> {
    Ok(Video::open_with(path, OpenOptions { stream, ..Default::default() })?.info().clone())
}
