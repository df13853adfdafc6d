//! frameflow's vision primitives: what the host computes per analysed frame for analyzer
//! components (`frameflow:analyzer`), over OpenCV.
//!
//! - [`GrayImage`]: the picture they all read (8-bit luma, usually scaled down for speed);
//!   [`Rect`]: a box, with [`Rect::scaled`] back to source pixels.
//! - [`MotionDetector`]: background subtraction (OpenCV's MOG2) → boxes of moving things.
//! - [`FaceDetector`] (Haar cascade, from Debian's `opencv-data`) and [`PeopleDetector`]
//!   (HOG with OpenCV's default people SVM).
//! - [`SceneScorer`]: how unlike the previous frame this one is (0..=1).
//! - [`Tracker`]: greedy IoU matching that gives detections stable ids across frames.
//! - [`TargetSize`]: seed 004's `MinDetect`/`MaxDetect` filter.
//! - [`draw_box`]: a box outline drawn into an RGB24 picture.

#![forbid(unsafe_code)]

mod detect;
mod draw;
mod scene;
mod track;

pub use detect::{FaceDetector, MotionDetector, PeopleDetector, DEFAULT_FACE_CASCADE};
pub use draw::draw_box;
pub use scene::SceneScorer;
pub use track::{Track, Tracked, Tracker};

/// What went wrong in a vision primitive.
#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    #[error("OpenCV: {0}")]
    OpenCv(#[from] opencv::Error),
    #[error("the {width}x{height} picture has {len} bytes")]
    BadImage { width: u32, height: u32, len: usize },
    #[error("the face model cannot be loaded from {0} (install Debian's opencv-data)")]
    Model(String),
}

pub type Result<T> = std::result::Result<T, VisionError>;

/// An 8-bit greyscale picture, rows packed.
#[derive(Clone, Debug)]
pub struct GrayImage {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl GrayImage {
    fn mat(&self) -> Result<opencv::boxed_ref::BoxedRef<'_, opencv::core::Mat>> {
        if self.width == 0 || self.height == 0 || self.data.len() != self.width as usize * self.height as usize {
            return Err(VisionError::BadImage { width: self.width, height: self.height, len: self.data.len() });
        }
        Ok(opencv::core::Mat::new_rows_cols_with_data(self.height as i32, self.width as i32, &self.data)?)
    }
}

/// A box: left, top, width, height (pixels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
}

impl Rect {
    /// The box multiplied by `factor` (from an analysis picture back to source pixels).
    pub fn scaled(&self, factor: f64) -> Rect {
        let s = |v: i32| (v as f64 * factor).round() as i32;
        Rect { x: s(self.x), y: s(self.y), width: s(self.width).max(1), height: s(self.height).max(1) }
    }

    /// Intersection over union.
    pub fn iou(&self, other: &Rect) -> f64 {
        let (x0, y0) = (self.x.max(other.x), self.y.max(other.y));
        let (x1, y1) = ((self.x + self.width).min(other.x + other.width), (self.y + self.height).min(other.y + other.height));
        let inter = ((x1 - x0).max(0) as f64) * ((y1 - y0).max(0) as f64);
        let union = (self.width as f64 * self.height as f64) + (other.width as f64 * other.height as f64) - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }

    fn center(&self) -> (f64, f64) {
        (self.x as f64 + self.width as f64 / 2.0, self.y as f64 + self.height as f64 / 2.0)
    }
}

/// A detection before tracking.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    pub rect: Rect,
    pub confidence: f32,
}

/// Seed 004's `TargetSize`: a box's longer side must be in `min..=max` (source pixels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetSize {
    pub min: i32,
    pub max: i32,
}

impl Default for TargetSize {
    fn default() -> Self {
        TargetSize { min: 0, max: i32::MAX }
    }
}

impl TargetSize {
    pub fn admits(&self, rect: &Rect) -> bool {
        let side = rect.width.max(rect.height);
        side >= self.min && side <= self.max
    }
}
