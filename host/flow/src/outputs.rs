//! Flow outputs: denseflow/TSN quantized x/y greyscale JPEGs, Middlebury `.flo`, and a
//! Middlebury colour-wheel PNG.

use serde::{Deserialize, Serialize};

use crate::error::{FlowError, Result};
use crate::FlowField;

/// denseflow's and TSN's default bound, in pixels.
pub const DEFAULT_BOUND: f32 = 20.0;
/// Quality of the x/y JPEGs (denseflow writes with OpenCV's default, 95).
pub const FLOW_JPEG_QUALITY: u8 = 95;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlowFormat {
    /// Two greyscale JPEGs, x and y.
    JpegXy,
    /// Middlebury `.flo`, float32, exact.
    Flo,
    /// Colour-wheel visualisation PNG.
    Color,
}

impl std::str::FromStr for FlowFormat {
    type Err = FlowError;
    fn from_str(s: &str) -> Result<FlowFormat> {
        match s {
            "jpeg-xy" | "jpeg" => Ok(FlowFormat::JpegXy),
            "flo" => Ok(FlowFormat::Flo),
            "color" | "colour" => Ok(FlowFormat::Color),
            other => Err(FlowError::UnknownFormat(other.to_string())),
        }
    }
}

/// `v = clamp(round(255·(f+b)/(2b)), 0, 255)`: −b → 0, 0 → 128, +b → 255.
pub fn quantize(f: f32, bound: f32) -> u8 {
    (255.0 * (f + bound) / (2.0 * bound))
        .round()
        .clamp(0.0, 255.0) as u8
}

impl FlowField {
    /// The x and y planes quantized with `bound`.
    pub fn quantized(&self, bound: f32) -> Result<(Vec<u8>, Vec<u8>)> {
        if !(bound.is_finite() && bound > 0.0) {
            return Err(FlowError::BadBound(bound));
        }
        let x = self
            .data
            .chunks_exact(2)
            .map(|p| quantize(p[0], bound))
            .collect();
        let y = self
            .data
            .chunks_exact(2)
            .map(|p| quantize(p[1], bound))
            .collect();
        Ok((x, y))
    }

    /// One plane of the denseflow pair as a greyscale JPEG: flow_x when `x`, else flow_y.
    pub fn to_jpeg_plane(&self, bound: f32, x: bool) -> Result<Vec<u8>> {
        let (px, py) = self.quantized(bound)?;
        gray_jpeg(if x { &px } else { &py }, self.width, self.height)
    }

    /// The denseflow pair: (flow_x JPEG, flow_y JPEG).
    pub fn to_jpeg_xy(&self, bound: f32) -> Result<(Vec<u8>, Vec<u8>)> {
        let (x, y) = self.quantized(bound)?;
        Ok((
            gray_jpeg(&x, self.width, self.height)?,
            gray_jpeg(&y, self.width, self.height)?,
        ))
    }

    /// Middlebury `.flo`: "PIEH", width, height, then (u, v) float32 little-endian.
    pub fn to_flo(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.data.len() * 4);
        out.extend_from_slice(&202021.25f32.to_le_bytes());
        out.extend_from_slice(&(self.width as i32).to_le_bytes());
        out.extend_from_slice(&(self.height as i32).to_le_bytes());
        for v in &self.data {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    pub fn from_flo(bytes: &[u8]) -> Result<FlowField> {
        if bytes.len() < 12 || bytes[..4] != 202021.25f32.to_le_bytes() {
            return Err(FlowError::BadFlo("missing PIEH magic".into()));
        }
        let w = i32::from_le_bytes(bytes[4..8].try_into().unwrap());
        let h = i32::from_le_bytes(bytes[8..12].try_into().unwrap());
        if w <= 0 || h <= 0 || w > 1 << 16 || h > 1 << 16 {
            return Err(FlowError::BadFlo(format!("implausible size {w}x{h}")));
        }
        let n = w as usize * h as usize * 2;
        if bytes.len() != 12 + n * 4 {
            return Err(FlowError::BadFlo(format!(
                "{w}x{h} needs {} bytes, file has {}",
                12 + n * 4,
                bytes.len()
            )));
        }
        let data = bytes[12..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        Ok(FlowField {
            width: w as u32,
            height: h as u32,
            data,
        })
    }

    /// Middlebury colour coding (hue = direction, saturation = magnitude normalised by the
    /// largest known motion), as PNG.
    pub fn to_color_png(&self) -> Result<Vec<u8>> {
        let known =
            |u: f32, v: f32| u.is_finite() && v.is_finite() && u.abs() <= 1e9 && v.abs() <= 1e9;
        let max_rad = self
            .data
            .chunks_exact(2)
            .filter(|p| known(p[0], p[1]))
            .map(|p| (p[0] * p[0] + p[1] * p[1]).sqrt())
            .fold(0f32, f32::max)
            .max(f32::EPSILON);
        let wheel = color_wheel();
        let mut rgb = Vec::with_capacity(self.data.len() / 2 * 3);
        for p in self.data.chunks_exact(2) {
            if !known(p[0], p[1]) {
                rgb.extend_from_slice(&[0, 0, 0]);
                continue;
            }
            let (u, v) = (p[0] / max_rad, p[1] / max_rad);
            let rad = (u * u + v * v).sqrt();
            let a = (-v).atan2(-u) / std::f32::consts::PI;
            let fk = (a + 1.0) / 2.0 * (wheel.len() - 1) as f32;
            let k0 = fk.floor() as usize % wheel.len();
            let k1 = (k0 + 1) % wheel.len();
            let f = fk - fk.floor();
            for c in 0..3 {
                let col = (1.0 - f) * wheel[k0][c] / 255.0 + f * wheel[k1][c] / 255.0;
                let col = if rad <= 1.0 {
                    1.0 - rad * (1.0 - col)
                } else {
                    col * 0.75
                };
                rgb.push((255.0 * col).round().clamp(0.0, 255.0) as u8);
            }
        }
        let image = frameflow_media::RgbImage {
            width: self.width,
            height: self.height,
            data: rgb,
        };
        frameflow_media::encode_image(&image, frameflow_media::ImageFormat::Png, 0)
            .map_err(|e| FlowError::Encode(e.to_string()))
    }
}

/// The 55-colour Middlebury wheel (RY 15, YG 6, GC 4, CB 11, BM 13, MR 6).
fn color_wheel() -> Vec<[f32; 3]> {
    let mut w = Vec::with_capacity(55);
    let ramp = |i: usize, n: usize| 255.0 * i as f32 / n as f32;
    for i in 0..15 {
        w.push([255.0, ramp(i, 15), 0.0]);
    }
    for i in 0..6 {
        w.push([255.0 - ramp(i, 6), 255.0, 0.0]);
    }
    for i in 0..4 {
        w.push([0.0, 255.0, ramp(i, 4)]);
    }
    for i in 0..11 {
        w.push([0.0, 255.0 - ramp(i, 11), 255.0]);
    }
    for i in 0..13 {
        w.push([ramp(i, 13), 0.0, 255.0]);
    }
    for i in 0..6 {
        w.push([255.0, 0.0, 255.0 - ramp(i, 6)]);
    }
    w
}

fn gray_jpeg(plane: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    frameflow_media::encode_gray_jpeg(plane, width, height, FLOW_JPEG_QUALITY)
        .map_err(|e| FlowError::Encode(e.to_string()))
}
