//! [`encode_span`]: the source's audio between two times, decoded, resampled (at most
//! stereo, planar float) and encoded as AAC, with timestamps from 0 at the span's start —
//! the audio of a re-encoded clip, cut to the sample where its first frame begins.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use ffmpeg_next as ffmpeg;
use ffmpeg::format::{sample::Type as SampleType, Sample};
use ffmpeg::media::Type as Medium;
use ffmpeg::{ChannelLayout, Packet, Rational};

use crate::DeliveryError;

/// Sample rates AAC carries; any other source rate is resampled to 48 kHz.
const AAC_RATES: &[u32] = &[96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000];

/// An encoded audio track, ready to mux.
pub(crate) struct AudioTrack {
    pub parameters: ffmpeg::codec::Parameters,
    /// The packets' time base (one tick per sample).
    pub time_base: Rational,
    pub packets: Vec<Packet>,
}

fn failed(context: &'static str) -> impl Fn(ffmpeg::Error) -> DeliveryError {
    move |e| DeliveryError::Write { container: "aac", reason: format!("{context}: {e}") }
}

/// Samples waiting to be encoded, one `Vec` per channel.
struct Fifo(Vec<Vec<f32>>);

impl Fifo {
    fn len(&self) -> usize {
        self.0.first().map_or(0, Vec::len)
    }
}

/// The audio of `source` from `from` to `to` seconds as AAC packets (`None` when the source
/// has no audio stream). `global_header`: the container wants codec data out of band (MP4).
pub(crate) fn encode_span(source: &Path, from: f64, to: f64, global_header: bool, cancel: &AtomicBool) -> Result<Option<AudioTrack>, DeliveryError> {
    let mut input = frameflow_media::open_container(source)?;
    let Some(stream) = input.streams().best(Medium::Audio) else { return Ok(None) };
    let (index, time_base) = (stream.index(), stream.time_base());
    let mut decoder = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
        .and_then(|c| c.decoder().audio())
        .map_err(failed("opening the audio decoder"))?;
    let in_layout = if decoder.channel_layout().is_empty() { ChannelLayout::default(decoder.channels() as i32) } else { decoder.channel_layout() };
    let channels = decoder.channels().clamp(1, 2) as i32;
    let layout = ChannelLayout::default(channels);
    let rate = if AAC_RATES.contains(&decoder.rate()) { decoder.rate() } else { 48000 };

    let codec = ffmpeg::encoder::find(ffmpeg::codec::Id::AAC).ok_or_else(|| DeliveryError::Write { container: "aac", reason: "FFmpeg has no AAC encoder".into() })?;
    let mut setup = ffmpeg::codec::context::Context::new_with_codec(codec).encoder().audio().map_err(failed("setting up the AAC encoder"))?;
    setup.set_rate(rate as i32);
    setup.set_channel_layout(layout);
    setup.set_channels(channels);
    setup.set_format(Sample::F32(SampleType::Planar));
    setup.set_bit_rate(64_000 * channels as usize);
    setup.set_time_base(Rational::new(1, rate as i32));
    if global_header {
        setup.set_flags(ffmpeg::codec::Flags::GLOBAL_HEADER);
    }
    let mut encoder = setup.open_as(codec).map_err(failed("opening the AAC encoder"))?;
    let frame_size = (encoder.frame_size() as usize).max(1);
    let mut resampler = ffmpeg::software::resampling::Context::get(decoder.format(), in_layout, decoder.rate(), Sample::F32(SampleType::Planar), layout, rate)
        .map_err(failed("setting up the resampler"))?;

    // From a little before the span: the demuxer lands on a packet at or before it.
    let seek_to = ((from - 1.0).max(0.0) * 1e6) as i64;
    let _ = input.seek(seek_to, ..seek_to + 1);
    let wanted = ((to - from) * rate as f64).round().max(0.0) as usize;
    let mut fifo = Fifo(vec![Vec::new(); channels as usize]);
    let mut started = false;
    let mut decoded = ffmpeg::frame::Audio::empty();
    let mut take = |frame: &ffmpeg::frame::Audio, fifo: &mut Fifo, started: &mut bool| -> Result<(), DeliveryError> {
        let mut out = ffmpeg::frame::Audio::empty();
        resampler.run(frame, &mut out).map_err(failed("resampling"))?;
        let mut skip = 0usize;
        if !*started {
            let Some(pts) = frame.timestamp().or(frame.pts()) else { return Ok(()) };
            let at = pts as f64 * f64::from(time_base);
            let offset = ((at - from) * rate as f64).round() as i64;
            if offset + (out.samples() as i64) <= 0 {
                return Ok(());
            }
            if offset < 0 {
                skip = (-offset) as usize;
            } else {
                // The audio starts after the span does: silence until it begins.
                for plane in fifo.0.iter_mut() {
                    plane.resize(offset as usize, 0.0);
                }
            }
            *started = true;
        }
        for (c, plane) in fifo.0.iter_mut().enumerate() {
            let samples: &[f32] = out.plane(c);
            plane.extend_from_slice(&samples[skip.min(samples.len())..]);
        }
        Ok(())
    };
    for (stream, packet) in input.packets() {
        if cancel.load(Ordering::Relaxed) {
            return Err(DeliveryError::Interrupted);
        }
        if stream.index() != index {
            continue;
        }
        if decoder.send_packet(&packet).is_err() {
            // A damaged audio packet costs its samples, as in the FFmpeg CLI.
            continue;
        }
        while decoder.receive_frame(&mut decoded).is_ok() {
            take(&decoded, &mut fifo, &mut started)?;
        }
        if fifo.len() >= wanted {
            break;
        }
    }
    for plane in fifo.0.iter_mut() {
        plane.resize(wanted, 0.0);
    }

    let mut packets = Vec::new();
    let drain = |encoder: &mut ffmpeg::encoder::Audio, packets: &mut Vec<Packet>| {
        let mut packet = Packet::empty();
        while encoder.receive_packet(&mut packet).is_ok() {
            packets.push(std::mem::replace(&mut packet, Packet::empty()));
        }
    };
    let mut at = 0usize;
    while at < wanted {
        let n = frame_size.min(wanted - at);
        let mut frame = ffmpeg::frame::Audio::new(Sample::F32(SampleType::Planar), n, layout);
        frame.set_rate(rate);
        for (c, plane) in fifo.0.iter().enumerate() {
            frame.plane_mut::<f32>(c)[..n].copy_from_slice(&plane[at..at + n]);
        }
        frame.set_pts(Some(at as i64));
        encoder.send_frame(&frame).map_err(failed("encoding audio"))?;
        drain(&mut encoder, &mut packets);
        at += n;
    }
    encoder.send_eof().map_err(failed("finishing the audio"))?;
    drain(&mut encoder, &mut packets);
    Ok(Some(AudioTrack { parameters: ffmpeg::codec::Parameters::from(&encoder), time_base: Rational::new(1, rate as i32), packets }))
}
