//! `FrameIndex`: the packet index of one video stream, built once and serializable so
//! that a store can keep it beside the video. It lists every frame in presentation order
//! (pts, key flag, duration) and the seek points, and answers index/pts/time lookups.
//!
//! Built by a packet scan (demux only, no decoding) whenever packets map one-to-one onto
//! frames, which holds for nearly every file: packets flagged DISCARD by an edit list are
//! left out, exactly as the decoder leaves them out. Two cases need the decoder itself:
//! packets without pts (MXF) and field-coded interlaced video (two packets per frame, as in
//! broadcast MPEG-TS); for those the index is built from one decode pass.

use std::path::Path;

use ffmpeg_next as ffmpeg;
use ffmpeg::format::context::Input;
use serde::{Deserialize, Serialize};

use crate::decode::{DecoderSettings, StreamDecoder};
use crate::error::{MediaError, Result};
use crate::frame::{FrameId, FrameSelector};

/// Bumped whenever the serialized layout or the scanning rules change.
pub const INDEX_FORMAT_VERSION: u32 = 2;

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IndexMethod {
    /// Demuxed packets only.
    Packets,
    /// One decode pass, frame timestamps as the decoder reports them (best effort).
    Decode,
    /// One decode pass, but some frames carry no pts of their own (MXF, raw streams): pts
    /// are the decoder's best guesses (or frame ordinals), which need not repeat after a
    /// seek, so frames are found by counting forward from the start of the stream.
    DecodeOrdinal,
}

impl IndexMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            IndexMethod::Packets => "packets",
            IndexMethod::Decode => "decode",
            IndexMethod::DecodeOrdinal => "decode_ordinal",
        }
    }
}

/// One frame, in presentation order.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct IndexedFrame {
    pub pts: i64,
    pub key: bool,
    /// In time-base units; 0 when the container does not say.
    pub duration: i64,
}

/// A place the demuxer can seek to: a key packet (possibly one an edit list hides).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SeekPoint {
    /// Presentation time of the key frame.
    pub pts: i64,
    /// Timestamp to hand to `av_seek_frame`: the key frame's pts where the demuxer seeks in
    /// its own index (MP4, Matroska/WebM...), its dts where it searches the stream for
    /// timestamps (MPEG-TS/PS), so that the seek lands on this key frame and not the one before.
    pub ts: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FrameIndex {
    pub format_version: u32,
    /// Size of the file the index was built from, to catch a stale index.
    pub source_size: u64,
    pub stream_index: usize,
    pub time_base: [i32; 2],
    pub method: IndexMethod,
    pub frames: Vec<IndexedFrame>,
    pub seek_points: Vec<SeekPoint>,
}

impl FrameIndex {
    /// Builds the index: a packet scan, or a decode pass when packets cannot tell.
    pub(crate) fn build(path: &Path, input: &mut Input, stream_index: usize, threads: DecoderSettings) -> Result<FrameIndex> {
        let source_size = crate::remote::size_of(path).unwrap_or(0);
        let stream = input.stream(stream_index).expect("validated stream index");
        let tb = stream.time_base();
        let time_base = [tb.numerator(), tb.denominator()];
        let interlaced = field_coded_candidate(&stream);
        let scan = scan_packets(input, stream_index, seeks_by_dts(input));
        let mut index = match scan {
            Some(scan) if !interlaced => FrameIndex {
                format_version: INDEX_FORMAT_VERSION,
                source_size,
                stream_index,
                time_base,
                method: IndexMethod::Packets,
                frames: scan.frames,
                seek_points: scan.seek_points,
            },
            _ => scan_decoded(path, stream_index, threads, source_size, time_base)?,
        };
        index.seek_points.sort_by_key(|s| s.pts);
        if index.frames.is_empty() {
            return Err(MediaError::NoFrames(path.to_path_buf()));
        }
        Ok(index)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("index serializes")
    }

    pub fn from_json(text: &str) -> Result<FrameIndex> {
        let index: FrameIndex =
            serde_json::from_str(text).map_err(|e| MediaError::StaleIndex(format!("unreadable index: {e}")))?;
        if index.format_version != INDEX_FORMAT_VERSION {
            return Err(MediaError::StaleIndex(format!(
                "index format {} but this build reads {INDEX_FORMAT_VERSION}",
                index.format_version
            )));
        }
        if index.frames.is_empty() || index.frames.windows(2).any(|w| w[0].pts >= w[1].pts) {
            return Err(MediaError::StaleIndex("frames are not in strictly increasing pts order".into()));
        }
        Ok(index)
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// The ids of the frame at presentation position `index` (which must be in range).
    pub fn frame_id(&self, index: usize) -> FrameId {
        let f = self.frames[index];
        FrameId { index, pts: f.pts, seconds: self.seconds(f.pts), key: f.key }
    }

    /// Resolves a selector to a presentation index, with errors that name the valid range.
    pub fn resolve(&self, selector: FrameSelector) -> Result<usize> {
        match selector {
            FrameSelector::Index(i) => self.check_position(i),
            FrameSelector::Pts(pts) => self.position_of_pts(pts),
            FrameSelector::Seconds(t) => self.position_at_time(t),
        }
    }

    pub(crate) fn check_position(&self, i: u64) -> Result<usize> {
        if i < self.len() as u64 {
            Ok(i as usize)
        } else {
            Err(MediaError::IndexOutOfRange { index: i, count: self.len() })
        }
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    pub fn seconds(&self, pts: i64) -> f64 {
        pts as f64 * self.time_base[0] as f64 / self.time_base[1] as f64
    }

    /// Position of the frame with exactly this pts, or the nearest valid pts on each side.
    pub fn position_of_pts(&self, pts: i64) -> Result<usize> {
        match self.frames.binary_search_by_key(&pts, |f| f.pts) {
            Ok(i) => Ok(i),
            Err(i) => Err(MediaError::UnknownPts {
                pts,
                before: i.checked_sub(1).map(|j| self.frames[j].pts),
                after: self.frames.get(i).map(|f| f.pts),
            }),
        }
    }

    /// The `ffmpeg -ss t` rule: the first frame whose pts is at or after `t` seconds, where
    /// `t` is converted to the stream time base the way FFmpeg does (microseconds, then
    /// rescaled with rounding to nearest). `t` is on the stream's own timeline, the same
    /// scale as every frame's `seconds`.
    pub fn position_at_time(&self, seconds: f64) -> Result<usize> {
        if !seconds.is_finite() {
            return Err(MediaError::InvalidOption(format!("time must be a finite number of seconds, got {seconds}")));
        }
        let micros = (seconds * 1e6).round() as i128;
        let (num, den) = (self.time_base[0] as i128, self.time_base[1] as i128);
        // micros * den / (num * 1e6), rounded half away from zero like av_rescale_q.
        let d = num * 1_000_000;
        let n = micros * den;
        let start_pts = if n >= 0 { (n + d / 2) / d } else { (n - d / 2) / d };
        let start_pts = start_pts.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
        let i = self.frames.partition_point(|f| f.pts < start_pts);
        if i == self.frames.len() {
            return Err(MediaError::TimeOutOfRange {
                seconds,
                last_seconds: self.seconds(self.frames.last().map(|f| f.pts).unwrap_or(0)),
            });
        }
        Ok(i)
    }

    /// The seek point to start decoding from to reach frame `pos`: the last key packet at
    /// or before it in presentation time.
    pub fn seek_point_for(&self, pos: usize) -> Option<SeekPoint> {
        let pts = self.frames[pos].pts;
        let i = self.seek_points.partition_point(|s| s.pts <= pts);
        i.checked_sub(1).map(|j| self.seek_points[j])
    }

    /// Whether a seek point lies strictly after frame `from` and at or before frame `to`:
    /// then seeking is cheaper than decoding forward.
    pub fn seek_point_between(&self, from: usize, to: usize) -> bool {
        let (a, b) = (self.frames[from].pts, self.frames[to].pts);
        let i = self.seek_points.partition_point(|s| s.pts <= a);
        self.seek_points.get(i).is_some_and(|s| s.pts <= b)
    }

    pub fn keyframe_indices(&self) -> Vec<usize> {
        self.frames.iter().enumerate().filter(|(_, f)| f.key).map(|(i, _)| i).collect()
    }

    pub fn duration_seconds(&self) -> f64 {
        let (Some(first), Some(last)) = (self.frames.first(), self.frames.last()) else { return 0.0 };
        let last_duration = if last.duration > 0 {
            last.duration
        } else if self.frames.len() > 1 {
            (last.pts - first.pts) / (self.frames.len() as i64 - 1)
        } else {
            0
        };
        self.seconds(last.pts - first.pts + last_duration)
    }

    /// Frames per second measured from the timestamps, for streams whose header has none.
    pub fn measured_fps(&self) -> f64 {
        let n = self.frames.len();
        if n < 2 {
            return 0.0;
        }
        let span = self.seconds(self.frames[n - 1].pts - self.frames[0].pts);
        if span > 0.0 { (n - 1) as f64 / span } else { 0.0 }
    }
}

/// Interlaced streams of codecs that can code each field as its own packet.
fn field_coded_candidate(stream: &ffmpeg::format::stream::Stream) -> bool {
    use ffmpeg::codec::Id;
    let params = stream.parameters();
    let field_order = crate::ffi::field_order(&params);
    let interlaced = !matches!(
        field_order,
        ffmpeg::ffi::AVFieldOrder::AV_FIELD_PROGRESSIVE | ffmpeg::ffi::AVFieldOrder::AV_FIELD_UNKNOWN
    );
    interlaced && matches!(params.id(), Id::H264 | Id::HEVC | Id::MPEG2VIDEO)
}

struct PacketScan {
    frames: Vec<IndexedFrame>,
    seek_points: Vec<SeekPoint>,
}

/// Whether the container's seek compares dts while searching the stream (formats whose
/// timestamps may jump: MPEG-TS/PS, FLV) rather than looking up an index keyed by pts.
/// Measured: seeking MP4/MKV/MOV by a key frame's dts lands one GOP early (3× the frames
/// decoded for random access); seeking MPEG-TS by its pts lands after it.
fn seeks_by_dts(input: &Input) -> bool {
    let flags = crate::ffi::demuxer_flags(input);
    flags & ffmpeg::ffi::AVFMT_TS_DISCONT as i32 != 0
}

/// Demuxes every packet of the stream. `None` when packets cannot stand for frames
/// (a packet without pts, or two packets with the same pts).
fn scan_packets(input: &mut Input, stream_index: usize, by_dts: bool) -> Option<PacketScan> {
    let mut frames = Vec::new();
    let mut seek_points = Vec::new();
    let mut missing_pts = false;
    loop {
        // A fresh packet per read: av_read_frame does not release the packet it overwrites.
        let mut packet = ffmpeg::Packet::empty();
        match packet.read(input) {
            Ok(()) if packet.stream() == stream_index => {}
            Ok(()) => continue,
            Err(ffmpeg::Error::InvalidData) => continue,
            // End of file, or a truncated file: what was read so far is the index.
            Err(_) => break,
        }
        // ffmpeg-next's packet flags drop the DISCARD bit.
        let discard = crate::ffi::packet_flags(&packet) & ffmpeg::ffi::AV_PKT_FLAG_DISCARD as i32 != 0;
        let Some(pts) = packet.pts() else {
            missing_pts = true;
            continue;
        };
        if packet.is_key() {
            let ts = if by_dts { packet.dts().unwrap_or(pts).min(pts) } else { pts };
            seek_points.push(SeekPoint { pts, ts });
        }
        if !discard {
            frames.push(IndexedFrame { pts, key: packet.is_key(), duration: packet.duration() });
        }
    }
    frames.sort_by_key(|f| f.pts);
    let duplicate = frames.windows(2).any(|w| w[0].pts == w[1].pts);
    (!missing_pts && !duplicate).then_some(PacketScan { frames, seek_points })
}

/// One decode pass, recording what the decoder actually outputs.
fn scan_decoded(path: &Path, stream_index: usize, threads: DecoderSettings, source_size: u64, time_base: [i32; 2]) -> Result<FrameIndex> {
    let mut decoder = StreamDecoder::open(path, stream_index, threads)?;
    let mut frame = ffmpeg::frame::Video::empty();
    let mut frames = Vec::new();
    let mut seek_points = Vec::new();
    // Timestamps as the decoder reports them; a frame without one gets its predecessor's
    // plus a frame duration (it will be located by counting from its neighbour).
    let mut stamps: Vec<Option<i64>> = Vec::new();
    let mut guessed = false;
    while decoder.next_frame(&mut frame)? {
        let packet = frame.packet();
        let ts = frame.timestamp();
        guessed |= frame.pts().is_none();
        if let (Some(pts), true) = (ts, frame.is_key()) {
            let dts = if packet.dts == i64::MIN { pts } else { packet.dts };
            seek_points.push(SeekPoint { pts, ts: dts.min(pts) });
        }
        stamps.push(ts);
        frames.push(IndexedFrame { pts: 0, key: frame.is_key(), duration: packet.duration });
    }
    let known: Vec<(usize, i64)> = stamps.iter().enumerate().filter_map(|(i, t)| t.map(|t| (i, t))).collect();
    let mut ordinal_only = known.is_empty();
    if let Some(&(first_i, first_pts)) = known.first() {
        let step = |f: &IndexedFrame| f.duration.max(1);
        for i in 0..frames.len() {
            frames[i].pts = match stamps[i] {
                Some(t) => t,
                None if i > first_i => frames[i - 1].pts + step(&frames[i - 1]),
                None => first_pts - (first_i - i) as i64 * step(&frames[first_i]),
            };
        }
        ordinal_only = frames.windows(2).any(|w| w[0].pts >= w[1].pts);
    }
    if ordinal_only {
        for (i, f) in frames.iter_mut().enumerate() {
            f.pts = i as i64;
        }
    }
    let ordinal_only = ordinal_only || guessed;
    if ordinal_only {
        seek_points.clear();
    }
    Ok(FrameIndex {
        format_version: INDEX_FORMAT_VERSION,
        source_size,
        stream_index,
        time_base,
        method: if ordinal_only { IndexMethod::DecodeOrdinal } else { IndexMethod::Decode },
        frames,
        seek_points,
    })
}
