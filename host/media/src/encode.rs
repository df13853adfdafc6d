//! Image encoding of RGB24 frames: JPEG and WebP (with a quality) and PNG, plus raw `rgb24`.

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
    /// Lossy WebP (libwebp through FFmpeg).
    Webp,
}

impl ImageFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Png => "png",
            ImageFormat::Rgb24 => "rgb",
            ImageFormat::Webp => "webp",
        }
    }

    pub fn mime_type(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Rgb24 => "application/octet-stream",
            ImageFormat::Webp => "image/webp",
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
            "webp" => Ok(ImageFormat::Webp),
            other => Err(MediaError::InvalidOption(format!("unknown image format '{other}' (jpeg, png, webp, rgb24)"))),
        }
    }
}

pub const DEFAULT_JPEG_QUALITY: u8 = 90;

/// Encodes an image; `quality` (1..=100) applies to JPEG and WebP.
pub fn encode_image(image: &RgbImage, format: ImageFormat, quality: u8) -> Result<Vec<u8>> {
    match format {
        ImageFormat::Rgb24 => Ok(image.data.clone()),
        ImageFormat::Jpeg => encode_jpeg(&image.data, image.width, image.height, jpeg_encoder::ColorType::Rgb, quality),
        ImageFormat::Png => encode_png(image),
        ImageFormat::Webp => encode_webp(image, quality),
    }
}

/// One lossy WebP picture from FFmpeg's libwebp encoder, fed BGRA so libwebp does its own
/// (sharper) conversion to 4:2:0.
fn encode_webp(image: &RgbImage, quality: u8) -> Result<Vec<u8>> {
    use ffmpeg_next as ffmpeg;
    crate::init();
    let failed = |e: ffmpeg::Error| MediaError::Encode(format!("WebP: {e}"));
    let codec = ffmpeg::encoder::find_by_name("libwebp").ok_or_else(|| MediaError::Encode("this FFmpeg has no libwebp encoder".into()))?;
    let mut setup = ffmpeg::codec::context::Context::new_with_codec(codec).encoder().video().map_err(failed)?;
    setup.set_width(image.width);
    setup.set_height(image.height);
    setup.set_format(ffmpeg::format::Pixel::BGRA);
    setup.set_time_base(ffmpeg::Rational::new(1, 25));
    let mut options = ffmpeg::Dictionary::new();
    options.set("quality", &quality.clamp(1, 100).to_string());
    let mut encoder = setup.open_as_with(codec, options).map_err(failed)?;
    let mut frame = ffmpeg::frame::Video::new(ffmpeg::format::Pixel::BGRA, image.width, image.height);
    let stride = frame.stride(0);
    let row_bytes = image.width as usize * 3;
    let data = frame.data_mut(0);
    for (y, row) in image.data.chunks_exact(row_bytes.max(1)).enumerate() {
        for (x, p) in row.chunks_exact(3).enumerate() {
            data[y * stride + x * 4..y * stride + x * 4 + 4].copy_from_slice(&[p[2], p[1], p[0], 255]);
        }
    }
    frame.set_pts(Some(0));
    encoder.send_frame(&frame).map_err(failed)?;
    encoder.send_eof().map_err(failed)?;
    let mut packet = ffmpeg::Packet::empty();
    encoder.receive_packet(&mut packet).map_err(failed)?;
    Ok(packet.data().unwrap_or_default().to_vec())
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
