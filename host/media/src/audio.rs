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
//! open decoder; reading back restarts it (audio codecs have no key frames to seek to that
//! would give the same samples).

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
    /// Converted samples not yet handed out, per channel: stream positions
    /// `produced - pending[0].len() .. produced`.
    pending: Vec<Vec<f32>>,
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
        let out_channels = options.num_channels.unwrap_or(channels.min(MAX_AUDIO_CHANNELS));
        let info = AudioInfo {
            stream_index,
            codec: stream.parameters().id().name().to_string(),
            sample_format: decoder.format().name().to_string(),
            sample_rate: rate,
            num_channels: channels,
            output_sample_rate: out_rate,
            output_num_channels: out_channels,
            time_base: (tb.numerator(), tb.denominator()),
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
        // The first frame's time anchors the timeline: rewind if it is not known or not
        // still ahead of us.
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
        let no_audio = |end_seconds: f64| MediaError::NoAudioInRange { start, stop, first_seconds: first, end_seconds };
        if stop.is_some_and(|s| s <= first) {
            return Err(no_audio(self.known_end()));
        }
        let lo = offset(start);
        let hi = stop.map_or(u64::MAX, offset);
        if lo < self.produced - self.pending[0].len() as u64 {
            self.rewind()?;
            self.decode_more()?;
        }
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); channels];
        loop {
            // Hand out what of the pending samples lies in [lo, hi).
            let base = self.produced - self.pending[0].len() as u64;
            let from = (lo.max(base) - base).min(self.pending[0].len() as u64) as usize;
            let to = (hi.max(base) - base).min(self.pending[0].len() as u64) as usize;
            for (o, p) in out.iter_mut().zip(self.pending.iter_mut()) {
                if to > from {
                    o.extend_from_slice(&p[from..to]);
                }
                p.drain(..to.max(from));
            }
            if self.produced >= hi || self.finished {
                break;
            }
            self.decode_more()?;
        }
        if self.finished && start >= self.end_seconds {
            return Err(no_audio(self.end_seconds));
        }
        let data: Vec<f32> = out.concat();
        Ok(AudioSamples { data, num_channels: channels, sample_rate: rate, pts_seconds: if start > first { start } else { first }, first_sample: lo })
    }

    /// The end of the stream in seconds as far as decoded.
    fn known_end(&self) -> f64 {
        self.end_seconds
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
