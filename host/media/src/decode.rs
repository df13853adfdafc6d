//! `StreamDecoder`: one demuxer plus one open decoder for a video stream, pulled frame by
//! frame. It seeks, drains at end of file, and keeps going past corrupt packets, so that a
//! truncated file yields every decodable frame and then a clean end, never a hang.

use std::path::{Path, PathBuf};

use ffmpeg_next as ffmpeg;
use ffmpeg::format::context::Input;
use ffmpeg::frame;

use crate::container::open_input;
use crate::disposable::Disposability;
use crate::error::{FfmpegContext, MediaError, Result};

/// How decoders are opened.
#[derive(Clone, Copy, Debug, Default)]
pub struct DecoderSettings {
    /// Decoder threads: 0 lets FFmpeg pick (one per core, as the ffmpeg CLI does).
    pub threads: usize,
    /// Largest picture (width × height) the decoder may allocate; larger pictures, even
    /// ones announced only mid-stream, are refused by libavcodec instead of allocated.
    pub max_pixels: Option<u64>,
}

pub(crate) struct StreamDecoder {
    path: PathBuf,
    input: Input,
    stream_index: usize,
    threads: DecoderSettings,
    decoder: ffmpeg::decoder::Video,
    /// The demuxer has no more packets for us.
    packets_done: bool,
    /// We told the decoder about end of stream.
    eof_sent: bool,
    /// Why the demuxer stopped before a clean end of file (truncation, I/O error).
    pub read_error: Option<String>,
    /// The most recent packet the decoder rejected, for error messages.
    pub last_decode_error: Option<String>,
    /// Which of this stream's packets no other frame needs.
    disposability: Disposability,
    /// Packets shown before this pts that no other frame needs are not decoded at all.
    skip_disposable_before: Option<i64>,
    /// Packets left out that way.
    pub skipped: u64,
}

impl StreamDecoder {
    pub fn open(path: &Path, stream_index: usize, threads: DecoderSettings) -> Result<StreamDecoder> {
        let input = open_input(path)?;
        Self::with_input(path, input, stream_index, threads)
    }

    pub fn with_input(path: &Path, input: Input, stream_index: usize, threads: DecoderSettings) -> Result<StreamDecoder> {
        let decoder = open_decoder(path, &input, stream_index, threads)?;
        let disposability = disposability_of(&input, stream_index);
        Ok(StreamDecoder {
            path: path.to_path_buf(),
            input,
            stream_index,
            threads,
            decoder,
            packets_done: false,
            eof_sent: false,
            read_error: None,
            last_decode_error: None,
            disposability,
            skip_disposable_before: None,
            skipped: 0,
        })
    }

    /// Leave out packets shown before `pts` that no other frame needs (the frames before a
    /// target that only it would have shown); `None` decodes every packet.
    pub fn skip_disposable_before(&mut self, pts: Option<i64>) {
        self.skip_disposable_before = pts;
    }

    /// Receives the next frame in presentation order; `Ok(false)` at the end of the stream.
    pub fn next_frame(&mut self, out: &mut frame::Video) -> Result<bool> {
        let started = std::time::Instant::now();
        loop {
            match pull_frame(&mut self.decoder, out, self.packets_done, &mut self.eof_sent, &mut self.last_decode_error, &self.path)? {
                Pulled::Frame => {
                    metrics::counter!("frameflow_frames_decoded_total").increment(1);
                    metrics::histogram!("frameflow_frame_decode_seconds").record(started.elapsed().as_secs_f64());
                    return Ok(true);
                }
                Pulled::End => return Ok(false),
                Pulled::WantsPacket => self.feed_one_packet(),
            }
        }
    }

    /// Reads packets until one of our stream is sent to the decoder or the input ends.
    fn feed_one_packet(&mut self) {
        while let Some(packet) = next_packet_of(&mut self.input, self.stream_index, &mut self.read_error) {
            if let (Some(limit), Some(pts)) = (self.skip_disposable_before, packet.pts()) {
                if pts < limit && self.disposability.is_disposable(packet.data().unwrap_or(&[])) {
                    self.skipped += 1;
                    metrics::counter!("frameflow_packets_skipped_total").increment(1);
                    continue;
                }
            }
            if let Err(e) = self.decoder.send_packet(&packet) {
                // Corrupt data: skip the packet; later frames may still decode.
                self.last_decode_error = Some(e.to_string());
            }
            return;
        }
        self.packets_done = true;
    }

    /// Seeks to the key frame at or before `ts` (stream time base, usually a key packet's dts)
    /// and resets the decoder. Falls back to reopening the file when the demuxer cannot seek.
    pub fn seek(&mut self, ts: i64) -> Result<()> {
        let rc = crate::ffi::seek_backward(&mut self.input, self.stream_index, ts);
        if rc < 0 {
            return self.rewind();
        }
        self.reset_decoder();
        Ok(())
    }

    /// Back to the very first packet. Reopening is slower than a seek but always right,
    /// whatever the container's seek support.
    pub fn rewind(&mut self) -> Result<()> {
        let input = open_input(&self.path)?;
        self.decoder = open_decoder(&self.path, &input, self.stream_index, self.threads)?;
        self.input = input;
        self.packets_done = false;
        self.eof_sent = false;
        self.read_error = None;
        Ok(())
    }

    fn reset_decoder(&mut self) {
        self.decoder.flush();
        self.packets_done = false;
        self.eof_sent = false;
    }
}

/// What one pull on a decoder gave.
pub(crate) enum Pulled {
    Frame,
    /// The decoder is drained: the stream has ended.
    End,
    /// The decoder needs another packet (and the demuxer may have one).
    WantsPacket,
}

/// Receives a frame from `decoder` (a video or an audio one). Frames the decoder cannot
/// finish are noted in `last_error` and passed over, as ffmpeg does; once `packets_done`,
/// end of stream is sent (once, `eof_sent`) and the decoder drained.
pub(crate) fn pull_frame(
    decoder: &mut ffmpeg::decoder::Opened,
    out: &mut ffmpeg::Frame,
    packets_done: bool,
    eof_sent: &mut bool,
    last_error: &mut Option<String>,
    path: &Path,
) -> Result<Pulled> {
    loop {
        match decoder.receive_frame(out) {
            Ok(()) => return Ok(Pulled::Frame),
            Err(ffmpeg::Error::Eof) => return Ok(Pulled::End),
            Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {}
            Err(e) => {
                *last_error = Some(e.to_string());
                continue;
            }
        }
        if !packets_done {
            return Ok(Pulled::WantsPacket);
        }
        if *eof_sent {
            return Ok(Pulled::End);
        }
        *eof_sent = true;
        decoder.send_eof().ctx(|| format!("{}: draining decoder", path.display()))?;
    }
}

/// The next packet of stream `stream`, `None` at the end of the input. The demuxer resyncs
/// past invalid data; any other read error is sticky in FFmpeg (retrying would spin), so it
/// ends the input and is kept in `read_error`.
pub(crate) fn next_packet_of(input: &mut Input, stream: usize, read_error: &mut Option<String>) -> Option<ffmpeg::Packet> {
    loop {
        // A fresh packet per read: av_read_frame overwrites the packet it is given without
        // releasing it, so reusing one leaked every packet of the other streams (audio).
        let mut packet = ffmpeg::Packet::empty();
        match packet.read(input) {
            Ok(()) if packet.stream() == stream => return Some(packet),
            Ok(()) | Err(ffmpeg::Error::InvalidData) => continue,
            Err(ffmpeg::Error::Eof) => return None,
            Err(e) => {
                *read_error = Some(e.to_string());
                return None;
            }
        }
    }
}

fn disposability_of(input: &Input, stream_index: usize) -> Disposability {
    match input.stream(stream_index) {
        Some(stream) => {
            let params = stream.parameters();
            Disposability::for_codec(params.id(), &crate::ffi::extradata(&params))
        }
        None => Disposability::Never,
    }
}

fn open_decoder(path: &Path, input: &Input, stream_index: usize, threads: DecoderSettings) -> Result<ffmpeg::decoder::Video> {
    let stream = input.stream(stream_index).expect("stream index validated by select_stream");
    let params = stream.parameters();
    let codec_name = params.id().name().to_string();
    let mut ctx = ffmpeg::codec::Context::from_parameters(params)
        .ctx(|| format!("{}: reading codec parameters", path.display()))?;
    if ffmpeg::decoder::find(ctx.id()).is_none() {
        return Err(MediaError::UnsupportedCodec { path: path.to_path_buf(), codec: codec_name });
    }
    // Packet timestamps are in the stream time base; tell the decoder so its outputs match.
    ctx.set_time_base(stream.time_base());
    crate::ffi::set_decoder_limits(&mut ctx, threads.threads, threads.max_pixels);
    ctx.decoder().video().map_err(|e| match e {
        ffmpeg::Error::DecoderNotFound => MediaError::UnsupportedCodec { path: path.to_path_buf(), codec: codec_name },
        other => MediaError::Ffmpeg { context: format!("{}: opening {codec_name} decoder", path.display()), source: other },
    })
}
