//! [`VideoPool`]: opened videos kept warm between requests.
//!
//! Opening a video costs a packet scan; decoding a frame costs a seek and a GOP of decode.
//! The pool keeps, per file, the packet index and a few idle [`Video`]s (each with its
//! decoder positioned where the last request left it), so a request for the next frame
//! decodes one frame, not a GOP. A batch across GOPs goes to the video's [`DecoderTeam`]
//! (a GOP per decoder, in parallel) when the team is free. All methods here block: call them
//! from blocking threads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use frameflow_media::{DecoderTeam, Frame, FrameIndex, MediaError, OpenOptions, RenderOptions, Video, VideoInfo};

/// Idle decoders kept per video; more concurrent requests open more, then drop the excess.
const IDLE_DECODERS_PER_VIDEO: usize = 4;
/// Videos whose index and decoders stay in memory.
const MAX_POOLED_VIDEOS: usize = 64;

/// Identifies the file's content well enough to notice it was replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileStamp {
    size: u64,
    modified: Option<SystemTime>,
}

impl FileStamp {
    fn read(path: &Path) -> Result<FileStamp, MediaError> {
        // An object read by ranges is named per version (its etag is in the name).
        if let Some(source) = frameflow_media::remote::source(path) {
            return Ok(FileStamp { size: source.len(), modified: None });
        }
        let meta = std::fs::metadata(path).map_err(|_| MediaError::NotFound(path.to_path_buf()))?;
        Ok(FileStamp { size: meta.len(), modified: meta.modified().ok() })
    }
}

/// One video file: its index (shared by all its decoders) and idle decoders.
pub struct PooledVideo {
    path: PathBuf,
    stamp: FileStamp,
    info: VideoInfo,
    index: Arc<FrameIndex>,
    max_pixels: Option<u64>,
    idle: Mutex<Vec<Video>>,
    /// Decoders that share out batches across GOPs; one batch at a time (a busy team
    /// sends the next batch to one pooled decoder).
    team: Mutex<Option<DecoderTeam>>,
}

impl PooledVideo {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    pub fn index(&self) -> &FrameIndex {
        &self.index
    }

    /// A strong validator of what this video's frames decode to: its file (or object
    /// version) as opened, and the decoders' lineage ([`frameflow_media::pixel_lineage`]).
    /// 16 hex digits.
    pub fn content_tag(&self) -> String {
        use sha2::Digest;
        static LINEAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let lineage = LINEAGE.get_or_init(frameflow_media::pixel_lineage);
        let modified = self.stamp.modified.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
        let described = format!("{lineage}\0{}\0{}\0{modified}", self.path.display(), self.stamp.size);
        hex::encode(&sha2::Sha256::digest(described.as_bytes())[..8])
    }

    /// Runs `work` on an idle decoder of this video (opening one when none is idle) and
    /// puts it back afterwards, unless it failed: a failed decoder may be mid-GOP.
    /// `interrupt`: a flag that stops the decode at its next picture once set.
    pub fn with_video<R>(&self, interrupt: Option<Arc<AtomicBool>>, work: impl FnOnce(&mut Video) -> Result<R, MediaError>) -> Result<R, MediaError> {
        let idle = self.idle.lock().expect("video pool lock").pop();
        let mut video = match idle {
            Some(v) => v,
            None => Video::open_with(&self.path, OpenOptions { index: Some(self.index.clone()), max_pixels: self.max_pixels, ..OpenOptions::default() })?,
        };
        video.set_interrupt(interrupt);
        let result = work(&mut video);
        video.set_interrupt(None);
        if result.is_ok() {
            let mut idle = self.idle.lock().expect("video pool lock");
            if idle.len() < IDLE_DECODERS_PER_VIDEO {
                idle.push(video);
            }
        }
        result
    }

    /// Frames at `indices` (positions, any order, repeats allowed) in the order asked, on
    /// the decoder [`PooledVideo::with_batch_decoder`] picks. `interrupt` as in
    /// [`PooledVideo::with_video`].
    pub fn frames(&self, interrupt: Option<Arc<AtomicBool>>, indices: &[usize], options: &RenderOptions) -> Result<Vec<Frame>, MediaError> {
        self.with_batch_decoder(interrupt, indices, |decoder| match decoder {
            BatchDecoder::Team(team) => team.frames(indices, options),
            BatchDecoder::One(video) => video.frames(indices, options),
        })
    }

    /// [`PooledVideo::frames`] written straight into `out` (RGB24, back to back in the order
    /// asked, sized by the render): a response body without a frame-by-frame copy.
    pub fn frames_into(&self, interrupt: Option<Arc<AtomicBool>>, indices: &[usize], options: &RenderOptions, out: &mut [u8]) -> Result<(), MediaError> {
        self.with_batch_decoder(interrupt, indices, |decoder| match decoder {
            BatchDecoder::Team(team) => team.frames_into(indices, options, out),
            BatchDecoder::One(video) => video.frames_into(indices, options, out),
        })
    }

    /// Runs a batch's `work` on the video's team when the frames start in two or more GOPs,
    /// there are cores for it and the team is not busy (a GOP per decoder at once);
    /// otherwise on one pooled decoder.
    fn with_batch_decoder<R>(
        &self,
        interrupt: Option<Arc<AtomicBool>>,
        indices: &[usize],
        work: impl FnOnce(BatchDecoder<'_>) -> Result<R, MediaError>,
    ) -> Result<R, MediaError> {
        if let Ok(mut slot) = self.team.try_lock() {
            let team = slot.get_or_insert_with(|| {
                DecoderTeam::new(self.path.clone(), self.info.stream_index, self.index.clone(), DecoderTeam::size_for_this_machine(), self.max_pixels)
            });
            if team.shares(indices) {
                let _span = tracing::debug_span!("decoder_team", video = %self.path.display(), frames = indices.len()).entered();
                team.set_interrupt(interrupt);
                let result = work(BatchDecoder::Team(&mut *team));
                if let Err(e) = &result {
                    // As with a pooled decoder: one that failed may be mid-GOP.
                    tracing::debug!(error = %e, "decoder team failed; its decoders are dropped");
                    *slot = None;
                } else {
                    team.set_interrupt(None);
                }
                return result;
            }
        }
        self.with_video(interrupt, |video| work(BatchDecoder::One(video)))
    }
}

/// The decoder a batch runs on (see [`PooledVideo::with_batch_decoder`]).
enum BatchDecoder<'a> {
    Team(&'a mut DecoderTeam),
    One(&'a mut Video),
}

/// The opened videos of this process, by file.
pub struct VideoPool {
    videos: Mutex<HashMap<PathBuf, Arc<PooledVideo>>>,
    /// Largest picture (width × height) a video may have; bigger ones are refused at open.
    max_pixels: Option<u64>,
}

impl VideoPool {
    /// `max_pixels`: the source pixel limit (a decompression bomb is refused when opened).
    pub fn new(max_pixels: Option<u64>) -> VideoPool {
        VideoPool { videos: Mutex::new(HashMap::new()), max_pixels }
    }

    /// The pooled video for `path` if it is open and the file has not changed since.
    pub fn lookup(&self, path: &Path) -> Option<Arc<PooledVideo>> {
        let stamp = FileStamp::read(path).ok()?;
        let videos = self.videos.lock().expect("video pool lock");
        videos.get(path).filter(|v| v.stamp == stamp).cloned()
    }

    /// Opens `path`, reusing `cached_index` (a saved [`FrameIndex`] JSON) when it still
    /// matches the file. Returns the video and, when a new index was built, its JSON so the
    /// caller can cache it next to the video.
    pub fn open(&self, path: &Path, cached_index: Option<&str>) -> Result<(Arc<PooledVideo>, Option<String>), MediaError> {
        if let Some(v) = self.lookup(path) {
            return Ok((v, None));
        }
        let stamp = FileStamp::read(path)?;
        let cached = cached_index.and_then(|json| FrameIndex::from_json(json).ok());
        let options = |index| OpenOptions { index, max_pixels: self.max_pixels, ..OpenOptions::default() };
        let (video, built) = match cached {
            Some(index) => match Video::open_with(path, options(Some(Arc::new(index)))) {
                // A stale cached index (the object was replaced): scan again.
                Err(MediaError::StaleIndex(_)) => (Video::open_with(path, options(None))?, true),
                other => (other?, false),
            },
            None => (Video::open_with(path, options(None))?, true),
        };
        let fresh_index = built.then(|| video.index().to_json());
        let pooled = Arc::new(PooledVideo {
            path: path.to_path_buf(),
            stamp,
            info: video.info().clone(),
            index: video.shared_index(),
            max_pixels: self.max_pixels,
            idle: Mutex::new(vec![video]),
            team: Mutex::new(None),
        });
        let mut videos = self.videos.lock().expect("video pool lock");
        if videos.len() >= MAX_POOLED_VIDEOS {
            // Evict an arbitrary entry; requests holding it keep their Arc.
            if let Some(k) = videos.keys().next().cloned() {
                videos.remove(&k);
            }
        }
        videos.insert(path.to_path_buf(), pooled.clone());
        Ok((pooled, fresh_index))
    }
}
