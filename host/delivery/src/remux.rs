//! [`remux`]: a stream copy into another container, as `ffmpeg -i IN -map 0 -c copy OUT`
//! does: every packet of the video stream and of the audio and subtitle streams the
//! container can hold, timestamps rescaled, nothing decoded or encoded. Decoding the result
//! gives the source's frames, bit for bit, and as many.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use ffmpeg_next as ffmpeg;
use ffmpeg::media::Type as Medium;

use crate::ffi;

/// A container a video can be copied into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    Mp4,
    Mkv,
    Ts,
}

impl Container {
    /// From a name users write: `mp4`, `mkv` (or `matroska`), `ts` (or `mpegts`).
    pub fn parse(name: &str) -> Option<Container> {
        match name.to_ascii_lowercase().as_str() {
            "mp4" => Some(Container::Mp4),
            "mkv" | "matroska" => Some(Container::Mkv),
            "ts" | "mpegts" => Some(Container::Ts),
            _ => None,
        }
    }

    /// FFmpeg's muxer.
    fn muxer(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Mkv => "matroska",
            Container::Ts => "mpegts",
        }
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Mkv => "mkv",
            Container::Ts => "ts",
        }
    }
}

/// Why a stream copy did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The source cannot be opened or read (missing, not media, its store failed).
    #[error(transparent)]
    Source(#[from] frameflow_media::MediaError),
    /// The container cannot hold the video's codec.
    #[error("the video's {codec} stream cannot go into {container} without re-encoding ({reason})")]
    Unsupported { codec: String, container: &'static str, reason: String },
    /// Writing the output failed.
    #[error("writing the {container} output failed: {reason}")]
    Write { container: &'static str, reason: String },
    /// The work was abandoned (its request ended).
    #[error("the stream copy was stopped")]
    Interrupted,
}

/// What a stream copy did.
#[derive(Debug, Clone, PartialEq)]
pub struct RemuxReport {
    /// Streams copied (the video first).
    pub streams: Vec<String>,
    /// Streams left out, and why.
    pub skipped: Vec<String>,
    pub packets: u64,
}

/// The codecs MPEG-TS carries as standard stream types. FFmpeg's muxer would write any
/// other as private data, which players do not play: refused instead.
const TS_CODECS: &[ffmpeg::codec::Id] = &[
    ffmpeg::codec::Id::H264,
    ffmpeg::codec::Id::HEVC,
    ffmpeg::codec::Id::MPEG2VIDEO,
    ffmpeg::codec::Id::MPEG1VIDEO,
    ffmpeg::codec::Id::MPEG4,
    ffmpeg::codec::Id::AAC,
    ffmpeg::codec::Id::MP3,
    ffmpeg::codec::Id::MP2,
    ffmpeg::codec::Id::AC3,
    ffmpeg::codec::Id::EAC3,
    ffmpeg::codec::Id::OPUS,
    ffmpeg::codec::Id::DVB_SUBTITLE,
];

/// Whether `container` holds `codec`: MPEG-TS by its standard stream types, the others by
/// what their muxer says.
fn takes(container: Container, output: &ffmpeg::format::context::Output, codec: ffmpeg::codec::Id) -> Option<bool> {
    match container {
        Container::Ts => Some(TS_CODECS.contains(&codec)),
        _ => ffi::muxer_takes(output, codec),
    }
}

fn describe(stream: &ffmpeg::format::stream::Stream) -> String {
    let params = stream.parameters();
    format!("#{} {:?} {}", stream.index(), params.medium(), params.id().name())
}

/// Copies the video at `source` (a file, or an object registered with
/// `frameflow_media::remote`) into `container` at `out`. Stops with
/// [`DeliveryError::Interrupted`] when `cancel` is set. A source that ends early (a truncated
/// file) is copied as far as it can be read, as the FFmpeg CLI does.
pub fn remux(source: &Path, container: Container, out: &Path, cancel: &AtomicBool) -> Result<RemuxReport, DeliveryError> {
    let mut input = frameflow_media::open_container(source)?;
    let video = input.streams().best(Medium::Video).map(|s| s.index()).ok_or_else(|| frameflow_media::MediaError::NoVideoStream(source.to_path_buf()))?;
    let write_error = |e: ffmpeg::Error| DeliveryError::Write { container: container.muxer(), reason: e.to_string() };
    let mut output = ffmpeg::format::output_as(out, container.muxer()).map_err(write_error)?;

    // Input stream → output stream; the video first, as the CLI orders by input index.
    let mut mapping: Vec<Option<usize>> = vec![None; input.streams().count()];
    let mut report = RemuxReport { streams: Vec::new(), skipped: Vec::new(), packets: 0 };
    for stream in input.streams() {
        let params = stream.parameters();
        let attached = stream.disposition().contains(ffmpeg::format::stream::Disposition::ATTACHED_PIC);
        if !matches!(params.medium(), Medium::Video | Medium::Audio | Medium::Subtitle) || attached || (params.medium() == Medium::Video && stream.index() != video) {
            report.skipped.push(format!("{} (only the video, audio and subtitle streams are copied)", describe(&stream)));
            continue;
        }
        if takes(container, &output, params.id()) == Some(false) {
            if stream.index() == video {
                return Err(DeliveryError::Unsupported {
                    codec: params.id().name().to_string(),
                    container: container.muxer(),
                    reason: format!("the {} muxer does not take it", container.muxer()),
                });
            }
            report.skipped.push(format!("{} ({} does not take it)", describe(&stream), container.muxer()));
            continue;
        }
        let mut copy = output.add_stream(ffmpeg::encoder::find(ffmpeg::codec::Id::None)).map_err(write_error)?;
        copy.set_parameters(params);
        ffi::clear_codec_tag(&mut copy);
        copy.set_time_base(stream.time_base());
        mapping[stream.index()] = Some(copy.index());
        report.streams.push(describe(&stream));
    }
    output.set_metadata(input.metadata().to_owned());
    output.write_header().map_err(|e| {
        let codec = input.stream(video).map(|s| s.parameters().id().name().to_string()).unwrap_or_default();
        DeliveryError::Unsupported { codec, container: container.muxer(), reason: e.to_string() }
    })?;

    let time_bases: Vec<ffmpeg::Rational> = input.streams().map(|s| s.time_base()).collect();
    let out_time_bases: Vec<ffmpeg::Rational> = output.streams().map(|s| s.time_base()).collect();
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(DeliveryError::Interrupted);
        }
        let mut packet = ffmpeg::Packet::empty();
        match packet.read(&mut input) {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => break,
            Err(e) => {
                if let Some(reason) = frameflow_media::remote::failure(source) {
                    return Err(frameflow_media::MediaError::SourceUnavailable { path: source.to_path_buf(), reason }.into());
                }
                tracing::warn!(source = %source.display(), "stream copy stopped at a read error, as the FFmpeg CLI does: {e}");
                break;
            }
        }
        let Some(target) = mapping.get(packet.stream()).copied().flatten() else { continue };
        packet.rescale_ts(time_bases[packet.stream()], out_time_bases[target]);
        packet.set_position(-1);
        packet.set_stream(target);
        packet.write_interleaved(&mut output).map_err(write_error)?;
        report.packets += 1;
    }
    output.write_trailer().map_err(write_error)?;
    Ok(report)
}
