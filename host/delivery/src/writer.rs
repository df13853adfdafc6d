//! [`VideoWriter`]: pictures encoded as they come — H.264 (libx264 veryfast, CRF 23,
//! yuv420p) in an MP4 file — for outputs made frame by frame, such as a stream's processed
//! video with its boxes drawn (seed 003's `video_out`). The file is complete (its index
//! written) only after [`VideoWriter::finish`].

use std::path::{Path, PathBuf};

use ffmpeg_next as ffmpeg;
use ffmpeg::format::Pixel;
use ffmpeg::{Dictionary, Packet, Rational};

use crate::DeliveryError;

const CONTAINER: &str = "mp4";

fn failed(e: ffmpeg::Error) -> DeliveryError {
    DeliveryError::Write { container: CONTAINER, reason: e.to_string() }
}

pub struct VideoWriter {
    output: ffmpeg::format::context::Output,
    encoder: ffmpeg::encoder::Video,
    scaler: ffmpeg::software::scaling::Context,
    rgb: ffmpeg::frame::Video,
    yuv: ffmpeg::frame::Video,
    time_base: Rational,
    stream_time_base: Rational,
    width: u32,
    height: u32,
    /// The lowest pts the next picture may have.
    next_pts: i64,
    /// One frame's duration in the time base: the last frame's too, so the MP4's edit
    /// list keeps it.
    frame_ticks: i64,
    path: PathBuf,
}

impl VideoWriter {
    /// A writer of `width`×`height` pictures at `fps` into the file at `path` (odd sides
    /// lose their last row or column: 4:2:0 needs even ones).
    pub fn create(path: &Path, width: u32, height: u32, fps: f64) -> Result<VideoWriter, DeliveryError> {
        frameflow_media::init();
        let (w, h) = (width & !1, height & !1);
        if w == 0 || h == 0 {
            return Err(DeliveryError::Invalid(format!("a {width}x{height} picture is too small to encode")));
        }
        let fps = if fps.is_finite() && fps > 0.0 && fps <= 1000.0 { fps } else { 25.0 };
        let mut output = ffmpeg::format::output_as(&path, CONTAINER).map_err(failed)?;
        let codec = ffmpeg::encoder::find_by_name("libx264").ok_or_else(|| DeliveryError::Write { container: CONTAINER, reason: "FFmpeg has no libx264 encoder".into() })?;
        let time_base = Rational::new(1, 90_000);
        let mut setup = ffmpeg::codec::context::Context::new_with_codec(codec).encoder().video().map_err(failed)?;
        setup.set_width(w);
        setup.set_height(h);
        setup.set_format(Pixel::YUV420P);
        setup.set_time_base(time_base);
        setup.set_frame_rate(Some(Rational::from(fps)));
        setup.set_colorspace(ffmpeg::color::Space::SMPTE170M);
        setup.set_color_range(ffmpeg::color::Range::MPEG);
        if output.format().flags().contains(ffmpeg::format::Flags::GLOBAL_HEADER) {
            setup.set_flags(ffmpeg::codec::Flags::GLOBAL_HEADER);
        }
        let mut options = Dictionary::new();
        options.set("preset", "veryfast");
        options.set("crf", "23");
        let encoder = setup.open_as_with(codec, options).map_err(failed)?;
        let mut stream = output.add_stream(codec).map_err(failed)?;
        stream.set_parameters(&encoder);
        stream.set_time_base(time_base);
        output.write_header().map_err(failed)?;
        let stream_time_base = output.stream(0).map(|s| s.time_base()).unwrap_or(time_base);
        let scaler = ffmpeg::software::scaling::Context::get(Pixel::RGB24, w, h, Pixel::YUV420P, w, h, ffmpeg::software::scaling::Flags::BICUBIC).map_err(failed)?;
        Ok(VideoWriter {
            output,
            encoder,
            scaler,
            rgb: ffmpeg::frame::Video::new(Pixel::RGB24, w, h),
            yuv: ffmpeg::frame::Video::empty(),
            time_base,
            stream_time_base,
            width,
            height,
            next_pts: 0,
            frame_ticks: (90_000.0 / fps).round().max(1.0) as i64,
            path: path.to_path_buf(),
        })
    }

    /// Encodes the next picture (RGB24, the size given to [`Self::create`]) at `seconds`
    /// from the start; pictures whose time does not move on are given the next tick.
    pub fn write(&mut self, rgb: &[u8], seconds: f64) -> Result<(), DeliveryError> {
        let (w, h) = (self.rgb.width() as usize, self.rgb.height() as usize);
        if rgb.len() < self.width as usize * self.height as usize * 3 {
            return Err(DeliveryError::Invalid(format!("a picture of {} bytes is not {}x{} RGB24", rgb.len(), self.width, self.height)));
        }
        let stride = self.rgb.stride(0);
        let row = self.width as usize * 3;
        let data = self.rgb.data_mut(0);
        for y in 0..h {
            data[y * stride..y * stride + w * 3].copy_from_slice(&rgb[y * row..y * row + w * 3]);
        }
        self.scaler.run(&self.rgb, &mut self.yuv).map_err(failed)?;
        let ticks = (seconds.max(0.0) * f64::from(self.time_base.denominator()) / f64::from(self.time_base.numerator())).round() as i64;
        let pts = ticks.max(self.next_pts);
        self.next_pts = pts + 1;
        self.yuv.set_pts(Some(pts));
        self.encoder.send_frame(&self.yuv).map_err(failed)?;
        self.drain()
    }

    fn drain(&mut self) -> Result<(), DeliveryError> {
        let mut packet = Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(0);
            if packet.duration() <= 0 {
                packet.set_duration(self.frame_ticks);
            }
            packet.rescale_ts(self.time_base, self.stream_time_base);
            packet.write_interleaved(&mut self.output).map_err(failed)?;
        }
        Ok(())
    }

    /// Flushes the encoder and writes the file's index.
    pub fn finish(mut self) -> Result<PathBuf, DeliveryError> {
        self.encoder.send_eof().map_err(failed)?;
        self.drain()?;
        self.output.write_trailer().map_err(failed)?;
        Ok(self.path)
    }
}
