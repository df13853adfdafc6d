//! `FlowError`: what can go wrong computing or encoding optical flow.

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("unknown flow algorithm '{0}' (farneback, dis-ultrafast, dis-fast, dis-medium, tvl1)")]
    UnknownAlgorithm(String),
    #[error("unknown flow format '{0}' (jpeg-xy, flo, color)")]
    UnknownFormat(String),
    #[error("frames differ in size: {}x{} vs {}x{}", first.0, first.1, second.0, second.1)]
    SizeMismatch {
        first: (u32, u32),
        second: (u32, u32),
    },
    #[error("image is empty or its buffer does not match {width}x{height}")]
    BadImage { width: u32, height: u32 },
    #[error("bound must be a positive finite number, got {0}")]
    BadBound(f32),
    #[error("not a Middlebury .flo file: {0}")]
    BadFlo(String),
    #[error("cannot read image {path}: {reason}")]
    ReadImage { path: String, reason: String },
    #[error("encoding flow image: {0}")]
    Encode(String),
    #[error("OpenCV: {0}")]
    OpenCv(#[from] opencv::Error),
}

pub type Result<T, E = FlowError> = std::result::Result<T, E>;
