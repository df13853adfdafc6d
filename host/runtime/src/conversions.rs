//! Every conversion between the WIT types of the bindings and the host's own types, as
//! `From` impls written once: selectors, render options, frame ids, video info, image
//! formats, flow algorithms, store errors and metadata, admission refusals. The one that
//! needs context — a media-core error, whose message must name the video by the key the
//! guest knows, never by its host path — is [`media_error`].

use std::path::Path;

use frameflow_flow::Algorithm;
use frameflow_media::{Crop, ImageFormat, MediaError as CoreMediaError, RenderOptions};
use frameflow_store::{StoreError as CoreStoreError, WriteMode};

use crate::admission::Refusal;
use crate::bindings::frameflow::media::flow::Algorithm as WitAlgorithm;
use crate::bindings::frameflow::media::types::{
    FrameId, ImageFormat as WitFormat, MediaError, RenderOptions as WitRender, VideoInfo,
};
use crate::bindings::frameflow::store::objects::{ObjectMeta, PutMode, StoreError};

frameflow_selector::wit_conversions!(crate::bindings::frameflow::media::types::FrameSelector);

impl From<WitRender> for RenderOptions {
    fn from(render: WitRender) -> RenderOptions {
        RenderOptions {
            crop: render.crop.map(|c| Crop { x: c.x, y: c.y, width: c.width, height: c.height }),
            width: render.width,
            height: render.height,
            pad: render.pad.map(|c| (c.width, c.height)),
            ..RenderOptions::default()
        }
    }
}

impl From<frameflow_media::FrameId> for FrameId {
    fn from(id: frameflow_media::FrameId) -> FrameId {
        FrameId { index: id.index as u64, pts: id.pts, seconds: id.seconds, key: id.key }
    }
}

impl From<&frameflow_media::VideoInfo> for VideoInfo {
    fn from(info: &frameflow_media::VideoInfo) -> VideoInfo {
        VideoInfo {
            codec: info.codec.clone(),
            width: info.width,
            height: info.height,
            rotation: info.rotation,
            time_base_num: info.time_base[0],
            time_base_den: info.time_base[1],
            avg_fps: info.avg_fps,
            start_pts: info.start_pts,
            start_seconds: info.start_seconds,
            duration_seconds: info.duration_seconds,
            frame_count: info.frame_count as u64,
            keyframes: info.keyframes.iter().map(|&k| k as u64).collect(),
        }
    }
}

impl From<WitFormat> for ImageFormat {
    fn from(format: WitFormat) -> ImageFormat {
        match format {
            WitFormat::Jpeg => ImageFormat::Jpeg,
            WitFormat::Png => ImageFormat::Png,
            WitFormat::Rgb24 => ImageFormat::Rgb24,
            WitFormat::Webp => ImageFormat::Webp,
        }
    }
}

impl From<WitAlgorithm> for Algorithm {
    fn from(a: WitAlgorithm) -> Algorithm {
        match a {
            WitAlgorithm::Farneback => Algorithm::Farneback,
            WitAlgorithm::DisUltrafast => Algorithm::DisUltrafast,
            WitAlgorithm::DisFast => Algorithm::DisFast,
            WitAlgorithm::DisMedium => Algorithm::DisMedium,
            WitAlgorithm::Tvl1 => Algorithm::Tvl1,
        }
    }
}

/// Waiting for memory ran out of time (503), or the work can never fit (413).
impl From<Refusal> for MediaError {
    fn from(refusal: Refusal) -> MediaError {
        match refusal {
            Refusal::Busy(m) => MediaError::Busy(m),
            Refusal::TooLarge(m) => MediaError::TooLarge(m),
        }
    }
}

/// A media-core error as the guest sees it, naming the video by `label` (the key or
/// relative path the guest asked for) wherever the message had its host `path`.
pub(crate) fn media_error(err: CoreMediaError, path: &Path, label: &str) -> MediaError {
    let message = err.to_string().replace(&path.display().to_string(), label);
    match err {
        CoreMediaError::NotFound(_) => MediaError::NotFound(message),
        CoreMediaError::NotMedia { .. }
        | CoreMediaError::NoVideoStream(_)
        | CoreMediaError::NotAVideoStream { .. }
        | CoreMediaError::NoAudioStream { .. }
        | CoreMediaError::NotAnAudioStream { .. }
        | CoreMediaError::NoSuchStream { .. }
        | CoreMediaError::UnsupportedCodec { .. }
        | CoreMediaError::NoFrames(_) => MediaError::NotMedia(message),
        CoreMediaError::IndexOutOfRange { .. }
        | CoreMediaError::UnknownPts { .. }
        | CoreMediaError::TimeOutOfRange { .. }
        | CoreMediaError::NoAudioInRange { .. } => {
            MediaError::OutOfRange(message)
        }
        CoreMediaError::InvalidOption(_) => MediaError::Invalid(message),
        CoreMediaError::Undecodable { .. } => MediaError::Undecodable(message),
        CoreMediaError::TooManyPixels { .. } => MediaError::OverLimit(message),
        CoreMediaError::Interrupted | CoreMediaError::SourceUnavailable { .. } => MediaError::Busy(message),
        _ => MediaError::Internal(message),
    }
}

impl From<CoreStoreError> for StoreError {
    fn from(err: CoreStoreError) -> StoreError {
        let message = err.to_string();
        match err {
            CoreStoreError::NotFound(_) => StoreError::NotFound(message),
            CoreStoreError::InvalidKey { .. } => StoreError::InvalidKey(message),
            CoreStoreError::PreconditionFailed(_) => StoreError::PreconditionFailed(message),
            CoreStoreError::TooLarge(_) => StoreError::TooLarge(message),
            CoreStoreError::Io { .. } | CoreStoreError::Config(_) | CoreStoreError::Ended(_) => StoreError::Io(message),
        }
    }
}

/// A store failure where a media call needed the object (opening a video by key).
pub(crate) fn store_error_for_media(err: CoreStoreError, key: &str) -> MediaError {
    match err {
        CoreStoreError::NotFound(_) => MediaError::NotFound(format!("no video at key '{key}'")),
        e @ CoreStoreError::InvalidKey { .. } => MediaError::Invalid(e.to_string()),
        e => MediaError::Busy(format!("the object store is unavailable: {e}")),
    }
}

impl From<frameflow_store::ObjectMeta> for ObjectMeta {
    fn from(m: frameflow_store::ObjectMeta) -> ObjectMeta {
        ObjectMeta { key: m.key, size: m.size, etag: m.etag, last_modified_ms: m.last_modified_ms }
    }
}

impl From<PutMode> for WriteMode {
    fn from(mode: PutMode) -> WriteMode {
        match mode {
            PutMode::Overwrite => WriteMode::Overwrite,
            PutMode::Create => WriteMode::Create,
            PutMode::IfMatch(etag) => WriteMode::IfMatch(etag),
        }
    }
}

/// A delivery error (clip, cut, remux) as the guest sees it, naming the video by `label`.
pub(crate) fn delivery_error(e: frameflow_delivery::DeliveryError, path: &Path, label: &str) -> MediaError {
    use frameflow_delivery::DeliveryError;
    match e {
        DeliveryError::Source(e) => media_error(e, path, label),
        e @ DeliveryError::Unsupported { .. } => MediaError::Unsupported(e.to_string()),
        DeliveryError::Invalid(m) => MediaError::Invalid(m),
        e @ DeliveryError::Write { .. } => MediaError::Internal(e.to_string()),
        DeliveryError::Interrupted => MediaError::Busy("the request ended before the media was written".into()),
    }
}
