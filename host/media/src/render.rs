//! Turning a decoded frame into RGB24 pixels: `RenderOptions` (autorotation, crop, resize)
//! and `Renderer`, an FFmpeg filter graph built the way the ffmpeg CLI builds it, so that
//! the pixels are bit-identical to `ffmpeg -i V -vf "select=eq(n\,N),format=rgb24"`:
//! the same autorotation filters, the same auto-inserted swscale conversion with the CLI's
//! default `flags=bicubic`, and the frame's own colour matrix and range. When nothing but
//! that conversion is asked, the renderer makes it itself (`RgbScaler`: the same swscale
//! set-up) straight into the caller's memory, without the graph's frame to copy out.

use ffmpeg_next as ffmpeg;
use ffmpeg::frame;
use serde::{Deserialize, Serialize};

use crate::error::{FfmpegContext, MediaError, Result};
use crate::probe::StreamFacts;

/// A crop rectangle in displayed (post-rotation) pixel coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Crop {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl std::str::FromStr for Crop {
    type Err = MediaError;
    /// Parses `x,y,w,h`.
    fn from_str(s: &str) -> Result<Crop> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let bad = || MediaError::InvalidOption(format!("crop must be x,y,w,h with non-negative integers and w,h > 0, got '{s}'"));
        if parts.len() != 4 {
            return Err(bad());
        }
        let v: Vec<u32> = parts.iter().map(|p| p.parse::<u32>().map_err(|_| bad())).collect::<Result<_>>()?;
        if v[2] == 0 || v[3] == 0 {
            return Err(bad());
        }
        Ok(Crop { x: v[0], y: v[1], width: v[2], height: v[3] })
    }
}

/// Resampling filter for resizes (swscale's names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResizeFilter {
    #[default]
    Bilinear,
    Bicubic,
    Area,
    Lanczos,
    Neighbor,
}

impl ResizeFilter {
    fn sws_name(self) -> &'static str {
        match self {
            ResizeFilter::Bilinear => "bilinear",
            ResizeFilter::Bicubic => "bicubic",
            ResizeFilter::Area => "area",
            ResizeFilter::Lanczos => "lanczos",
            ResizeFilter::Neighbor => "neighbor",
        }
    }
}

impl std::str::FromStr for ResizeFilter {
    type Err = MediaError;
    fn from_str(s: &str) -> Result<ResizeFilter> {
        Ok(match s {
            "bilinear" => ResizeFilter::Bilinear,
            "bicubic" => ResizeFilter::Bicubic,
            "area" => ResizeFilter::Area,
            "lanczos" => ResizeFilter::Lanczos,
            "neighbor" | "nearest" => ResizeFilter::Neighbor,
            other => {
                return Err(MediaError::InvalidOption(format!(
                    "unknown resize filter '{other}' (bilinear, bicubic, area, lanczos, neighbor)"
                )))
            }
        })
    }
}

/// How to turn a decoded frame into RGB: applied in this order, rotate, crop, resize.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RenderOptions {
    /// Apply the display matrix like the ffmpeg CLI and browsers (default true).
    pub autorotate: bool,
    pub crop: Option<Crop>,
    /// Output width; with only one of width/height the other keeps the aspect ratio.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Letterbox: the (cropped, resized) picture centred on a black canvas of this size.
    pub pad: Option<(u32, u32)>,
    pub resize_filter: ResizeFilter,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { autorotate: true, crop: None, width: None, height: None, pad: None, resize_filter: ResizeFilter::Bilinear }
    }
}

/// Largest output side we accept; guards against requests that would allocate gigabytes.
pub const MAX_OUTPUT_SIDE: u32 = 16384;

impl RenderOptions {
    /// Checks the options against the displayed frame size; errors name the bad value.
    pub fn validate(&self, display_width: u32, display_height: u32) -> Result<()> {
        if let Some(c) = self.crop {
            if c.x as u64 + c.width as u64 > display_width as u64 || c.y as u64 + c.height as u64 > display_height as u64 {
                return Err(MediaError::InvalidOption(format!(
                    "crop {},{},{},{} does not fit in the {display_width}x{display_height} frame",
                    c.x, c.y, c.width, c.height
                )));
            }
        }
        if let Some((w, h)) = self.pad {
            let (pw, ph) = self.picture_size(display_width, display_height);
            if w < pw || h < ph || w > MAX_OUTPUT_SIDE || h > MAX_OUTPUT_SIDE {
                return Err(MediaError::InvalidOption(format!("a {w}x{h} canvas cannot hold the {pw}x{ph} picture (at most {MAX_OUTPUT_SIDE} a side)")));
            }
        }
        for (name, v) in [("width", self.width), ("height", self.height)] {
            if let Some(v) = v {
                if v == 0 || v > MAX_OUTPUT_SIDE {
                    return Err(MediaError::InvalidOption(format!("{name} must be 1..={MAX_OUTPUT_SIDE}, got {v}")));
                }
            }
        }
        Ok(())
    }

    /// The size of the rendered frame for a `display_width`×`display_height` video: the crop,
    /// then the resize (one side given: the other keeps the aspect ratio, which FFmpeg may
    /// round one pixel differently). For budgeting memory before decoding.
    pub fn output_size(&self, display_width: u32, display_height: u32) -> (u32, u32) {
        if let Some(canvas) = self.pad {
            return canvas;
        }
        self.picture_size(display_width, display_height)
    }

    /// The picture's size after crop and resize, before any padding.
    fn picture_size(&self, display_width: u32, display_height: u32) -> (u32, u32) {
        let (bw, bh) = self.crop.map(|c| (c.width, c.height)).unwrap_or((display_width, display_height));
        let scaled = |side: u32, num: u32, den: u32| ((side as u64 * num as u64).div_ceil(den.max(1) as u64)).max(1) as u32;
        match (self.width, self.height) {
            (Some(w), Some(h)) => (w, h),
            (Some(w), None) => (w, scaled(w, bh, bw)),
            (None, Some(h)) => (scaled(h, bw, bh), h),
            (None, None) => (bw, bh),
        }
    }

    /// The filter chain after the buffer source, as the CLI would build it ([`CONVERSION_ONLY`]
    /// when nothing is asked but RGB).
    fn filter_spec(&self, facts: &StreamFacts) -> String {
        let mut chain: Vec<String> = Vec::new();
        if self.autorotate {
            chain.extend(autorotate_filters(facts));
        }
        chain.push(CONVERSION_ONLY.into());
        if let Some(c) = self.crop {
            chain.push(format!("crop={}:{}:{}:{}:exact=1", c.width, c.height, c.x, c.y));
        }
        if self.width.is_some() || self.height.is_some() {
            let w = self.width.map(|v| v as i64).unwrap_or(-1);
            let h = self.height.map(|v| v as i64).unwrap_or(-1);
            chain.push(format!("scale={w}:{h}:flags={}", self.resize_filter.sws_name()));
        }
        if let Some((w, h)) = self.pad {
            chain.push(format!("pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:black"));
        }
        chain.join(",")
    }
}

/// The filters `ffmpeg` (fftools, 5.1) inserts for a display matrix.
fn autorotate_filters(facts: &StreamFacts) -> Vec<String> {
    let Some(m) = facts.display_matrix else { return vec![] };
    let theta = facts.autorotate_theta();
    let near = |a: f64| (theta - a).abs() < 1.0;
    if near(90.0) {
        vec![format!("transpose={}", if m[3] > 0 { "cclock_flip" } else { "clock" })]
    } else if near(180.0) {
        let mut v = vec![];
        if m[0] < 0 {
            v.push("hflip".to_string());
        }
        if m[4] < 0 {
            v.push("vflip".to_string());
        }
        v
    } else if near(270.0) {
        vec![format!("transpose={}", if m[3] < 0 { "clock_flip" } else { "cclock" })]
    } else if theta.abs() > 1.0 {
        vec![format!("rotate={}", theta * std::f64::consts::PI / 180.0)]
    } else if m[4] < 0 {
        vec!["vflip".to_string()]
    } else {
        vec![]
    }
}

/// Tightly packed RGB24 pixels, row-major HWC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbImage {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

/// Borrowed RGB24 rows straight out of the filter graph: no copy until the caller makes one.
pub struct RgbView<'a> {
    pub width: u32,
    pub height: u32,
    stride: usize,
    data: &'a [u8],
}

impl<'a> RgbView<'a> {
    /// A view over tightly packed rows (tests build batches from these).
    #[cfg(test)]
    pub(crate) fn packed(width: u32, height: u32, data: &'a [u8]) -> RgbView<'a> {
        RgbView { width, height, stride: width as usize * 3, data }
    }

    /// Each row's `width * 3` bytes, top to bottom.
    pub fn rows(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let row_bytes = self.width as usize * 3;
        (0..self.height as usize).map(move |r| &self.data[r * self.stride..r * self.stride + row_bytes])
    }

    /// The pixels packed into an owned image.
    pub fn to_image(&self) -> RgbImage {
        let mut data = Vec::with_capacity(self.width as usize * self.height as usize * 3);
        for row in self.rows() {
            data.extend_from_slice(row);
        }
        RgbImage { width: self.width, height: self.height, data }
    }
}

/// The filter chain that only converts to RGB24: the case the renderer may do without a graph.
const CONVERSION_ONLY: &str = "format=rgb24";

/// Turns decoded frames of one input format into RGB24, reused for every such frame.
pub(crate) struct Renderer {
    key: (u32, u32, i32, RenderOptions),
    how: Conversion,
}

/// How a [`Renderer`] converts.
enum Conversion {
    /// The filter graph the CLI would build (rotation, crop, resize, pad; and any picture the
    /// direct conversion does not take).
    Graph { graph: ffmpeg::filter::Graph, out: frame::Video },
    /// Only the RGB conversion: swscale configured as the graph's auto-inserted `scale`
    /// filter is, writing straight into the caller's memory (or into `rows`, to lend them).
    /// One copy fewer per frame: the graph's output frame no longer has to be copied out.
    Direct { scaler: crate::ffi::RgbScaler, rows: Vec<u8> },
}

impl Renderer {
    pub fn matches(&self, input: &frame::Video, options: &RenderOptions) -> bool {
        self.key == input_key(input, options)
            && match &self.how {
                Conversion::Direct { scaler, .. } => scaler.fits(input),
                Conversion::Graph { .. } => true,
            }
    }

    pub fn new(input: &frame::Video, facts: &StreamFacts, options: &RenderOptions) -> Result<Renderer> {
        let spec = options.filter_spec(facts);
        let key = input_key(input, options);
        if spec == CONVERSION_ONLY && direct_takes(input) {
            let scaler = crate::ffi::RgbScaler::new(input)
                .map_err(ffmpeg::Error::from)
                .ctx(|| format!("preparing the RGB conversion of a {}x{} frame", input.width(), input.height()))?;
            return Ok(Renderer { key, how: Conversion::Direct { scaler, rows: Vec::new() } });
        }
        let mut graph = ffmpeg::filter::Graph::new();
        // One thread: the graph only converts (and maybe crops, rotates, resizes) one frame
        // at a time, and handing slices of a frame to worker threads cost more in wake-ups
        // than it saved (a quarter of sequential decode's time at 480×270 went to the
        // scheduler). The pixels do not depend on it.
        crate::ffi::set_graph_threads(&mut graph, 1);
        let sar = input.aspect_ratio();
        let (sar_n, sar_d) = if sar.numerator() > 0 && sar.denominator() > 0 { (sar.numerator(), sar.denominator()) } else { (0, 1) };
        let args = format!(
            "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect={sar_n}/{sar_d}",
            input.width(),
            input.height(),
            raw_format(input),
            facts.time_base.0,
            facts.time_base.1.max(1),
        );
        let err = |what: &str| format!("building filter graph '{spec}' ({what})");
        graph.add(&ffmpeg::filter::find("buffer").expect("buffer filter"), "in", &args).ctx(|| err("source"))?;
        graph.add(&ffmpeg::filter::find("buffersink").expect("buffersink filter"), "out", "").ctx(|| err("sink"))?;
        // The CLI's default `-sws_flags`, which decides the auto-inserted conversion's pixels.
        crate::ffi::set_graph_scaler_flags(&mut graph, c"flags=bicubic");
        graph.output("in", 0).and_then(|p| p.input("out", 0)).and_then(|p| p.parse(&spec)).ctx(|| err("parse"))?;
        graph.validate().ctx(|| err("configure"))?;
        Ok(Renderer { key, how: Conversion::Graph { graph, out: frame::Video::empty() } })
    }

    /// Runs one frame through the conversion and lends its RGB rows to `use_rows`.
    pub fn render<R>(&mut self, input: &frame::Video, use_rows: impl FnOnce(RgbView<'_>) -> R) -> Result<R> {
        match &mut self.how {
            Conversion::Graph { graph, out } => {
                graph.get("in").expect("source").source().add(input).ctx(|| "filtering frame".into())?;
                graph.get("out").expect("sink").sink().frame(out).ctx(|| "filtering frame".into())?;
                let view = RgbView { width: out.width(), height: out.height(), stride: out.stride(0), data: out.data(0) };
                Ok(use_rows(view))
            }
            Conversion::Direct { scaler, rows } => {
                let (w, h) = (input.width(), input.height());
                rows.resize(w as usize * h as usize * 3, 0);
                convert(scaler, input, rows)?;
                Ok(use_rows(RgbView { width: w, height: h, stride: w as usize * 3, data: rows }))
            }
        }
    }

    /// Renders one frame into `dst`, exactly one packed frame of `size` (what the options
    /// give): straight from swscale when the conversion is direct.
    pub fn render_into(&mut self, input: &frame::Video, size: (u32, u32), dst: &mut [u8]) -> Result<()> {
        let len = dst.len();
        let check = |w: u32, h: u32| {
            if (w, h) == size && len == w as usize * h as usize * 3 {
                Ok(())
            } else {
                Err(MediaError::InvalidOption(format!("a frame rendered as {w}x{h}, not the {}x{} asked", size.0, size.1)))
            }
        };
        if let Conversion::Direct { scaler, .. } = &mut self.how {
            check(input.width(), input.height())?;
            return convert(scaler, input, dst);
        }
        let row_bytes = size.0 as usize * 3;
        self.render(input, |view| {
            check(view.width, view.height)?;
            for (to, from) in dst.chunks_exact_mut(row_bytes).zip(view.rows()) {
                to.copy_from_slice(from);
            }
            Ok(())
        })?
    }
}

/// Whether the direct conversion may write `input`'s rows packed into the caller's memory:
/// widths that are a multiple of 32 pixels. swscale's x86 code converts several pixels per
/// step and stores whole vector registers, so at other widths it writes past a packed row's
/// end (it corrupted the heap at 200 pixels), and its YUV→RGB code skips a row's last pixels
/// when the stride has no room for a whole step; the graph's frames are padded for it.
/// torchcodec keeps the same rule. RGB24 input is passed through by the graph, not converted.
fn direct_takes(input: &frame::Video) -> bool {
    let format = raw_format(input);
    input.width().is_multiple_of(32)
        && input.width() > 0
        && input.height() > 0
        && format != ffmpeg::ffi::AVPixelFormat::AV_PIX_FMT_RGB24 as i32
        && format != ffmpeg::ffi::AVPixelFormat::AV_PIX_FMT_PAL8 as i32
}

fn convert(scaler: &mut crate::ffi::RgbScaler, input: &frame::Video, dst: &mut [u8]) -> Result<()> {
    scaler
        .convert(input, dst, input.width() as usize * 3)
        .map_err(ffmpeg::Error::from)
        .ctx(|| format!("converting a {}x{} frame to RGB", input.width(), input.height()))
}

fn raw_format(f: &frame::Video) -> i32 {
    crate::ffi::frame_format(f)
}

fn input_key(f: &frame::Video, options: &RenderOptions) -> (u32, u32, i32, RenderOptions) {
    (f.width(), f.height(), raw_format(f), options.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_size_follows_crop_then_resize() {
        let o = |crop: Option<Crop>, width, height| RenderOptions { crop, width, height, ..RenderOptions::default() };
        assert_eq!(o(None, None, None).output_size(1920, 1080), (1920, 1080));
        assert_eq!(o(None, Some(640), None).output_size(1920, 1080), (640, 360));
        assert_eq!(o(None, None, Some(100)).output_size(1920, 1080), (178, 100));
        let crop = Some(Crop { x: 10, y: 20, width: 200, height: 100 });
        assert_eq!(o(crop, None, None).output_size(320, 240), (200, 100));
        assert_eq!(o(crop, Some(100), Some(64)).output_size(320, 240), (100, 64));
        assert_eq!(o(crop, Some(50), None).output_size(320, 240), (50, 25));
    }
}
