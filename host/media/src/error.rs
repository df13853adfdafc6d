//! `MediaError`: every way the media core can fail, each with a message a user can act on.

use std::path::PathBuf;

/// Errors returned by the media core. Messages are one line and name the problem,
/// because the CLI prints them as-is and the HTTP layer maps them to statuses.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("no such file: {}", .0.display())]
    NotFound(PathBuf),

    #[error("cannot read {}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },

    /// Reading a remote object failed (the store is down or refused): worth a retry.
    #[error("reading {} from its store failed: {reason}", path.display())]
    SourceUnavailable { path: PathBuf, reason: String },

    #[error("{}: not a recognised media file ({reason})", path.display())]
    NotMedia { path: PathBuf, reason: String },

    #[error("{}: no video stream", .0.display())]
    NoVideoStream(PathBuf),

    #[error("{}: stream {stream} is not a video stream (video streams: {available:?})", path.display())]
    NotAVideoStream { path: PathBuf, stream: usize, available: Vec<usize> },

    #[error("{}: no audio stream (streams: {kinds})", path.display())]
    NoAudioStream { path: PathBuf, kinds: String },

    #[error("{}: stream {stream} is not an audio stream (audio streams: {available:?})", path.display())]
    NotAnAudioStream { path: PathBuf, stream: usize, available: Vec<usize> },

    #[error("{}: there is no stream {stream} (the file has {count} streams)", path.display())]
    NoSuchStream { path: PathBuf, stream: usize, count: usize },

    /// No audio frame is played in the range asked for: it starts at or after the stream's
    /// end, or ends at or before its first sample (torchcodec's "No audio frames were decoded").
    #[error("No audio frames were decoded in [{start}, {}) s: the stream's samples span [{first_seconds}, {end_seconds}) s", fmt_stop(*stop))]
    NoAudioInRange { start: f64, stop: Option<f64>, first_seconds: f64, end_seconds: f64 },

    #[error("{}: no decoder for codec '{codec}' in this FFmpeg build", path.display())]
    UnsupportedCodec { path: PathBuf, codec: String },

    #[error("{}: the picture is {width}x{height} ({:.1} megapixels), over this host's limit of {:.1} megapixels", path.display(), *width as f64 * *height as f64 / 1e6, *limit as f64 / 1e6)]
    TooManyPixels { path: PathBuf, width: u32, height: u32, limit: u64 },

    #[error("{}: the video stream has no decodable frames", .0.display())]
    NoFrames(PathBuf),

    #[error("frame index {index} out of range: valid indices are 0..={} ({count} frames)", count.saturating_sub(1))]
    IndexOutOfRange { index: u64, count: usize },

    #[error("no frame with pts {pts}; nearest valid pts: {}", fmt_nearest(*before, *after))]
    UnknownPts { pts: i64, before: Option<i64>, after: Option<i64> },

    #[error("time {seconds}s is after the last frame (last frame starts at {last_seconds}s)")]
    TimeOutOfRange { seconds: f64, last_seconds: f64 },

    #[error("undecodable data at pts {pts} (frame index {index}): {reason}")]
    Undecodable { index: usize, pts: i64, reason: String },

    #[error("stopped: the work was cancelled (its deadline passed or its client went away)")]
    Interrupted,

    #[error("invalid option: {0}")]
    InvalidOption(String),

    #[error("packet index does not match this video: {0}")]
    StaleIndex(String),

    #[error("image encoding failed: {0}")]
    Encode(String),

    #[error("{context}: {source}")]
    Ffmpeg { context: String, source: ffmpeg_next::Error },

    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },

    /// A failure of the code consuming frames (e.g. a flow computed from them), passed
    /// through frame iteration unchanged.
    #[error(transparent)]
    Consumer(Box<dyn std::error::Error + Send + Sync>),
}

fn fmt_stop(stop: Option<f64>) -> String {
    stop.map_or_else(|| "the end".into(), |s| s.to_string())
}

fn fmt_nearest(before: Option<i64>, after: Option<i64>) -> String {
    match (before, after) {
        (Some(b), Some(a)) => format!("{b} (before), {a} (after)"),
        (Some(b), None) => format!("{b} (the last frame)"),
        (None, Some(a)) => format!("{a} (the first frame)"),
        (None, None) => "none (no frames)".into(),
    }
}

pub type Result<T, E = MediaError> = std::result::Result<T, E>;

/// Attaches a human context to FFmpeg errors at the call site.
pub(crate) trait FfmpegContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> FfmpegContext<T> for std::result::Result<T, ffmpeg_next::Error> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| MediaError::Ffmpeg { context: context(), source })
    }
}
