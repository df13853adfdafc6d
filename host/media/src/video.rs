//! `Video`: an open video stream with its packet index and a live decoder. This is where a
//! frame is decoded: by index, pts or time, one at a time, in batches, or all in sequence.
//! The decoder stays open between calls, so sequential and nearby requests never re-seek.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ffmpeg_next as ffmpeg;
use ffmpeg::frame;

use crate::container::{open_input, select_stream};
use crate::decode::{DecoderSettings, StreamDecoder};
use crate::encode::{encode_image, ImageFormat};
use crate::error::{MediaError, Result};
use crate::frame::{FrameId, FrameSelector};
use crate::index::{FrameIndex, IndexMethod, SeekPoint};
use crate::probe::{StreamFacts, VideoInfo};
use crate::render::{RenderOptions, Renderer, RgbImage, RgbView};

/// Seeking flushes the decoder's pipeline, so it only pays off when it skips more than
/// this many frames; below that, decoding forward is cheaper.
const MIN_FRAMES_SKIPPED_BY_SEEK: usize = 8;

/// How to open a video.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// Absolute stream index; FFmpeg's best video stream when `None`.
    pub stream: Option<usize>,
    /// Decoder threads (0: FFmpeg's automatic choice, as the ffmpeg CLI).
    pub threads: usize,
    /// A packet index saved earlier with [`FrameIndex::to_json`], to skip the scan.
    /// Shared, not copied: pooled decoders of one file all use one index.
    pub index: Option<Arc<FrameIndex>>,
    /// Largest picture (width × height) accepted: a bigger stream is refused at open with
    /// [`MediaError::TooManyPixels`], and the decoder refuses bigger pictures mid-stream.
    /// `None`: FFmpeg's own limit.
    pub max_pixels: Option<u64>,
}

/// A decoded frame as RGB24 pixels with its id.
#[derive(Clone, Debug)]
pub struct Frame {
    pub id: FrameId,
    pub image: RgbImage,
}

/// `decoded` (the frames at the sorted, distinct `sorted` indices) arranged as `indices` asks,
/// repeats included: each frame is moved out at its last use and cloned only for a repeat
/// (a batch's frames are megabytes; each copy is a pass over them and fresh pages).
pub(crate) fn in_asked_order(indices: &[usize], sorted: &[usize], decoded: Vec<Frame>) -> Vec<Frame> {
    let at = |i: &usize| sorted.binary_search(i).expect("every index was decoded");
    let mut uses = vec![0usize; sorted.len()];
    for i in indices {
        uses[at(i)] += 1;
    }
    let mut decoded: Vec<Option<Frame>> = decoded.into_iter().map(Some).collect();
    indices
        .iter()
        .map(|i| {
            let k = at(i);
            uses[k] -= 1;
            if uses[k] == 0 {
                decoded[k].take().expect("a frame is moved out once, at its last use")
            } else {
                decoded[k].clone().expect("a frame is kept until its last use")
            }
        })
        .collect()
}

impl Frame {
    pub fn encode(&self, format: ImageFormat, quality: u8) -> Result<Vec<u8>> {
        encode_image(&self.image, format, quality)
    }
}

/// A frame in the decoder's native pixel format, planes packed without padding (what
/// `ffmpeg -f framemd5` hashes).
#[derive(Clone, Debug)]
pub struct RawFrame {
    pub id: FrameId,
    pub pix_fmt: String,
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

pub struct Video {
    path: PathBuf,
    facts: StreamFacts,
    info: VideoInfo,
    index: Arc<FrameIndex>,
    decoder: StreamDecoder,
    /// Presentation index of the frame the decoder output last, when known.
    position: Option<usize>,
    renderer: Option<Renderer>,
    current: frame::Video,
    /// Pictures the decoder has output since the video was opened (wanted or not).
    decoded: u64,
    /// Seek points (by pts) where a seek was seen to land earlier than the point itself
    /// (an I-frame the demuxer does not treat as a sync sample): seeking to them skips
    /// nothing, so they are passed over when deciding whether and where to seek.
    landed_early: Vec<i64>,
    /// When set, decoding stops with [`MediaError::Interrupted`] at the next picture.
    interrupt: Option<Arc<AtomicBool>>,
}

impl Video {
    pub fn open(path: impl AsRef<Path>) -> Result<Video> {
        Video::open_with(path, OpenOptions::default())
    }

    pub fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<Video> {
        let path = path.as_ref();
        let mut input = open_input(path)?;
        let stream_index = select_stream(&input, path, options.stream)?;
        let facts = StreamFacts::read(&input, stream_index);
        if let Some(limit) = options.max_pixels {
            let (width, height) = (facts.coded_width, facts.coded_height);
            if width as u64 * height as u64 > limit {
                return Err(MediaError::TooManyPixels { path: path.to_path_buf(), width, height, limit });
            }
        }
        let threads = DecoderSettings { threads: options.threads, max_pixels: options.max_pixels };
        let index = match options.index {
            Some(index) => {
                check_index(path, &index, stream_index)?;
                index
            }
            None => Arc::new(FrameIndex::build(path, &mut input, stream_index, threads)?),
        };
        let info = VideoInfo::new(&facts, stream_index, &index);
        let decoder = StreamDecoder::with_input(path, input, stream_index, threads)?;
        Ok(Video {
            path: path.to_path_buf(),
            facts,
            info,
            index,
            decoder,
            position: None,
            renderer: None,
            current: frame::Video::empty(),
            decoded: 0,
            landed_early: Vec::new(),
            interrupt: None,
        })
    }

    /// A flag that, once set, makes every decode stop at its next picture with
    /// [`MediaError::Interrupted`] (work nobody waits for any more). `None` clears it.
    pub fn set_interrupt(&mut self, flag: Option<Arc<AtomicBool>>) {
        self.interrupt = flag;
    }

    /// Pictures decoded since this video was opened, including those decoded only to reach
    /// a later frame (from a key frame up to the one asked for).
    /// Packets left out because no other frame needed them (see `disposable.rs`).
    pub fn packets_skipped(&self) -> u64 {
        self.decoder.skipped
    }

    pub fn frames_decoded(&self) -> u64 {
        self.decoded
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    pub fn index(&self) -> &FrameIndex {
        &self.index
    }

    /// The packet index, shared: hand it to [`OpenOptions::index`] to open the same file
    /// again without a scan or a copy.
    pub fn shared_index(&self) -> Arc<FrameIndex> {
        self.index.clone()
    }

    pub fn frame_count(&self) -> usize {
        self.index.len()
    }

    pub fn frame_id(&self, index: usize) -> FrameId {
        self.index.frame_id(index)
    }

    /// All frame ids in presentation order.
    pub fn frame_ids(&self) -> Vec<FrameId> {
        (0..self.index.len()).map(|i| self.frame_id(i)).collect()
    }

    /// Resolves a selector to a presentation index, with errors that name the valid range.
    pub fn resolve(&self, selector: FrameSelector) -> Result<usize> {
        self.index.resolve(selector)
    }

    fn check_position(&self, i: u64) -> Result<usize> {
        self.index.check_position(i)
    }

    /// One frame as RGB.
    pub fn frame(&mut self, index: usize, options: &RenderOptions) -> Result<Frame> {
        self.check_position(index as u64)?;
        self.validate(options)?;
        self.decode_to(index)?;
        let id = self.frame_id(index);
        self.render_current(options, |view| Frame { id, image: view.to_image() })
    }

    /// Several frames, returned in the order asked (duplicates allowed). Each distinct frame
    /// is decoded once, in presentation order, seeking only when that is cheaper.
    pub fn frames(&mut self, indices: &[usize], options: &RenderOptions) -> Result<Vec<Frame>> {
        let mut sorted = indices.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut decoded: Vec<Frame> = Vec::with_capacity(sorted.len());
        self.for_each_frame_at(&sorted, options, |f| {
            decoded.push(f);
            Ok(())
        })?;
        Ok(in_asked_order(indices, &sorted, decoded))
    }

    /// Streams frames at the given indices to `sink` in ascending order, holding one at a time.
    pub fn for_each_frame_at(
        &mut self,
        indices: &[usize],
        options: &RenderOptions,
        mut sink: impl FnMut(Frame) -> Result<()>,
    ) -> Result<()> {
        self.for_each_view_at(indices, options, |id, view| sink(Frame { id, image: view.to_image() }))
    }

    /// Like [`Video::for_each_frame_at`], but lends each frame's rows without copying them:
    /// the fastest way to stream raw RGB out.
    pub fn for_each_view_at(
        &mut self,
        indices: &[usize],
        options: &RenderOptions,
        mut sink: impl FnMut(FrameId, RgbView<'_>) -> Result<()>,
    ) -> Result<()> {
        self.walk_to_each(indices, options, |video, id| video.render_current(options, |view| sink(id, view))?)
    }

    /// Decodes each distinct frame of `indices` in ascending order and calls `at_frame` with
    /// it as the current frame (rendered by `at_frame` as it needs).
    pub(crate) fn walk_to_each(
        &mut self,
        indices: &[usize],
        options: &RenderOptions,
        mut at_frame: impl FnMut(&mut Video, FrameId) -> Result<()>,
    ) -> Result<()> {
        for &i in indices {
            self.check_position(i as u64)?;
        }
        self.validate(options)?;
        let mut sorted = indices.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        for i in sorted {
            self.decode_to(i)?;
            let id = self.frame_id(i);
            at_frame(self, id)?;
        }
        Ok(())
    }

    /// Renders the current frame into `dst`: exactly one packed frame of `size`.
    pub(crate) fn render_current_into(&mut self, options: &RenderOptions, size: (u32, u32), dst: &mut [u8]) -> Result<()> {
        renderer_for(&mut self.renderer, &self.current, &self.facts, options)?.render_into(&self.current, size, dst)
    }

    /// Every frame in presentation order.
    pub fn for_each_frame(&mut self, options: &RenderOptions, sink: impl FnMut(Frame) -> Result<()>) -> Result<()> {
        let all: Vec<usize> = (0..self.index.len()).collect();
        self.for_each_frame_at(&all, options, sink)
    }

    /// A frame in the decoder's native pixel format (no conversion, no rotation).
    pub fn raw_frame(&mut self, index: usize) -> Result<RawFrame> {
        self.check_position(index as u64)?;
        self.decode_to(index)?;
        let f = &self.current;
        let raw_format = crate::ffi::frame_format(f);
        let fmt = crate::ffi::pixel_format(raw_format)
            .ok_or_else(|| MediaError::InvalidOption(format!("the decoder produced unknown pixel format {raw_format}")))?;
        let data = crate::ffi::copy_frame_planes(f, fmt)
            .map_err(|(context, rc)| MediaError::Ffmpeg { context: context.into(), source: ffmpeg::Error::from(rc) })?;
        let pix_fmt = crate::ffi::pixel_format_name(raw_format);
        Ok(RawFrame { id: self.frame_id(index), pix_fmt, width: f.width(), height: f.height(), data })
    }

    fn validate(&self, options: &RenderOptions) -> Result<()> {
        let (w, h) = if options.autorotate {
            (self.info.width, self.info.height)
        } else {
            (self.info.coded_width, self.info.coded_height)
        };
        options.validate(w, h)
    }

    fn render_current<R>(&mut self, options: &RenderOptions, use_rows: impl FnOnce(RgbView<'_>) -> R) -> Result<R> {
        renderer_for(&mut self.renderer, &self.current, &self.facts, options)?.render(&self.current, use_rows)
    }

    /// Leaves frame `target` in `self.current`: decodes forward from where the decoder is
    /// when no worthwhile seek point lies in between, otherwise seeks first.
    fn decode_to(&mut self, target: usize) -> Result<()> {
        let ordinal = self.index.method == IndexMethod::DecodeOrdinal;
        // Frames shown before the target that no other frame needs are not decoded (frames
        // are found by pts, so the ones left out are never miscounted).
        self.decoder.skip_disposable_before((!ordinal).then(|| self.index.frames[target].pts));
        let forward = match self.position {
            Some(p) if target > p => ordinal || self.frames_skipped_by_seek(p, target) <= MIN_FRAMES_SKIPPED_BY_SEEK,
            _ => false,
        };
        let mut seeked_to: Option<SeekPoint> = None;
        let mut rewound = false;
        if !forward {
            match self.seek_point_for(target).filter(|_| !ordinal) {
                Some(sp) => {
                    self.decoder.seek(sp.ts)?;
                    seeked_to = Some(sp);
                }
                None => {
                    self.decoder.rewind()?;
                    rewound = true;
                }
            }
            self.position = None;
        }
        loop {
            if self.interrupt.as_ref().is_some_and(|f| f.load(Ordering::Relaxed)) {
                self.position = None;
                return Err(MediaError::Interrupted);
            }
            let just_seeked = self.position.is_none();
            if !self.decoder.next_frame(&mut self.current)? {
                self.position = None;
                // A seek that lands past the last decodable key frame yields nothing at all.
                if just_seeked && !rewound {
                    rewound = self.step_back(&mut seeked_to)?;
                    continue;
                }
                return Err(self.undecodable(target, "the stream ended before this frame"));
            }
            self.decoded += 1;
            let Some(p) = self.locate_current(ordinal) else { continue };
            if let Some(sp) = seeked_to.filter(|_| just_seeked) {
                if p < self.position_of(sp) && !self.landed_early.contains(&sp.pts) {
                    self.landed_early.push(sp.pts);
                }
            }
            self.position = Some(p);
            match p.cmp(&target) {
                std::cmp::Ordering::Equal => return Ok(()),
                std::cmp::Ordering::Less => continue,
                // Landed past the target: the demuxer's seek was imprecise. Start earlier.
                std::cmp::Ordering::Greater if just_seeked && !rewound => {
                    rewound = self.step_back(&mut seeked_to)?;
                    self.position = None;
                }
                std::cmp::Ordering::Greater => {
                    self.position = None;
                    return Err(self.undecodable(target, "the decoder produced no picture for it"));
                }
            }
        }
    }

    /// Seeks to the seek point before `seeked_to`, or rewinds to the start when there is
    /// none; returns whether it rewound.
    fn step_back(&mut self, seeked_to: &mut Option<SeekPoint>) -> Result<bool> {
        match seeked_to.and_then(|sp| self.seek_point_before(sp)) {
            Some(sp) => {
                self.decoder.seek(sp.ts)?;
                *seeked_to = Some(sp);
                Ok(false)
            }
            None => {
                self.decoder.rewind()?;
                Ok(true)
            }
        }
    }

    /// Where the frame just decoded sits in the index.
    fn locate_current(&self, ordinal: bool) -> Option<usize> {
        let next = || self.position.map(|p| p + 1).or(if ordinal { Some(0) } else { None });
        if ordinal {
            return next();
        }
        match self.current.timestamp() {
            Some(ts) => self.index.position_of_pts(ts).ok(),
            None => next(),
        }
    }

    /// The seek point to reach frame `pos` from: the index's, passing over those seen to
    /// land early.
    fn seek_point_for(&self, pos: usize) -> Option<SeekPoint> {
        let mut sp = self.index.seek_point_for(pos);
        while let Some(p) = sp.filter(|p| self.landed_early.contains(&p.pts)) {
            sp = self.seek_point_before(p);
        }
        sp
    }

    /// The presentation index of the first frame at or after a seek point.
    fn position_of(&self, sp: SeekPoint) -> usize {
        self.index.frames.partition_point(|f| f.pts < sp.pts)
    }

    fn frames_skipped_by_seek(&self, from: usize, to: usize) -> usize {
        match self.seek_point_for(to) {
            Some(sp) => self.position_of(sp).saturating_sub(from),
            None => 0,
        }
    }

    fn seek_point_before(&self, sp: SeekPoint) -> Option<SeekPoint> {
        let i = self.index.seek_points.partition_point(|s| s.pts < sp.pts);
        i.checked_sub(1).map(|j| self.index.seek_points[j])
    }

    fn undecodable(&self, index: usize, default_reason: &str) -> MediaError {
        // Packets that stopped coming because the store failed are no fault of the video.
        if let Some(reason) = crate::remote::failure(&self.path) {
            return MediaError::SourceUnavailable { path: self.path.clone(), reason };
        }
        let reason = self
            .decoder
            .read_error
            .as_ref()
            .map(|e| format!("input ended early ({e})"))
            .or_else(|| self.decoder.last_decode_error.as_ref().map(|e| format!("decoder error: {e}")))
            .unwrap_or_else(|| default_reason.to_string());
        MediaError::Undecodable { index, pts: self.index.frames[index].pts, reason }
    }
}

fn check_index(path: &Path, index: &FrameIndex, stream_index: usize) -> Result<()> {
    if index.stream_index != stream_index {
        return Err(MediaError::StaleIndex(format!(
            "index is for stream {} but stream {stream_index} was chosen",
            index.stream_index
        )));
    }
    let size = crate::remote::size_of(path).unwrap_or(0);
    if index.source_size != 0 && index.source_size != size {
        return Err(MediaError::StaleIndex(format!(
            "index was built from a {}-byte file but {} has {size} bytes",
            index.source_size,
            path.display()
        )));
    }
    Ok(())
}

/// The renderer in `slot` for `current` with `options`, built again when the frame's input
/// format or the options changed.
fn renderer_for<'a>(slot: &'a mut Option<Renderer>, current: &frame::Video, facts: &StreamFacts, options: &RenderOptions) -> Result<&'a mut Renderer> {
    if !slot.as_ref().is_some_and(|r| r.matches(current, options)) {
        *slot = Some(Renderer::new(current, facts, options)?);
    }
    Ok(slot.as_mut().expect("renderer just set"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(index: usize) -> Frame {
        let id = FrameId { index, pts: index as i64, seconds: index as f64, key: false };
        Frame { id, image: RgbImage { width: 1, height: 1, data: vec![index as u8; 3] } }
    }

    #[test]
    fn frames_come_back_in_the_order_asked_with_repeats() {
        let sorted = [2, 5, 9];
        let asked = [9, 2, 9, 5, 2, 9];
        let got = in_asked_order(&asked, &sorted, sorted.iter().map(|&i| frame(i)).collect());
        let indices: Vec<usize> = got.iter().map(|f| f.id.index).collect();
        assert_eq!(indices, asked);
        assert!(got.iter().all(|f| f.image.data == vec![f.id.index as u8; 3]));
    }
}
