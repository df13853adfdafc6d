//! `Audio`: an audio stream decoded to float32 planar samples (channels × samples), in the
//! source's rate and channels or converted by libswresample (`sample_rate`/`num_channels`),
//! sample-exact against `ffmpeg -i F -map 0:N -f f32le [-ac C] [-ar R] -`.
//!
//! The timeline: output sample `i` is played at `first_pts + i / rate`, where `first_pts` is
//! the first decoded frame's pts (after the decoder's skip/priming samples). A range
//! `[start, stop)` in seconds is the samples `floor((start - first_pts) * rate + 0.5)` up to
//! the same for `stop` (ties round up, as torchcodec's `AudioDecoder` rounds). Samples are
//! always those of a decode (and conversion) from the stream's start, so a window is exactly
//! the same span cut out of the CLI's whole-stream output: reading forward continues the
//! open decoder, a window among the latest decoded samples (up to
//! [`AudioOptions::keep_bytes`] of them are kept) is a copy, and a window before those
//! restarts the decoder (a seek would not give the same samples: compressed audio decoded
//! from a seek point differs, by overlap, bit reservoirs and noise substitution).

use std::path::{Path, PathBuf};

use ffmpeg_next as ffmpeg;
use ffmpeg::format::context::Input;
use serde::Serialize;

use crate::container::{open_input, select_audio_stream};
use crate::decode::{next_packet_of, pull_frame, Pulled};
use crate::error::{FfmpegContext, MediaError, Result};
use crate::ffi::{AudioShape, Resampler};

/// Channel counts the conversion accepts (FFmpeg's default layouts exist up to 8, as
/// torchcodec's `num_channels` limit).
pub const MAX_AUDIO_CHANNELS: u32 = 8;
/// Highest output sample rate accepted.
pub const MAX_SAMPLE_RATE: u32 = 768_000;

/// How to open an audio stream.
#[derive(Clone, Debug, Default)]
pub struct AudioOptions {
    /// Absolute stream index; FFmpeg's best audio stream when `None`.
    pub stream: Option<usize>,
    /// Output sample rate; the source's when `None`.
    pub sample_rate: Option<u32>,
    /// Output channel count (FFmpeg's default layout for it); the source's when `None`.
    pub num_channels: Option<u32>,
    /// How many bytes of the latest decoded samples to keep for later windows
    /// ([`DEFAULT_KEEP_BYTES`] when `None`; 0 keeps none).
    pub keep_bytes: Option<usize>,
}

/// 128 MiB of float32: about 5.8 minutes of 48 kHz stereo.
pub const DEFAULT_KEEP_BYTES: usize = 128 << 20;

fn drop_front(plane: &mut Vec<f32>, n: usize) {
    plane.drain(..n.min(plane.len()));
}

/// The chosen audio stream, as its header and decoder describe it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AudioInfo {
    pub stream_index: usize,
    pub codec: String,
    /// The decoder's sample format (`fltp`, `s16`, `u8`, ...).
    pub sample_format: String,
    /// The source's sample rate and channel count.
    pub sample_rate: u32,
    pub num_channels: u32,
    /// What the samples are converted to.
    pub output_sample_rate: u32,
    pub output_num_channels: u32,
    pub time_base: (i32, i32),
    /// The header's stream duration and start, the stream's bit rate, and the container's
    /// duration, when the header says.
    pub duration_seconds_from_header: Option<f64>,
    pub start_seconds_from_header: Option<f64>,
    pub bit_rate: Option<i64>,
    pub container_duration_seconds: Option<f64>,
}

/// Samples of one range: `data` is planar (`num_channels` runs of `len()` floats).
#[derive(Clone, Debug, PartialEq)]
pub struct AudioSamples {
    pub data: Vec<f32>,
    pub num_channels: usize,
    pub sample_rate: u32,
    /// When the first sample is played: `start` when the range starts inside the stream,
    /// else the stream's first sample time.
    pub pts_seconds: f64,
    /// The first sample's position in the stream's output (0-based).
    pub first_sample: u64,
}

impl AudioSamples {
    /// Samples per channel.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.num_channels).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn channel(&self, c: usize) -> &[f32] {
        let n = self.len();
        &self.data[c * n..(c + 1) * n]
    }

    pub fn duration_seconds(&self) -> f64 {
        self.len() as f64 / self.sample_rate as f64
    }
}

/// An open audio stream and its decoder, positioned somewhere in the stream's output.
pub struct Audio {
    path: PathBuf,
    info: AudioInfo,
    input: Input,
    decoder: ffmpeg::decoder::Audio,
    out_shape: AudioShape,
    /// Made from the first frame's shape; `None` while none, or when the frames need no
    /// conversion (planar float at the output rate and layout: copied as they are).
    resampler: Option<Resampler>,
    /// The shape of the frames being converted (`None` before the first frame).
    in_shape: Option<AudioShape>,
    packets_done: bool,
    eof_sent: bool,
    /// The decoder and the resampler have given everything.
    finished: bool,
    /// Seconds of the first decoded frame (after priming samples are skipped).
    first_pts: Option<f64>,
    /// End of the last decoded frame in seconds (its pts plus its samples' duration).
    end_seconds: f64,
    /// The latest converted samples, per channel: stream positions
    /// `produced - pending[0].len() .. produced`. Kept (up to `retain` per channel) so that
    /// a window at or after their start is a copy, not a decode from the stream's start.
    pending: Vec<Vec<f32>>,
    retain: u64,
    /// Samples per channel the header's duration announces (within `retain`): reserved
    /// before the first frame, so that a whole-stream read does not regrow its buffers.
    expected: usize,
    produced: u64,
    frame: ffmpeg::frame::Audio,
    /// Why the demuxer stopped early, or the last packet the decoder rejected.
    pub read_error: Option<String>,
}

impl Audio {
    pub fn open(path: impl AsRef<Path>) -> Result<Audio> {
        Audio::open_with(path, AudioOptions::default())
    }

    pub fn open_with(path: impl AsRef<Path>, options: AudioOptions) -> Result<Audio> {
        let path = path.as_ref();
        if let Some(c) = options.num_channels {
            if !(1..=MAX_AUDIO_CHANNELS).contains(&c) {
                return Err(MediaError::InvalidOption(format!("num_channels must be > 0 and <= {MAX_AUDIO_CHANNELS}, got {c}")));
            }
        }
        if let Some(r) = options.sample_rate {
            if !(1..=MAX_SAMPLE_RATE).contains(&r) {
                return Err(MediaError::InvalidOption(format!("sample_rate must be > 0 and <= {MAX_SAMPLE_RATE}, got {r}")));
            }
        }
        let input = open_input(path)?;
        let stream_index = select_audio_stream(&input, path, options.stream)?;
        let decoder = open_audio_decoder(path, &input, stream_index)?;
        let stream = input.stream(stream_index).expect("stream index comes from select_audio_stream");
        let tb = stream.time_base();
        let (rate, channels) = (decoder.rate(), decoder.channels() as u32);
        if rate == 0 || channels == 0 {
            return Err(MediaError::NotMedia {
                path: path.to_path_buf(),
                reason: format!("audio stream {stream_index} declares {rate} Hz and {channels} channels"),
            });
        }
        let out_rate = options.sample_rate.unwrap_or(rate);
        let positive = |d: f64| (d.is_finite() && d > 0.0).then_some(d);
        // As torchcodec computes them: ticks times the numerator, over the denominator.
        let seconds = |ticks: i64| ticks as f64 * tb.numerator() as f64 / tb.denominator() as f64;
        let stream_seconds = positive(seconds(stream.duration()));
        let container_seconds = positive(input.duration() as f64 / ffmpeg::ffi::AV_TIME_BASE as f64);
        let header_seconds = stream_seconds.or(container_seconds).unwrap_or(0.0);
        let out_channels = options.num_channels.unwrap_or(channels.min(MAX_AUDIO_CHANNELS));
        let retain = options.keep_bytes.unwrap_or(DEFAULT_KEEP_BYTES) / 4 / out_channels as usize;
        let expected = ((header_seconds * out_rate as f64 * 1.01) as usize + 4096).min(retain);
        let info = AudioInfo {
            stream_index,
            codec: stream.parameters().id().name().to_string(),
            sample_format: decoder.format().name().to_string(),
            sample_rate: rate,
            num_channels: channels,
            output_sample_rate: out_rate,
            output_num_channels: out_channels,
            time_base: (tb.numerator(), tb.denominator()),
            duration_seconds_from_header: stream_seconds,
            start_seconds_from_header: (stream.start_time() != ffmpeg::ffi::AV_NOPTS_VALUE).then(|| seconds(stream.start_time())),
            bit_rate: Some(stream.parameters().bit_rate()).filter(|b| *b > 0),
            container_duration_seconds: container_seconds,
        };
        Ok(Audio {
            path: path.to_path_buf(),
            info,
            input,
            decoder,
            out_shape: AudioShape::planar_float(out_channels, out_rate),
            resampler: None,
            in_shape: None,
            packets_done: false,
            eof_sent: false,
            finished: false,
            first_pts: None,
            end_seconds: 0.0,
            pending: vec![Vec::new(); out_channels as usize],
            retain: retain as u64,
            expected,
            produced: 0,
            frame: ffmpeg::frame::Audio::empty(),
            read_error: None,
        })
    }

    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// Every sample of the stream.
    pub fn all_samples(&mut self) -> Result<AudioSamples> {
        self.samples_in_range(f64::NEG_INFINITY, None)
    }

    /// The samples played in `[start, stop)` seconds (`None`: to the end; see the module
    /// docs for the rounding). `start == stop` is an empty range; a range with no frame in
    /// it is [`MediaError::NoAudioInRange`].
    pub fn samples_in_range(&mut self, start: f64, stop: Option<f64>) -> Result<AudioSamples> {
        let rate = self.info.output_sample_rate;
        let channels = self.info.output_num_channels as usize;
        if start.is_nan() || stop.is_some_and(f64::is_nan) {
            return Err(MediaError::InvalidOption(format!("start and stop seconds must be numbers, got [{start}, {stop:?})")));
        }
        if start == f64::INFINITY {
            return Err(MediaError::InvalidOption("start seconds must be finite (or -inf)".into()));
        }
        if let Some(stop) = stop {
            if start > stop {
                return Err(MediaError::InvalidOption(format!(
                    "Invalid start seconds: {start}. It must be less than or equal to stop seconds ({stop})."
                )));
            }
            if start == stop {
                return Ok(AudioSamples { data: Vec::new(), num_channels: channels, sample_rate: rate, pts_seconds: start, first_sample: 0 });
            }
        }
        let stop = stop.filter(|s| *s != f64::INFINITY);
        // The first frame's time anchors the timeline (known once a frame is decoded).
        let first = match self.first_pts {
            Some(first) => first,
            None => {
                self.decode_more()?;
                self.first_pts.ok_or(MediaError::NoFrames(self.path.clone()))?
            }
        };
        let offset = |seconds: f64| -> u64 {
            let x = ((seconds - first) * rate as f64 + 0.5).floor();
            // Saturating: -inf and huge negative to 0, huge positive to u64::MAX.
            if x <= 0.0 { 0 } else if x >= u64::MAX as f64 { u64::MAX } else { x as u64 }
        };
        if stop.is_some_and(|s| s <= first) {
            return Err(MediaError::NoAudioInRange { start, stop, first_seconds: first, end_seconds: self.end_seconds });
        }
        let lo = offset(start);
        let hi = stop.map_or(u64::MAX, offset);
        // Before what is kept: decode again from the start.
        if lo < self.produced - self.pending[0].len() as u64 {
            self.rewind()?;
            self.decode_more()?;
        }
        // Samples are copied out of `pending` once: at the end, or just before the oldest are
        // dropped to stay within the budget. `next` is the next stream position to hand out.
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); channels];
        let mut next = lo;
        loop {
            let done = self.produced >= hi || self.finished;
            let kept = self.pending[0].len() as u64;
            let base = self.produced - kept;
            let drop = if kept > self.retain + self.retain / 4 { kept - self.retain } else { 0 };
            // What to copy now: all that is due at the end, else what the drop would take.
            let until = if done { hi.min(self.produced) } else { hi.min(base + drop) };
            let from = next.max(base).min(self.produced);
            if until > from {
                let range = (from - base) as usize..(until - base) as usize;
                if done && out[0].is_empty() {
                    // The whole window is here: one copy, straight into the planar layout.
                    let mut flat = Vec::with_capacity(channels * range.len());
                    self.pending.iter().for_each(|p| flat.extend_from_slice(&p[range.clone()]));
                    return self.finish_range((start, stop), first, lo, flat);
                }
                for (o, p) in out.iter_mut().zip(&self.pending) {
                    o.extend_from_slice(&p[range.clone()]);
                }
                next = until;
            }
            if drop > 0 {
                // In big steps (each moves what is kept), never a sample not yet handed out.
                let drop = drop.min(next.min(self.produced).max(base) - base) as usize;
                self.pending.iter_mut().for_each(|p| drop_front(p, drop));
            }
            if done {
                break;
            }
            self.decode_more()?;
        }
        self.finish_range((start, stop), first, lo, out.concat())
    }

    /// The samples of a range, or [`MediaError::NoAudioInRange`] for one that starts at or
    /// after the end of the stream.
    fn finish_range(&self, (start, stop): (f64, Option<f64>), first: f64, lo: u64, data: Vec<f32>) -> Result<AudioSamples> {
        let (channels, rate) = (self.info.output_num_channels as usize, self.info.output_sample_rate);
        if self.finished && start >= self.end_seconds {
            return Err(MediaError::NoAudioInRange { start, stop, first_seconds: first, end_seconds: self.end_seconds });
        }
        Ok(AudioSamples { data, num_channels: channels, sample_rate: rate, pts_seconds: if start > first { start } else { first }, first_sample: lo })
    }

    /// Back to the stream's first packet, with a fresh decoder and resampler.
    fn rewind(&mut self) -> Result<()> {
        let input = open_input(&self.path)?;
        self.decoder = open_audio_decoder(&self.path, &input, self.info.stream_index)?;
        self.input = input;
        self.resampler = None;
        self.in_shape = None;
        self.packets_done = false;
        self.eof_sent = false;
        self.finished = false;
        self.produced = 0;
        self.pending.iter_mut().for_each(Vec::clear);
        self.read_error = None;
        Ok(())
    }

    /// Decodes and converts the next frame into `pending` (or, at the end, drains the
    /// resampler and sets `finished`).
    fn decode_more(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        if !self.next_frame()? {
            if let Some(resampler) = self.resampler.as_mut() {
                let n = resampler.convert(None, &mut self.pending).ctx(|| format!("{}: draining the resampler", self.path.display()))?;
                self.produced += n as u64;
            }
            self.finished = true;
            return Ok(());
        }
        let frame = &self.frame;
        let tb = self.info.time_base;
        let pts = frame.pts().or(frame.timestamp()).map(|p| p as f64 * tb.0 as f64 / tb.1 as f64);
        let frame_rate = frame.rate().max(1) as f64;
        let pts = pts.unwrap_or(self.end_seconds);
        if self.first_pts.is_none() {
            self.first_pts = Some(pts);
        }
        self.end_seconds = pts + frame.samples() as f64 / frame_rate;
        if self.produced == 0 && self.pending[0].capacity() == 0 {
            self.pending.iter_mut().for_each(|p| p.reserve(self.expected));
        }
        let shape = AudioShape::of(frame);
        if !self.in_shape.is_some_and(|s| s.same_as(&shape)) {
            // The first frame, or the stream changed rate, format or layout mid-way: what
            // the old conversion holds back comes out first, then a new one starts.
            if let Some(mut old) = self.resampler.take() {
                let n = old.convert(None, &mut self.pending).ctx(|| format!("{}: draining the resampler", self.path.display()))?;
                self.produced += n as u64;
            }
            self.in_shape = Some(shape);
            if !shape.same_as(&self.out_shape) {
                let resampler = Resampler::new(&shape, &self.out_shape)
                    .ctx(|| format!("{}: setting up the conversion to {} Hz, {} channels", self.path.display(), self.info.output_sample_rate, self.info.output_num_channels))?;
                self.resampler = Some(resampler);
            }
        }
        let n = match self.resampler.as_mut() {
            Some(resampler) => resampler.convert(Some(frame), &mut self.pending).ctx(|| format!("{}: converting samples", self.path.display()))?,
            None => {
                for (c, plane) in self.pending.iter_mut().enumerate() {
                    plane.extend_from_slice(&frame.plane::<f32>(c)[..frame.samples()]);
                }
                frame.samples()
            }
        };
        self.produced += n as u64;
        Ok(())
    }

    /// The next decoded frame into `self.frame`; `false` at the end of the stream. Packets
    /// the decoder rejects are skipped (noted in `read_error`), as the ffmpeg CLI does.
    fn next_frame(&mut self) -> Result<bool> {
        loop {
            match pull_frame(&mut self.decoder, &mut self.frame, self.packets_done, &mut self.eof_sent, &mut self.read_error, &self.path)? {
                Pulled::Frame if self.frame.samples() > 0 => return Ok(true),
                Pulled::Frame => {}
                Pulled::End => return Ok(false),
                Pulled::WantsPacket => match next_packet_of(&mut self.input, self.info.stream_index, &mut self.read_error) {
                    Some(packet) => {
                        if let Err(e) = self.decoder.send_packet(&packet) {
                            self.read_error = Some(e.to_string());
                        }
                    }
                    None => self.packets_done = true,
                },
            }
        }
    }
}

fn open_audio_decoder(path: &Path, input: &Input, stream_index: usize) -> Result<ffmpeg::decoder::Audio> {
    let stream = input.stream(stream_index).expect("stream index comes from select_audio_stream");
    let params = stream.parameters();
    let codec_name = params.id().name().to_string();
    let ctx = ffmpeg::codec::Context::from_parameters(params).ctx(|| format!("{}: reading codec parameters", path.display()))?;
    if ffmpeg::decoder::find(ctx.id()).is_none() {
        return Err(MediaError::UnsupportedCodec { path: path.to_path_buf(), codec: codec_name });
    }
    let mut decoder = ctx.decoder();
    // Packet timestamps are in the stream time base: the decoder shifts frames' pts by the
    // priming samples it skips only when it knows that base (as the ffmpeg CLI sets it).
    decoder.set_packet_time_base(stream.time_base());
    decoder.audio().map_err(|e| match e {
        ffmpeg::Error::DecoderNotFound => MediaError::UnsupportedCodec { path: path.to_path_buf(), codec: codec_name },
        other => MediaError::Ffmpeg { context: format!("{}: opening {codec_name} decoder", path.display()), source: other },
    })
}
