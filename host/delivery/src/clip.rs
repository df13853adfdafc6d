//! [`encode_clip`]: frames `first..=last` of a video re-encoded — exactly those frames, in
//! order, the first and last being the frames `/frame?index=` serves — as H.264 (+ AAC) in
//! MPEG-TS or fragmented MP4, or as an animated GIF or WebP preview, written to any
//! [`Write`] as the encoder produces it (a response body: nothing is held whole).
//!
//! Frames come from the media core's decoder and renderer (so rotation, sizes and frame
//! numbering are the ones every other route uses), are converted by swscale, and encoded by
//! libx264, FFmpeg's GIF encoder (through `palettegen`/`paletteuse`, a palette per frame) or
//! libwebp. H.264 clips keep the source's frame timing (variable frame rates stay variable);
//! previews pick frames at their own `fps`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use ffmpeg_next as ffmpeg;
use ffmpeg::format::Pixel;
use ffmpeg::{Dictionary, Packet, Rational};
use frameflow_media::{FrameId, MediaError, RenderOptions, RgbView, Video};

use crate::audio::{encode_span, AudioTrack};
use crate::burn_in::burn_in;
use crate::DeliveryError;

/// What a clip is encoded as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClipFormat {
    /// H.264 (+ AAC) in MPEG-TS: streams as it is encoded (seed 002's `/clip`).
    Ts,
    /// H.264 (+ AAC) in fragmented MP4 (plays while it downloads).
    Mp4,
    /// An animated GIF, a palette per frame.
    Gif,
    /// An animated WebP (libwebp, lossy).
    Webp,
}

impl ClipFormat {
    /// From a name users write: `ts`, `mp4`, `gif`, `webp`.
    pub fn parse(name: &str) -> Option<ClipFormat> {
        match name.to_ascii_lowercase().as_str() {
            "ts" | "mpegts" => Some(ClipFormat::Ts),
            "mp4" => Some(ClipFormat::Mp4),
            "gif" => Some(ClipFormat::Gif),
            "webp" => Some(ClipFormat::Webp),
            _ => None,
        }
    }

    /// The HTTP media type of the output.
    pub fn content_type(self) -> &'static str {
        match self {
            ClipFormat::Ts => "video/mp2t",
            ClipFormat::Mp4 => "video/mp4",
            ClipFormat::Gif => "image/gif",
            ClipFormat::Webp => "image/webp",
        }
    }

    fn muxer(self) -> &'static str {
        match self {
            ClipFormat::Ts => "mpegts",
            ClipFormat::Mp4 => "mp4",
            ClipFormat::Gif => "gif",
            ClipFormat::Webp => "webp",
        }
    }

    /// An animated image rather than a video with sound.
    pub fn is_animation(self) -> bool {
        matches!(self, ClipFormat::Gif | ClipFormat::Webp)
    }
}

/// Which frames, and how they are encoded.
#[derive(Clone, Debug)]
pub struct ClipSpec {
    /// First and last frame, presentation indices, inclusive.
    pub first: usize,
    pub last: usize,
    pub format: ClipFormat,
    /// Animations: frames per second of the preview (frames are picked at that rate; the
    /// default keeps every frame of the range). Ignored by H.264 clips, which keep the
    /// source's timing.
    pub fps: Option<f64>,
    /// Output size (one side alone keeps the aspect ratio).
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The source's audio over the same span (H.264 clips only).
    pub audio: bool,
    /// Draw "CLIP #n" (the source frame index) into every frame.
    pub burn_in: bool,
}

/// What an encode produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipReport {
    pub frames: u64,
    pub width: u32,
    pub height: u32,
    pub audio_packets: u64,
}

/// The frames a clip holds: every frame of the range, or for an animation with `fps`, the
/// frame shown at each tick of that rate.
pub fn clip_frames(video: &Video, spec: &ClipSpec) -> Result<Vec<usize>, DeliveryError> {
    let count = video.frame_count();
    if spec.first > spec.last {
        return Err(DeliveryError::Invalid(format!("the clip's last frame {} is before its first {}", spec.last, spec.first)));
    }
    if spec.last >= count {
        return Err(MediaError::IndexOutOfRange { index: spec.last as u64, count }.into());
    }
    match spec.fps {
        Some(fps) if spec.format.is_animation() => {
            if !(fps.is_finite() && fps > 0.0 && fps <= 60.0) {
                return Err(DeliveryError::Invalid(format!("fps must be above 0 and at most 60, got {fps}")));
            }
            let (from, to) = (video.frame_id(spec.first).seconds, video.frame_id(spec.last).seconds);
            let mut picks = Vec::new();
            let mut k = 0u64;
            loop {
                let t = from + k as f64 / fps;
                if t > to + 1e-9 {
                    break;
                }
                let at = video.index().position_at_time(t).unwrap_or(spec.last).clamp(spec.first, spec.last);
                picks.push(at);
                k += 1;
            }
            Ok(picks)
        }
        _ => Ok((spec.first..=spec.last).collect()),
    }
}

/// When frame `i` stops showing: the next frame's time, or for the last frame of the video,
/// its time plus an average frame's length.
pub(crate) fn frame_end(video: &Video, i: usize) -> f64 {
    if i + 1 < video.frame_count() {
        return video.frame_id(i + 1).seconds;
    }
    let fps = video.info().avg_fps;
    video.frame_id(i).seconds + if fps > 0.0 { 1.0 / fps } else { 0.04 }
}

/// The encoder side of a clip, set up when the first frame's size is known.
struct Encoding {
    output: ffmpeg::format::context::Output,
    encoder: ffmpeg::encoder::Video,
    /// RGB24 in, the encoder's format out (H.264, WebP); GIF goes through `palette`.
    scaler: Option<ffmpeg::software::scaling::Context>,
    palette: Option<ffmpeg::filter::Graph>,
    rgb: ffmpeg::frame::Video,
    converted: ffmpeg::frame::Video,
    time_base: Rational,
    stream_time_base: Rational,
    /// The clip's audio, its output stream and that stream's time base.
    audio: Option<(AudioTrack, usize, Rational)>,
    audio_next: usize,
}

fn write_error(container: &'static str) -> impl Fn(ffmpeg::Error) -> DeliveryError {
    move |e| DeliveryError::Write { container, reason: e.to_string() }
}

/// Draws into each frame before it is encoded: the frame's id, its pixels (packed RGB24) and
/// their size (the clip's output size). Overlays such as detection boxes.
pub type Overlay<'a> = dyn FnMut(&FrameId, &mut [u8], u32, u32) + 'a;

/// Encodes the clip `spec` of `video` into `sink`. `cancel` (the request ending) stops it
/// between frames; a sink that fails (the client went away) stops it too.
pub fn encode_clip(video: &mut Video, spec: &ClipSpec, sink: impl Write + Send + 'static, cancel: &AtomicBool) -> Result<ClipReport, DeliveryError> {
    encode_clip_with(video, spec, sink, cancel, None)
}

/// [`encode_clip`] with an [`Overlay`] drawn into every frame (before the debug label).
pub fn encode_clip_with(
    video: &mut Video,
    spec: &ClipSpec,
    sink: impl Write + Send + 'static,
    cancel: &AtomicBool,
    mut overlay: Option<&mut Overlay<'_>>,
) -> Result<ClipReport, DeliveryError> {
    let picks = clip_frames(video, spec)?;
    let render = RenderOptions { width: spec.width, height: spec.height, ..RenderOptions::default() };
    let first_id = video.frame_id(spec.first);
    let span = (first_id.seconds, frame_end(video, spec.last));
    let audio = if spec.audio && !spec.format.is_animation() {
        encode_span(video.path(), span.0, span.1, spec.format == ClipFormat::Mp4, cancel)?
    } else {
        None
    };
    let muxer = spec.format.muxer();
    let io = ffmpeg::format::context::StreamIo::from_write(sink).map_err(write_error(muxer))?;
    let output = ffmpeg::format::output_to_stream(io, None, Some(muxer)).map_err(write_error(muxer))?;
    let mut state: Option<Encoding> = None;
    let mut output = Some(output);
    let mut audio = audio;
    let mut report = ClipReport { frames: 0, width: 0, height: 0, audio_packets: 0 };
    let tick = spec.fps.filter(|_| spec.format.is_animation());
    let source_fps = video.info().avg_fps;
    let mut repeats: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    for &p in &picks {
        *repeats.entry(p).or_default() += 1;
    }
    let mut ordinal = 0i64;
    let result = video.for_each_view_at(&repeats.keys().copied().collect::<Vec<_>>(), &render, |id, view| {
        if cancel.load(Ordering::Relaxed) {
            return Err(MediaError::Interrupted);
        }
        if state.is_none() {
            let out = output.take().expect("the output is set up once");
            let encoding = Encoding::new(out, spec, view.width, view.height, source_fps, audio.take()).map_err(consumer)?;
            report.width = encoding.encoder.width();
            report.height = encoding.encoder.height();
            state = Some(encoding);
        }
        let encoding = state.as_mut().expect("set above");
        // A frame picked for several ticks (a preview faster than the source) repeats.
        for _ in 0..repeats.get(&id.index).copied().unwrap_or(1) {
            let pts = match tick {
                Some(_) => ordinal,
                None => ((id.seconds - first_id.seconds) / f64::from(encoding.time_base)).round() as i64,
            };
            encoding.encode(&view, &id, pts, spec.burn_in, overlay.as_deref_mut()).map_err(consumer)?;
            ordinal += 1;
            report.frames += 1;
        }
        Ok(())
    });
    if let Err(e) = result {
        return Err(match e {
            MediaError::Interrupted => DeliveryError::Interrupted,
            MediaError::Consumer(inner) => match inner.downcast::<DeliveryError>() {
                Ok(delivery) => *delivery,
                Err(other) => DeliveryError::Write { container: muxer, reason: other.to_string() },
            },
            other => other.into(),
        });
    }
    let mut encoding = state.ok_or_else(|| DeliveryError::Invalid("the clip has no frames".into()))?;
    encoding.finish()?;
    report.audio_packets = encoding.audio.as_ref().map_or(0, |(a, _, _)| a.packets.len() as u64);
    Ok(report)
}

fn consumer(e: DeliveryError) -> MediaError {
    MediaError::Consumer(Box::new(e))
}

impl Encoding {
    fn new(mut output: ffmpeg::format::context::Output, spec: &ClipSpec, width: u32, height: u32, source_fps: f64, audio: Option<AudioTrack>) -> Result<Encoding, DeliveryError> {
        let muxer = spec.format.muxer();
        let failed = write_error(muxer);
        let (codec_name, pixel, time_base) = match spec.format {
            ClipFormat::Ts | ClipFormat::Mp4 => ("libx264", Pixel::YUV420P, Rational::new(1, 90_000)),
            ClipFormat::Gif => ("gif", Pixel::PAL8, Rational::new(1, 100)),
            ClipFormat::Webp => ("libwebp_anim", Pixel::YUV420P, Rational::new(1, 1000)),
        };
        // 4:2:0 needs even sides: the last row or column of an odd picture is left out.
        let (w, h) = if pixel == Pixel::YUV420P { (width & !1, height & !1) } else { (width, height) };
        if w == 0 || h == 0 {
            return Err(DeliveryError::Invalid(format!("a {width}x{height} picture is too small to encode as {muxer}")));
        }
        let time_base = match spec.fps.filter(|_| spec.format.is_animation()) {
            // One tick per preview frame; GIF's centiseconds round 1/fps as GIFs do.
            Some(fps) if spec.format == ClipFormat::Gif => Rational::new((100.0 / fps).round().max(2.0) as i32, 100),
            Some(fps) => Rational::new((1000.0 / fps).round().max(1.0) as i32, 1000),
            None => time_base,
        };
        let codec = ffmpeg::encoder::find_by_name(codec_name)
            .ok_or_else(|| DeliveryError::Write { container: muxer, reason: format!("FFmpeg has no {codec_name} encoder") })?;
        let global_header = output.format().flags().contains(ffmpeg::format::Flags::GLOBAL_HEADER);
        let mut setup = ffmpeg::codec::context::Context::new_with_codec(codec).encoder().video().map_err(&failed)?;
        setup.set_width(w);
        setup.set_height(h);
        setup.set_format(pixel);
        setup.set_time_base(time_base);
        // Rate control reads the frame rate, not the (90 kHz) time base.
        setup.set_frame_rate(Some(if source_fps > 0.0 { Rational::from(source_fps) } else { Rational::new(25, 1) }));
        if global_header {
            setup.set_flags(ffmpeg::codec::Flags::GLOBAL_HEADER);
        }
        let mut options = Dictionary::new();
        match spec.format {
            ClipFormat::Ts | ClipFormat::Mp4 => {
                // Seed 002's clips: libx264 at its default CRF 23; `veryfast` keeps a 1080p
                // clip near real time on one core. BT.601 limited range, what swscale writes.
                setup.set_colorspace(ffmpeg::color::Space::SMPTE170M);
                setup.set_color_range(ffmpeg::color::Range::MPEG);
                options.set("preset", "veryfast");
                options.set("crf", "23");
            }
            ClipFormat::Webp => {
                options.set("quality", "75");
                options.set("loop", "0");
            }
            ClipFormat::Gif => {}
        }
        let encoder = setup.open_as_with(codec, options).map_err(&failed)?;
        let mut stream = output.add_stream(codec).map_err(&failed)?;
        stream.set_parameters(&encoder);
        stream.set_time_base(time_base);
        let audio_index = match &audio {
            Some(track) => {
                let mut stream = output.add_stream(ffmpeg::encoder::find(ffmpeg::codec::Id::AAC)).map_err(&failed)?;
                stream.set_parameters(track.parameters.clone());
                stream.set_time_base(track.time_base);
                stream.index()
            }
            None => 0,
        };
        let mut header = Dictionary::new();
        match spec.format {
            // Playable as it arrives, from a stream that cannot seek back to write `moov`.
            ClipFormat::Mp4 => header.set("movflags", "frag_keyframe+empty_moov+default_base_moof"),
            ClipFormat::Gif | ClipFormat::Webp => header.set("loop", "0"),
            ClipFormat::Ts => {}
        }
        output.write_header_with(header).map_err(&failed)?;
        let stream_time_base = output.stream(0).map(|s| s.time_base()).unwrap_or(time_base);
        // The muxer may have chosen its own time bases in `write_header`.
        let audio = audio.map(|track| {
            let tb = output.stream(audio_index).map(|s| s.time_base()).unwrap_or(track.time_base);
            (track, audio_index, tb)
        });
        let (scaler, palette) = match pixel {
            Pixel::PAL8 => (None, Some(palette_graph(w, h, time_base).map_err(&failed)?)),
            _ => (
                Some(ffmpeg::software::scaling::Context::get(Pixel::RGB24, w, h, pixel, w, h, ffmpeg::software::scaling::Flags::BICUBIC).map_err(&failed)?),
                None,
            ),
        };
        Ok(Encoding {
            output,
            encoder,
            scaler,
            palette,
            rgb: ffmpeg::frame::Video::new(Pixel::RGB24, w, h),
            converted: ffmpeg::frame::Video::empty(),
            time_base,
            stream_time_base,
            audio,
            audio_next: 0,
        })
    }

    /// Encodes one rendered frame at `pts` (encoder time base).
    fn encode(&mut self, view: &RgbView<'_>, id: &FrameId, pts: i64, label: bool, overlay: Option<&mut Overlay<'_>>) -> Result<(), DeliveryError> {
        let (w, h) = (self.rgb.width() as usize, self.rgb.height() as usize);
        let stride = self.rgb.stride(0);
        let data = self.rgb.data_mut(0);
        for (y, row) in view.rows().take(h).enumerate() {
            data[y * stride..y * stride + w * 3].copy_from_slice(&row[..w * 3]);
        }
        if label || overlay.is_some() {
            // Drawn into a packed copy: the frame's rows are `stride` apart, the font's `w * 3`.
            let mut packed: Vec<u8> = (0..h).flat_map(|y| data[y * stride..y * stride + w * 3].iter().copied()).collect();
            if let Some(draw) = overlay {
                draw(id, &mut packed, w as u32, h as u32);
            }
            if label {
                burn_in(&mut packed, w as u32, h as u32, &format!("CLIP #{}", id.index));
            }
            for y in 0..h {
                data[y * stride..y * stride + w * 3].copy_from_slice(&packed[y * w * 3..(y + 1) * w * 3]);
            }
        }
        self.rgb.set_pts(Some(pts));
        let muxer = self.muxer();
        if let Some(scaler) = self.scaler.as_mut() {
            scaler.run(&self.rgb, &mut self.converted).map_err(write_error(muxer))?;
            self.converted.set_pts(Some(pts));
            self.encoder.send_frame(&self.converted).map_err(write_error(muxer))?;
        } else if let Some(graph) = self.palette.as_mut() {
            // The buffer source takes the frame's buffers: it gets a copy, `rgb` is reused.
            graph.get("in").expect("source").source().add(&self.rgb.clone()).map_err(write_error(muxer))?;
            while graph.get("out").expect("sink").sink().frame(&mut self.converted).is_ok() {
                self.converted.set_pts(Some(pts));
                self.encoder.send_frame(&self.converted).map_err(write_error(muxer))?;
            }
        }
        self.drain()
    }

    fn muxer(&self) -> &'static str {
        match self.output.format().name() {
            "mpegts" => "mpegts",
            "gif" => "gif",
            "webp" => "webp",
            _ => "mp4",
        }
    }

    /// Writes the packets the encoder has ready, with the audio up to their time.
    fn drain(&mut self) -> Result<(), DeliveryError> {
        let muxer = self.muxer();
        let mut packet = Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(0);
            packet.rescale_ts(self.time_base, self.stream_time_base);
            let until = packet.dts().or(packet.pts()).map(|t| t as f64 * f64::from(self.stream_time_base)).unwrap_or(0.0);
            self.write_audio(Some(until))?;
            packet.write_interleaved(&mut self.output).map_err(write_error(muxer))?;
        }
        Ok(())
    }

    /// Writes audio packets that start before `until` seconds (all of them when `None`).
    fn write_audio(&mut self, until: Option<f64>) -> Result<(), DeliveryError> {
        let muxer = self.muxer();
        let Some((track, index, stream_tb)) = self.audio.as_mut() else { return Ok(()) };
        while let Some(packet) = track.packets.get(self.audio_next) {
            let at = packet.pts().unwrap_or(0) as f64 * f64::from(track.time_base);
            if until.is_some_and(|u| at > u) {
                break;
            }
            let mut packet = packet.clone();
            packet.set_stream(*index);
            packet.rescale_ts(track.time_base, *stream_tb);
            packet.write_interleaved(&mut self.output).map_err(write_error(muxer))?;
            self.audio_next += 1;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), DeliveryError> {
        let muxer = self.muxer();
        if let Some(graph) = self.palette.as_mut() {
            let _ = graph.get("in").expect("source").source().flush();
            while graph.get("out").expect("sink").sink().frame(&mut self.converted).is_ok() {
                self.encoder.send_frame(&self.converted).map_err(write_error(muxer))?;
            }
        }
        self.encoder.send_eof().map_err(write_error(muxer))?;
        self.drain()?;
        self.write_audio(None)?;
        self.output.write_trailer().map_err(write_error(muxer))
    }
}

/// `palettegen` + `paletteuse` per frame: GIF's 256 colours chosen for each picture.
fn palette_graph(width: u32, height: u32, time_base: Rational) -> Result<ffmpeg::filter::Graph, ffmpeg::Error> {
    let mut graph = ffmpeg::filter::Graph::new();
    let args = format!("video_size={width}x{height}:pix_fmt=rgb24:time_base={}/{}:pixel_aspect=1/1", time_base.numerator(), time_base.denominator());
    graph.add(&ffmpeg::filter::find("buffer").expect("buffer filter"), "in", &args)?;
    graph.add(&ffmpeg::filter::find("buffersink").expect("buffersink filter"), "out", "")?;
    graph.output("in", 0)?.input("out", 0)?.parse("split[a][b];[a]palettegen=stats_mode=single[p];[b][p]paletteuse=new=1")?;
    graph.validate()?;
    Ok(graph)
}
