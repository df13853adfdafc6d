//! The host side of `frameflow:media`: videos and frames as guest-visible resources.
//!
//! A `video` handle is a [`PooledVideo`] (index + warm decoders); a `frame` handle is a
//! decoded, rendered RGB image held in host memory. Decode, render and encode run on
//! tokio's blocking pool. Every handle counts against the request's [`crate::sandbox::Budget`].

use std::sync::Arc;

use frameflow_media::{Crop, Frame, FrameSelector, ImageFormat, MediaError as CoreError, RenderOptions};
use wasmtime::component::Resource;

use crate::bindings::frameflow::media::types::{
    self, FrameId, FrameSelector as WitSelector, ImageFormat as WitFormat, MediaError, RenderOptions as WitRender,
    VideoInfo,
};
use crate::bindings::frameflow::media::video::{Host, HostFrame, HostVideo};
use crate::admission::{estimate, MemoryPermit};
use crate::blocking::blocking;
use crate::sandbox::Sandbox;
use crate::video_pool::{MediaRootError, PooledVideo};

/// Most frame ids one `frame-ids` call returns.
const MAX_IDS_PER_CALL: u32 = 1000;

/// A guest's `video`: the pooled video and the name the guest knows it by (for messages).
pub struct VideoHandle {
    pub(crate) video: Arc<PooledVideo>,
    pub(crate) label: String,
}

/// A guest's `frame`, holding its share of the media-memory pool while it lives.
pub struct FrameHandle {
    pub(crate) frame: Arc<Frame>,
    _memory: MemoryPermit,
}

type MediaResult<T> = wasmtime::Result<Result<T, MediaError>>;

/// Maps a media-core error to the WIT error, naming the video as the guest knows it (the
/// object key), never by its path on the host.
fn to_wit(err: CoreError, video: &PooledVideoName) -> MediaError {
    let message = video.redact(&err.to_string());
    match err {
        CoreError::NotFound(_) => MediaError::NotFound(message),
        CoreError::NotMedia { .. }
        | CoreError::NoVideoStream(_)
        | CoreError::NotAVideoStream { .. }
        | CoreError::UnsupportedCodec { .. }
        | CoreError::NoFrames(_) => MediaError::NotMedia(message),
        CoreError::IndexOutOfRange { .. } | CoreError::UnknownPts { .. } | CoreError::TimeOutOfRange { .. } => {
            MediaError::OutOfRange(message)
        }
        CoreError::InvalidOption(_) => MediaError::Invalid(message),
        CoreError::Undecodable { .. } => MediaError::Undecodable(message),
        CoreError::TooManyPixels { .. } => MediaError::OverLimit(message),
        CoreError::Interrupted => MediaError::Busy(message),
        _ => MediaError::Internal(message),
    }
}

/// [`to_wit`] for a video known by its host `path` and guest `label`.
pub(crate) fn to_wit_error(err: CoreError, path: &std::path::Path, label: &str) -> MediaError {
    to_wit(err, &PooledVideoName::new(path, label))
}

/// The host path of a video and the label that replaces it in messages.
struct PooledVideoName {
    path: String,
    label: String,
}

impl PooledVideoName {
    fn new(path: &std::path::Path, label: &str) -> Self {
        PooledVideoName { path: path.display().to_string(), label: label.to_string() }
    }
    fn redact(&self, message: &str) -> String {
        message.replace(&self.path, &self.label)
    }
}

pub(crate) fn selector(at: WitSelector) -> FrameSelector {
    match at {
        WitSelector::Index(i) => FrameSelector::Index(i),
        WitSelector::Pts(p) => FrameSelector::Pts(p),
        WitSelector::Seconds(s) => FrameSelector::Time(s),
    }
}

pub(crate) fn render_options(render: WitRender) -> RenderOptions {
    RenderOptions {
        crop: render.crop.map(|c| Crop { x: c.x, y: c.y, width: c.width, height: c.height }),
        width: render.width,
        height: render.height,
        ..RenderOptions::default()
    }
}

fn frame_id(id: frameflow_media::FrameId) -> FrameId {
    FrameId { index: id.index as u64, pts: id.pts, seconds: id.seconds, key: id.key }
}

/// The WIT `video-info` of a media-core [`frameflow_media::VideoInfo`].
pub fn video_info(info: &frameflow_media::VideoInfo) -> VideoInfo {
    VideoInfo {
        codec: info.codec.clone(),
        width: info.width,
        height: info.height,
        rotation: info.rotation,
        time_base_num: info.time_base[0],
        time_base_den: info.time_base[1],
        avg_fps: info.avg_fps,
        start_pts: info.start_pts,
        start_seconds: info.start_seconds,
        duration_seconds: info.duration_seconds,
        frame_count: info.frame_count as u64,
        keyframes: info.keyframes.iter().map(|&k| k as u64).collect(),
    }
}


impl Sandbox {
    /// Opens `path` through the pool, using (and refreshing) the index cached at `index_key`.
    async fn open_video(&mut self, path: std::path::PathBuf, label: String, index_key: Option<String>) -> MediaResult<Resource<VideoHandle>> {
        if self.budget.videos >= self.limits.max_videos {
            return Ok(Err(MediaError::Busy(format!("at most {} videos may be open at once", self.limits.max_videos))));
        }
        let pool = self.videos.clone();
        // The lookup stats the file: off the reactor like the rest of the media work.
        let (lookup_pool, lookup_path) = (pool.clone(), path.clone());
        let pooled = match blocking(move || lookup_pool.lookup(&lookup_path)).await? {
            Some(v) => v,
            None => {
                let cached = match &index_key {
                    Some(k) => self.tenant.get(k).await.ok().and_then(|b| String::from_utf8(b.to_vec()).ok()),
                    None => None,
                };
                let name = PooledVideoName::new(&path, &label);
                let opened = blocking(move || pool.open(&path, cached.as_deref())).await?;
                let (video, fresh_index) = match opened {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(to_wit(e, &name))),
                };
                if let (Some(k), Some(json)) = (index_key, fresh_index) {
                    // Caching the index is an optimisation; a failed write only costs a rescan.
                    let _ = self.tenant.put(&k, json.into(), frameflow_store::WriteMode::Overwrite).await;
                }
                video
            }
        };
        self.budget.videos += 1;
        Ok(Ok(self.table.push(VideoHandle { video: pooled, label })?))
    }

    /// Refuses a decode that would take the request over its frame budget, before any
    /// memory is spent on it.
    pub(crate) fn check_frame_budget(&self, count: usize, bytes: usize) -> Result<(), MediaError> {
        if self.budget.frames + count > self.limits.max_frames || self.budget.frame_bytes + bytes > self.limits.max_frame_bytes {
            return Err(MediaError::Busy(format!(
                "{count} more frames ({} MiB) would go over this request's budget of {} frames / {} MiB; it holds {} ({} MiB)",
                bytes >> 20,
                self.limits.max_frames,
                self.limits.max_frame_bytes >> 20,
                self.budget.frames,
                self.budget.frame_bytes >> 20
            )));
        }
        Ok(())
    }

    pub(crate) fn video_handle(&self, handle: &Resource<VideoHandle>) -> wasmtime::Result<&VideoHandle> {
        Ok(self.table.get(handle)?)
    }

    /// Hands decoded frames to the guest; each keeps its share of `memory`.
    fn push_frames(&mut self, frames: Vec<Frame>, mut memory: MemoryPermit) -> MediaResult<Vec<Resource<FrameHandle>>> {
        let bytes: usize = frames.iter().map(|f| f.image.data.len()).sum();
        if let Err(e) = self.check_frame_budget(frames.len(), bytes) {
            return Ok(Err(e));
        }
        self.budget.frames += frames.len();
        self.budget.frame_bytes += bytes;
        let mut handles = Vec::with_capacity(frames.len());
        for frame in frames {
            let share = memory.split(frame.image.data.len() as u64);
            handles.push(self.table.push(FrameHandle { frame: Arc::new(frame), _memory: share })?);
        }
        Ok(Ok(handles))
    }

    /// Checks a render request against the video and this host's limits before anything
    /// is spent on it: a bad crop is a 400 however big it is, an output over the size
    /// limit a 413. Returns the output size.
    pub(crate) fn check_render(&self, options: &RenderOptions, display: (u32, u32)) -> Result<(u32, u32), MediaError> {
        options.validate(display.0, display.1).map_err(|e| MediaError::Invalid(e.to_string()))?;
        let (w, h) = options.output_size(display.0, display.1);
        let max = self.limits.max_output_side;
        if w > max || h > max {
            return Err(MediaError::TooLarge(format!("the output would be {w}x{h}; this host renders at most {max}x{max}")));
        }
        Ok((w, h))
    }

    /// Refuses optical flow on frames over this host's flow size limit (413), before
    /// anything is decoded or computed: one check for single flows and plan chunks.
    pub(crate) fn check_flow_size(&self, w: u32, h: u32) -> Result<(), MediaError> {
        let max = self.limits.max_flow_pixels;
        if w as u64 * h as u64 > max {
            return Err(MediaError::TooLarge(format!(
                "optical flow on {w}x{h} frames is over this host's limit of {:.1} megapixels; ask for smaller frames (width/height)",
                max as f64 / 1e6
            )));
        }
        Ok(())
    }

    async fn decode(&mut self, video: &Resource<VideoHandle>, at: Vec<WitSelector>, render: WitRender) -> MediaResult<Vec<Resource<FrameHandle>>> {
        if at.len() > self.limits.max_batch {
            return Ok(Err(MediaError::TooLarge(format!("{} frames asked in one call; the limit is {}", at.len(), self.limits.max_batch))));
        }
        let handle = self.video_handle(video)?;
        let pooled = handle.video.clone();
        let name = PooledVideoName::new(pooled.path(), &handle.label);
        let options = render_options(render);
        let info = pooled.info();
        let (w, h) = match self.check_render(&options, (info.width, info.height)) {
            Ok(size) => size,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = self.check_frame_budget(at.len(), at.len() * w as usize * h as usize * 3) {
            return Ok(Err(e));
        }
        let working = estimate::decode(info.coded_width, info.coded_height, w, h, at.len());
        let mut memory = match self.reserve_memory("decoding these frames", working).await {
            Ok(m) => m,
            Err(e) => return Ok(Err(e)),
        };
        let outputs = memory.split(at.len() as u64 * w as u64 * h as u64 * 3);
        let interrupt = Some(self.cancel.flag());
        let decoded = blocking(move || {
            let decoded = pooled.with_video(interrupt, |v| {
                let indices = at.into_iter().map(|s| v.resolve(selector(s))).collect::<Result<Vec<_>, _>>()?;
                v.frames(&indices, &options)
            });
            // The decoder's working memory is free again once the frames exist.
            drop(memory);
            decoded
        })
        .await?;
        match decoded {
            Ok(frames) => self.push_frames(frames, outputs),
            Err(e) => Ok(Err(to_wit(e, &name))),
        }
    }
}

impl types::Host for Sandbox {}

impl Host for Sandbox {}

impl HostVideo for Sandbox {
    async fn open(&mut self, key: String) -> MediaResult<Resource<VideoHandle>> {
        let path = match self.tenant.local_path(&key).await {
            Ok(p) => p,
            Err(frameflow_store::StoreError::NotFound(_)) => return Ok(Err(MediaError::NotFound(format!("no video at key '{key}'")))),
            Err(e @ frameflow_store::StoreError::InvalidKey { .. }) => return Ok(Err(MediaError::Invalid(e.to_string()))),
            Err(e) => return Ok(Err(MediaError::Internal(e.to_string()))),
        };
        // The index cache lives in frameflow's own namespace, never beside a tenant's
        // object (frameflow-guest's `index_key` names the same place).
        let index_key = format!("indexes/{key}.json");
        let index_key = frameflow_store::validate_key(&index_key).is_ok().then_some(index_key);
        self.open_video(path, key, index_key).await
    }

    async fn open_in_media_root(&mut self, path: String) -> MediaResult<Resource<VideoHandle>> {
        let (pool, relative) = (self.videos.clone(), path.clone());
        let resolved = match blocking(move || pool.resolve_in_media_root(&relative)).await? {
            Ok(p) => p,
            Err(e @ MediaRootError::Invalid(_)) => return Ok(Err(MediaError::Invalid(e.to_string()))),
            Err(e) => return Ok(Err(MediaError::NotFound(e.to_string()))),
        };
        self.open_video(resolved, path, None).await
    }

    async fn info(&mut self, video: Resource<VideoHandle>) -> wasmtime::Result<VideoInfo> {
        Ok(video_info(self.video_handle(&video)?.video.info()))
    }

    async fn probe_json(&mut self, video: Resource<VideoHandle>) -> wasmtime::Result<String> {
        Ok(serde_json::to_string(self.video_handle(&video)?.video.info())?)
    }

    async fn locate(&mut self, video: Resource<VideoHandle>, at: WitSelector) -> MediaResult<FrameId> {
        let handle = self.video_handle(&video)?;
        let index = handle.video.index();
        let name = PooledVideoName::new(handle.video.path(), &handle.label);
        Ok(index.resolve(selector(at)).map(|i| frame_id(index.frame_id(i))).map_err(|e| to_wit(e, &name)))
    }

    async fn frame_ids(&mut self, video: Resource<VideoHandle>, from_index: u64, count: u32) -> wasmtime::Result<Vec<FrameId>> {
        let handle = self.video_handle(&video)?;
        let total = handle.video.index().len() as u64;
        let end = from_index.saturating_add(count.min(MAX_IDS_PER_CALL) as u64).min(total);
        Ok((from_index.min(end)..end).map(|i| frame_id(handle.video.index().frame_id(i as usize))).collect())
    }

    async fn frame(&mut self, video: Resource<VideoHandle>, at: WitSelector, render: WitRender) -> MediaResult<Resource<FrameHandle>> {
        Ok(self.decode(&video, vec![at], render).await?.map(|mut v| v.remove(0)))
    }

    async fn frames(&mut self, video: Resource<VideoHandle>, at: Vec<WitSelector>, render: WitRender) -> MediaResult<Vec<Resource<FrameHandle>>> {
        self.decode(&video, at, render).await
    }

    async fn drop(&mut self, video: Resource<VideoHandle>) -> wasmtime::Result<()> {
        self.table.delete(video)?;
        self.budget.videos -= 1;
        Ok(())
    }
}

impl HostFrame for Sandbox {
    async fn id(&mut self, frame: Resource<FrameHandle>) -> wasmtime::Result<FrameId> {
        Ok(frame_id(self.table.get(&frame)?.frame.id))
    }

    async fn width(&mut self, frame: Resource<FrameHandle>) -> wasmtime::Result<u32> {
        Ok(self.table.get(&frame)?.frame.image.width)
    }

    async fn height(&mut self, frame: Resource<FrameHandle>) -> wasmtime::Result<u32> {
        Ok(self.table.get(&frame)?.frame.image.height)
    }

    async fn encode(&mut self, frame: Resource<FrameHandle>, format: WitFormat, quality: u8) -> MediaResult<Vec<u8>> {
        if !(1..=100).contains(&quality) {
            return Ok(Err(MediaError::Invalid(format!("quality {quality} is outside 1..=100"))));
        }
        let frame = self.table.get(&frame)?.frame.clone();
        let format = match format {
            WitFormat::Jpeg => ImageFormat::Jpeg,
            WitFormat::Png => ImageFormat::Png,
            WitFormat::Rgb24 => ImageFormat::Rgb24,
        };
        let encoded = blocking(move || frame.encode(format, quality)).await?;
        Ok(encoded.map_err(|e| MediaError::Internal(e.to_string())))
    }

    async fn rgb(&mut self, frame: Resource<FrameHandle>) -> wasmtime::Result<Vec<u8>> {
        Ok(self.table.get(&frame)?.frame.image.data.clone())
    }

    async fn drop(&mut self, frame: Resource<FrameHandle>) -> wasmtime::Result<()> {
        let handle = self.table.delete(frame)?;
        self.budget.frames -= 1;
        self.budget.frame_bytes = self.budget.frame_bytes.saturating_sub(handle.frame.image.data.len());
        Ok(())
    }
}
