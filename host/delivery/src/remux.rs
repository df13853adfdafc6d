//! [`remux`]: a stream copy into another container, as `ffmpeg -i IN -map 0 -c copy OUT`
//! does: every packet of the video stream and of the audio and subtitle streams the
//! container can hold, timestamps rescaled, nothing decoded or encoded. Decoding the result
//! gives the source's frames, bit for bit, and as many. [`cut`] copies a frame range the
//! same way (`ffmpeg -ss -to -c copy`).

use std::io::Write;
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
    /// An option out of range (a reversed frame range, a bad fps, a picture too small).
    #[error("{0}")]
    Invalid(String),
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

/// Whether `container` can hold a video stream of `codec` (FFmpeg's decoder name, as a probe
/// says it), without opening the video: the check a cut makes before its response starts.
pub fn check_container(container: Container, codec: &str) -> Result<(), DeliveryError> {
    frameflow_media::init();
    let Some(id) = ffmpeg::decoder::find_by_name(codec).map(|c| c.id()) else { return Ok(()) };
    let io = ffmpeg::format::context::StreamIo::from_write(std::io::sink());
    let output = io.and_then(|io| ffmpeg::format::output_to_stream(io, None, Some(container.muxer())));
    let output = output.map_err(|e| DeliveryError::Write { container: container.muxer(), reason: e.to_string() })?;
    match takes(container, &output, id) {
        Some(false) => Err(DeliveryError::Unsupported {
            codec: codec.to_string(),
            container: container.muxer(),
            reason: format!("the {} muxer does not take it", container.muxer()),
        }),
        _ => Ok(()),
    }
}

fn describe(stream: &ffmpeg::format::stream::Stream) -> String {
    let params = stream.parameters();
    format!("#{} {:?} {}", stream.index(), params.medium(), params.id().name())
}

/// Output streams for the input's streams: the video stream, and the audio (and, when
/// `subtitles`, subtitle) streams the container takes; `None` for the ones left out.
fn map_streams(
    input: &ffmpeg::format::context::Input,
    video: usize,
    container: Container,
    output: &mut ffmpeg::format::context::Output,
    subtitles: bool,
    report: &mut RemuxReport,
) -> Result<Vec<Option<usize>>, DeliveryError> {
    let write_error = |e: ffmpeg::Error| DeliveryError::Write { container: container.muxer(), reason: e.to_string() };
    let mut mapping: Vec<Option<usize>> = vec![None; input.streams().count()];
    for stream in input.streams() {
        let params = stream.parameters();
        let attached = stream.disposition().contains(ffmpeg::format::stream::Disposition::ATTACHED_PIC);
        let wanted = match params.medium() {
            Medium::Video => stream.index() == video && !attached,
            Medium::Audio => true,
            Medium::Subtitle => subtitles,
            _ => false,
        };
        if !wanted {
            report.skipped.push(format!("{} (only the video, audio and subtitle streams are copied)", describe(&stream)));
            continue;
        }
        if takes(container, output, params.id()) == Some(false) {
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
    Ok(mapping)
}

/// Writes the header, naming the video's codec when the muxer refuses it.
fn write_header(input: &ffmpeg::format::context::Input, video: usize, container: Container, output: &mut ffmpeg::format::context::Output, options: ffmpeg::Dictionary) -> Result<(), DeliveryError> {
    output.set_metadata(input.metadata().to_owned());
    output.write_header_with(options).map(|_| ()).map_err(|e| {
        let codec = input.stream(video).map(|s| s.parameters().id().name().to_string()).unwrap_or_default();
        DeliveryError::Unsupported { codec, container: container.muxer(), reason: e.to_string() }
    })
}

/// Reads the next packet; `None` at the end, or at a read error after which the FFmpeg CLI
/// stops too (a truncated file), unless the source's store failed (an error).
fn next_packet(input: &mut ffmpeg::format::context::Input, source: &Path) -> Result<Option<ffmpeg::Packet>, DeliveryError> {
    let mut packet = ffmpeg::Packet::empty();
    match packet.read(input) {
        Ok(()) => Ok(Some(packet)),
        Err(ffmpeg::Error::Eof) => Ok(None),
        Err(e) => {
            if let Some(reason) = frameflow_media::remote::failure(source) {
                return Err(frameflow_media::MediaError::SourceUnavailable { path: source.to_path_buf(), reason }.into());
            }
            tracing::warn!(source = %source.display(), "stream copy stopped at a read error, as the FFmpeg CLI does: {e}");
            Ok(None)
        }
    }
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
    let mut report = RemuxReport { streams: Vec::new(), skipped: Vec::new(), packets: 0 };
    let mapping = map_streams(&input, video, container, &mut output, true, &mut report)?;
    write_header(&input, video, container, &mut output, ffmpeg::Dictionary::new())?;

    let time_bases: Vec<ffmpeg::Rational> = input.streams().map(|s| s.time_base()).collect();
    let out_time_bases: Vec<ffmpeg::Rational> = output.streams().map(|s| s.time_base()).collect();
    while let Some(mut packet) = next_packet(&mut input, source)? {
        if cancel.load(Ordering::Relaxed) {
            return Err(DeliveryError::Interrupted);
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

/// What a cut that keeps the source's timestamps adds to them: MPEG-TS holds no negative
/// times, and a video's first decode times are negative with B-frames (FFmpeg's HLS
/// segments start at 1.4 s for the same reason).
const KEPT_TIMESTAMPS_OFFSET_MS: i64 = 1400;

/// Which frames a [`cut`] copies, and how its timestamps run.
#[derive(Clone, Copy, Debug)]
pub struct CutSpec {
    /// First and last frame wanted, presentation indices, inclusive.
    pub first: usize,
    pub last: usize,
    pub container: Container,
    /// Keep the source's timestamps, plus 1.4 s (HLS segments, which players place on the
    /// video's timeline) instead of starting at 0 with frame `first`.
    pub keep_timestamps: bool,
}

/// Frames `first..=last` copied without re-encoding (`ffmpeg -ss -to -c copy`): from the key
/// frame at or before `first` — decoding needs it — to the last packet any frame up to
/// `last` needs, with the audio of that span. Timestamps start at 0 with frame `first`
/// (unless `keep_timestamps`): MP4 and Matroska carry the frames before it in an edit list
/// so players start at `first`; MPEG-TS shows them. With B-frames, a frame or two after
/// `last` that its neighbours reference come along. MP4 and Matroska are written to a
/// temporary file (their index goes first, `faststart`) and then to `sink`; MPEG-TS straight
/// to `sink`.
pub fn cut(video: &frameflow_media::Video, spec: CutSpec, sink: impl Write + Send + 'static, cancel: &AtomicBool) -> Result<RemuxReport, DeliveryError> {
    let index = video.index();
    let count = video.frame_count();
    if spec.first > spec.last {
        return Err(DeliveryError::Invalid(format!("the last frame {} is before the first {}", spec.last, spec.first)));
    }
    if spec.last >= count {
        return Err(frameflow_media::MediaError::IndexOutOfRange { index: spec.last as u64, count }.into());
    }
    if index.method != frameflow_media::IndexMethod::Packets {
        return Err(DeliveryError::Unsupported {
            codec: video.info().codec.clone(),
            container: spec.container.muxer(),
            reason: "its frames are numbered by decoding, not by packet timestamps, so a stream copy cannot be cut by frame".into(),
        });
    }
    let source = video.path();
    let stream = index.stream_index;
    let seek = index.seek_point_for(spec.first);
    let key_pts = seek.map(|s| s.pts).unwrap_or(i64::MIN);
    let start_pts = index.frame_id(spec.first).pts;
    // Every frame from the key frame to `last` must be in the copy.
    let from = index.frames.partition_point(|f| f.pts < key_pts);
    let mut needed: std::collections::HashSet<i64> = (from..=spec.last).map(|i| index.frame_id(i).pts).collect();
    let span = (index.frame_id(spec.first).seconds, crate::clip::frame_end(video, spec.last));

    let mut input = frameflow_media::open_container(source)?;
    if let Some(point) = seek {
        if !frameflow_media::seek_to_key(&mut input, stream, point.ts) {
            input = frameflow_media::open_container(source)?;
        }
    }
    let muxer = spec.container.muxer();
    let write_error = |e: ffmpeg::Error| DeliveryError::Write { container: muxer, reason: e.to_string() };
    let temp = match spec.container {
        Container::Ts => None,
        _ => Some(crate::temp::TempFile::new(spec.container.extension())),
    };
    let mut sink = Some(sink);
    let mut output = match &temp {
        Some(file) => ffmpeg::format::output_as(file.path(), muxer).map_err(write_error)?,
        None => {
            let io = ffmpeg::format::context::StreamIo::from_write(sink.take().expect("unused")).map_err(write_error)?;
            ffmpeg::format::output_to_stream(io, None, Some(muxer)).map_err(write_error)?
        }
    };
    let mut report = RemuxReport { streams: Vec::new(), skipped: Vec::new(), packets: 0 };
    let mapping = map_streams(&input, stream, spec.container, &mut output, false, &mut report)?;
    let mut options = ffmpeg::Dictionary::new();
    if spec.container == Container::Mp4 {
        options.set("movflags", "faststart");
    }
    if spec.keep_timestamps {
        // Every piece of one video on one timeline: the muxer must not move a piece whose
        // first decode time is negative on its own (B-frames), so all move by one offset.
        options.set("avoid_negative_ts", "disabled");
    }
    write_header(&input, stream, spec.container, &mut output, options)?;

    let time_bases: Vec<ffmpeg::Rational> = input.streams().map(|s| s.time_base()).collect();
    let out_time_bases: Vec<ffmpeg::Rational> = output.streams().map(|s| s.time_base()).collect();
    let video_tb = time_bases[stream];
    let mut started = false;
    while let Some(mut packet) = next_packet(&mut input, source)? {
        if cancel.load(Ordering::Relaxed) {
            return Err(DeliveryError::Interrupted);
        }
        let from = packet.stream();
        let Some(target) = mapping.get(from).copied().flatten() else { continue };
        let at = packet.pts().or(packet.dts()).map(|t| t as f64 * f64::from(time_bases[from]));
        if from == stream {
            if needed.is_empty() {
                if at.is_some_and(|t| t > span.1 + 1.0) || mapping.iter().flatten().count() == 1 {
                    break;
                }
                continue;
            }
            if !started {
                // From the key frame: whatever the seek landed before it is not needed.
                if !(packet.is_key() && packet.pts().is_some_and(|p| p >= key_pts)) {
                    continue;
                }
                started = true;
            }
            if let Some(pts) = packet.pts() {
                needed.remove(&pts);
            }
        } else {
            // Audio of the span only; past its end (and the video done) the copy is over.
            match at {
                Some(t) if t >= span.0 && t < span.1 => {}
                Some(t) if t >= span.1 && needed.is_empty() => break,
                _ => continue,
            }
        }
        // Frame `first` at 0, or (kept timestamps) the video's times plus a fixed offset that
        // keeps B-frames' decode times positive: the same instant in every stream's time base.
        let shift = if spec.keep_timestamps {
            -ffmpeg::Rescale::rescale(&KEPT_TIMESTAMPS_OFFSET_MS, ffmpeg::Rational::new(1, 1000), time_bases[from])
        } else {
            ffmpeg::Rescale::rescale(&start_pts, video_tb, time_bases[from])
        };
        packet.set_pts(packet.pts().map(|t| t - shift));
        packet.set_dts(packet.dts().map(|t| t - shift));
        packet.rescale_ts(time_bases[from], out_time_bases[target]);
        packet.set_position(-1);
        packet.set_stream(target);
        packet.write_interleaved(&mut output).map_err(write_error)?;
        report.packets += 1;
    }
    if !started {
        return Err(DeliveryError::Write { container: muxer, reason: format!("no key frame was found before frame {}", spec.first) });
    }
    output.write_trailer().map_err(write_error)?;
    drop(output);
    if let (Some(file), Some(sink)) = (temp, sink) {
        file.copy_to(sink).map_err(|e| DeliveryError::Write { container: muxer, reason: e.to_string() })?;
    }
    Ok(report)
}
