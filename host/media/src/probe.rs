//! Probing: the facts of the chosen stream and `VideoInfo`, the JSON-able description of a
//! video (header facts plus counts from the packet index).

use ffmpeg_next as ffmpeg;
use ffmpeg::format::context::Input;
use serde::{Deserialize, Serialize};

use crate::index::FrameIndex;

/// One stream of the container, as listed in `VideoInfo::streams`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StreamSummary {
    pub index: usize,
    pub kind: String,
    pub codec: String,
}

/// Facts about the chosen stream that come from the container header, not the scan.
#[derive(Clone, Debug)]
pub(crate) struct StreamFacts {
    pub container: String,
    pub streams: Vec<StreamSummary>,
    pub codec: String,
    pub pix_fmt: String,
    pub coded_width: u32,
    pub coded_height: u32,
    pub time_base: (i32, i32),
    pub avg_frame_rate: (i32, i32),
    /// The stream's display matrix, if any (FFmpeg's 3x3 16.16 fixed point).
    pub display_matrix: Option<[i32; 9]>,
}

impl StreamFacts {
    pub fn read(input: &Input, stream_index: usize) -> StreamFacts {
        let stream = input.stream(stream_index).expect("stream index comes from select_stream");
        let params = stream.parameters();
        let (w, h, fmt) = crate::ffi::coded_size_and_format(&params);
        let pix_fmt = pixel_format_name(fmt);
        let streams = input
            .streams()
            .map(|s| StreamSummary {
                index: s.index(),
                kind: format!("{:?}", s.parameters().medium()).to_lowercase(),
                codec: s.parameters().id().name().to_string(),
            })
            .collect();
        let display_matrix = stream.side_data().find_map(|sd| {
            (sd.kind() == ffmpeg::codec::packet::side_data::Type::DisplayMatrix && sd.data().len() >= 36).then(|| {
                let mut m = [0i32; 9];
                for (i, chunk) in sd.data()[..36].chunks_exact(4).enumerate() {
                    m[i] = i32::from_ne_bytes(chunk.try_into().unwrap());
                }
                m
            })
        });
        let tb = stream.time_base();
        let fr = stream.avg_frame_rate();
        StreamFacts {
            container: input.format().name().to_string(),
            streams,
            codec: params.id().name().to_string(),
            pix_fmt,
            coded_width: w,
            coded_height: h,
            time_base: (tb.numerator(), tb.denominator()),
            avg_frame_rate: (fr.numerator(), fr.denominator()),
            display_matrix,
        }
    }

    /// Rotation as FFmpeg reports it (`av_display_rotation_get`, counter-clockwise degrees,
    /// e.g. 90 or -180), rounded; 0 without a display matrix.
    pub fn rotation(&self) -> i32 {
        self.display_matrix.map(|m| display_rotation(&m).round() as i32).unwrap_or(0)
    }

    /// The clockwise angle FFmpeg's CLI autorotation turns the picture by, in 0..360.
    pub fn autorotate_theta(&self) -> f64 {
        match self.display_matrix {
            Some(m) => {
                let mut theta = -display_rotation(&m).round();
                theta -= 360.0 * (theta / 360.0 + 0.9 / 360.0).floor();
                theta
            }
            None => 0.0,
        }
    }
}

use crate::ffi::{display_rotation, pixel_format_name};

/// Everything `frameflow probe` prints about a video's chosen stream.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct VideoInfo {
    /// FFmpeg demuxer name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    pub container: String,
    pub streams: Vec<StreamSummary>,
    /// Absolute index of the chosen video stream.
    pub stream_index: usize,
    pub codec: String,
    pub pix_fmt: String,
    pub coded_width: u32,
    pub coded_height: u32,
    /// Displayed size: coded size with rotation applied (90/270 swap the axes).
    pub width: u32,
    pub height: u32,
    /// FFmpeg's rotation (counter-clockwise degrees from the display matrix, as ffprobe prints it).
    pub rotation: i32,
    /// Stream time base as `[num, den]`; every pts is in this unit.
    pub time_base: [i32; 2],
    pub avg_fps: f64,
    /// pts of the first frame in presentation order.
    pub start_pts: i64,
    pub start_seconds: f64,
    /// From the first frame's pts to the end of the last frame, from the scan.
    pub duration_seconds: f64,
    /// Frames the stream really holds, counted by scanning (never the header).
    pub frame_count: usize,
    /// Presentation-order indices of key frames.
    pub keyframes: Vec<usize>,
    /// How the index was built: `packets` (demux only) or `decode` (timestamps need the decoder).
    pub index_method: String,
}

impl VideoInfo {
    pub(crate) fn new(facts: &StreamFacts, stream_index: usize, index: &FrameIndex) -> VideoInfo {
        let theta = facts.autorotate_theta();
        let swap = (theta - 90.0).abs() < 1.0 || (theta - 270.0).abs() < 1.0;
        let (width, height) =
            if swap { (facts.coded_height, facts.coded_width) } else { (facts.coded_width, facts.coded_height) };
        let tb = facts.time_base;
        let avg_fps = if facts.avg_frame_rate.0 > 0 && facts.avg_frame_rate.1 > 0 {
            facts.avg_frame_rate.0 as f64 / facts.avg_frame_rate.1 as f64
        } else {
            index.measured_fps()
        };
        VideoInfo {
            container: facts.container.clone(),
            streams: facts.streams.clone(),
            stream_index,
            codec: facts.codec.clone(),
            pix_fmt: facts.pix_fmt.clone(),
            coded_width: facts.coded_width,
            coded_height: facts.coded_height,
            width,
            height,
            rotation: facts.rotation(),
            time_base: [tb.0, tb.1],
            avg_fps,
            start_pts: index.frames.first().map(|f| f.pts).unwrap_or(0),
            start_seconds: index.frames.first().map(|f| index.seconds(f.pts)).unwrap_or(0.0),
            duration_seconds: index.duration_seconds(),
            frame_count: index.frames.len(),
            keyframes: index.keyframe_indices(),
            index_method: index.method.as_str().to_string(),
        }
    }
}
