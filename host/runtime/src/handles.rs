//! The host resources a guest holds by handle — `video`, `frame`, `encoded`, `rendition`,
//! `flow-field`, `upload` —
//! as plain data. A leaf: the bindings name these types, the capability modules fill them.

use std::sync::Arc;

use frameflow_flow::FlowField;
use frameflow_media::Frame;
use frameflow_store::{StoreError, Upload};

use crate::admission::MemoryPermit;
use crate::video_pool::PooledVideo;

/// A guest's `video`: the pooled video and the name the guest knows it by (for messages).
pub struct VideoHandle {
    pub(crate) video: Arc<PooledVideo>,
    pub(crate) label: String,
}

/// A guest's `frame`, holding its share of the media-memory pool while it lives.
pub struct FrameHandle {
    pub(crate) frame: Arc<Frame>,
    pub(crate) _memory: MemoryPermit,
}

/// A guest's `encoded`: image bytes kept in the host until written to a response body.
pub struct EncodedHandle {
    pub(crate) bytes: bytes::Bytes,
}

/// A guest's `rendition`: what to produce from which video, produced when written. A clip
/// holds one of the host's encode slots while the handle lives.
pub struct RenditionHandle {
    pub(crate) video: Arc<PooledVideo>,
    pub(crate) label: String,
    pub(crate) work: Rendition,
    pub(crate) _slot: Option<tokio::sync::OwnedSemaphorePermit>,
    /// Written once: a second `write-to` is refused.
    pub(crate) written: bool,
}

/// What a rendition produces.
#[derive(Clone, Debug)]
pub enum Rendition {
    Clip(frameflow_delivery::ClipSpec),
    Cut(frameflow_delivery::CutSpec),
}

impl Rendition {
    pub(crate) fn content_type(&self) -> &'static str {
        match self {
            Rendition::Clip(spec) => spec.format.content_type(),
            Rendition::Cut(spec) => match spec.container {
                frameflow_delivery::Container::Mp4 => "video/mp4",
                frameflow_delivery::Container::Mkv => "video/x-matroska",
                frameflow_delivery::Container::Ts => "video/mp2t",
            },
        }
    }
}

/// A guest's `flow-field`, holding its share of the media-memory pool while it lives.
pub struct FlowHandle {
    pub(crate) field: Arc<FlowField>,
    pub(crate) _memory: MemoryPermit,
}

impl FlowHandle {
    /// What the field holds in memory (two f32 a pixel).
    pub(crate) fn bytes(&self) -> usize {
        self.field.data.len() * std::mem::size_of::<f32>()
    }
}

/// A guest's `upload`: the streamed write, or the error that ended it.
pub struct UploadHandle {
    pub(crate) key: String,
    pub(crate) upload: Option<Upload>,
    /// Why `upload` is gone: refused at creation or failed on a write.
    pub(crate) error: Option<StoreError>,
}

impl UploadHandle {
    /// The error a write or finish gets once the upload has ended.
    pub(crate) fn ended(&self) -> StoreError {
        self.error.clone().unwrap_or_else(|| StoreError::Ended(self.key.clone()))
    }
}
