//! frameflow's optical flow, over OpenCV (the opencv crate).
//!
//! The principal types:
//! - [`Algorithm`]: `farneback`, `dis-ultrafast`, `dis-fast`, `dis-medium`, `tvl1`, with the
//!   parameters opencv-python users get by default, behind one [`FlowEngine`] so that another
//!   backend (CUDA when a GPU is present) can be added without touching callers.
//! - [`GrayImage`] in, [`FlowField`] out: dense per-pixel (u, v), u to the right, v down,
//!   mapping frame t to frame t+step (`prev(x, y) ≈ next(x + u, y + v)`).
//! - Outputs ([`outputs`]): denseflow/TSN x/y greyscale JPEGs
//!   (`v = clamp(round(255·(f+b)/(2b)), 0, 255)`, bound b = 20 by default), Middlebury `.flo`,
//!   and a colour-wheel PNG for people to look at.

#![forbid(unsafe_code)]
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod compute;
mod error;
pub mod outputs;

pub use compute::{Algorithm, FlowEngine, GrayImage};
pub use error::{FlowError, Result};
pub use outputs::{FlowFormat, DEFAULT_BOUND};

/// A dense flow field: `data` holds (u, v) per pixel, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowField {
    pub width: u32,
    pub height: u32,
    pub data: Vec<f32>,
}

impl FlowField {
    pub fn at(&self, x: u32, y: u32) -> (f32, f32) {
        let o = ((y * self.width + x) * 2) as usize;
        (self.data[o], self.data[o + 1])
    }

    /// Average endpoint error against a ground truth, over pixels whose truth is known
    /// (Middlebury marks unknown flow with |u| or |v| > 1e9).
    pub fn average_endpoint_error(&self, truth: &FlowField) -> Result<f64> {
        if (self.width, self.height) != (truth.width, truth.height) {
            return Err(FlowError::SizeMismatch {
                first: (self.width, self.height),
                second: (truth.width, truth.height),
            });
        }
        let (mut sum, mut n) = (0f64, 0u64);
        for (a, t) in self.data.chunks_exact(2).zip(truth.data.chunks_exact(2)) {
            if t[0].abs() > 1e9 || t[1].abs() > 1e9 || !t[0].is_finite() || !t[1].is_finite() {
                continue;
            }
            let (du, dv) = ((a[0] - t[0]) as f64, (a[1] - t[1]) as f64);
            sum += (du * du + dv * dv).sqrt();
            n += 1;
        }
        Ok(if n == 0 { 0.0 } else { sum / n as f64 })
    }
}
