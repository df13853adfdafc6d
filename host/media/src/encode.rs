//! Image encoding of RGB24 frames: JPEG (with a quality) and PNG, plus raw `rgb24`.

use serde::{Deserialize, Serialize};

use crate::error::{MediaError, Result};
use crate::render::RgbImage;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    #[default]
    Jpeg,
    Png,
    /// Raw HWC bytes, no header.
    Rgb24,
}

impl ImageFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Png => "png",
            ImageFormat::Rgb24 => "rgb",
        }
    }

    pub fn mime_type(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Rgb24 => "application/octet-stream",
        }
    }
}

impl std::str::FromStr for ImageFormat {
    type Err = MediaError;
    fn from_str(s: &str) -> Result<ImageFormat> {
        match s {
            "jpeg" | "jpg" => Ok(ImageFormat::Jpeg),
            "png" => Ok(ImageFormat::Png),
            "rgb24" | "rgb" | "raw" => Ok(ImageFormat::Rgb24),
            other => Err(MediaError::InvalidOption(format!("unknown image format '{other}' (jpeg, png, rgb24)"))),
        }
    }
}

pub const DEFAULT_JPEG_QUALITY: u8 = 90;

/// Encodes an image; `quality` (1..=100) applies to JPEG only.
pub fn encode_image(image: &RgbImage, format: ImageFormat, quality: u8) -> Result<Vec<u8>> {
    match format {
        ImageFormat::Rgb24 => Ok(image.data.clone()),
        ImageFormat::Jpeg => encode_jpeg(&image.data, image.width, image.height, jpeg_encoder::ColorType::Rgb, quality),
        ImageFormat::Png => encode_png(image),
    }
}

/// A greyscale JPEG of one 8-bit plane (e.g. a quantized optical-flow component).
pub fn encode_gray_jpeg(plane: &[u8], width: u32, height: u32, quality: u8) -> Result<Vec<u8>> {
    encode_jpeg(plane, width, height, jpeg_encoder::ColorType::Luma, quality)
}

fn encode_jpeg(data: &[u8], width: u32, height: u32, color: jpeg_encoder::ColorType, quality: u8) -> Result<Vec<u8>> {
    if !(1..=100).contains(&quality) {
        return Err(MediaError::InvalidOption(format!("JPEG quality must be 1..=100, got {quality}")));
    }
    let (Ok(w), Ok(h)) = (u16::try_from(width), u16::try_from(height)) else {
        return Err(MediaError::Encode(format!("{width}x{height} is too large for JPEG (65535 max)")));
    };
    let mut out = Vec::with_capacity(data.len() / 8);
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(data, w, h, color)
        .map_err(|e| MediaError::Encode(e.to_string()))?;
    Ok(out)
}

fn encode_png(image: &RgbImage) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(image.data.len() / 2);
    {
        let mut enc = png::Encoder::new(&mut out, image.width, image.height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut writer = enc.write_header().map_err(|e| MediaError::Encode(e.to_string()))?;
        writer.write_image_data(&image.data).map_err(|e| MediaError::Encode(e.to_string()))?;
    }
    Ok(out)
}
