//! The host side of `frameflow:media` (`video`, `frame`): videos and frames as
//! guest-visible resources, on a [`HostView`] of [`MediaCtx`].
//!
//! A `video` handle is a pooled video (index + warm decoders); a `frame` handle is a
//! decoded, rendered RGB image held in host memory. Decode, render and encode run on
//! tokio's blocking pool. Every handle counts against the request's budget.

mod media_root;
mod remux;
mod rendition;
pub(crate) mod object_source;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use frameflow_media::{Frame, ImageFormat, RenderOptions};
use frameflow_selector::FrameSelector;
use wasmtime::component::Resource;
use wasmtime_wasi::p2::{DynOutputStream, StreamError};

use crate::admission::{estimate, MemoryPermit};
use crate::bindings::frameflow::media::types::{
    self, FrameId, FrameSelector as WitSelector, ImageFormat as WitFormat, MediaError, RenderOptions as WitRender, VideoInfo,
};
use crate::bindings::frameflow::media::video::{
    ArrayLayout, AudioFormat, AudioOptions as WitAudioOptions, ClipOptions, CutOptions, Host, HostEncoded, HostFrame, HostVideo,
};
use crate::bindings::MediaFailure;
use crate::blocking::blocking;
use crate::conversions::{media_error, store_error_for_media};
use crate::handles::{EncodedHandle, FrameHandle, RenditionHandle, VideoHandle};
use crate::request::HostView;
use crate::video_pool::{PooledVideo, VideoPool};

pub use media_root::{MediaRoot, MediaRootError};

/// Most frame ids one `frame-ids` call returns.
const MAX_IDS_PER_CALL: u32 = 1000;

/// What `frameflow:media` reaches beyond the request: the process's video pool and the
/// media root.
pub(crate) struct MediaCtx {
    pub videos: Arc<VideoPool>,
    pub media_root: Arc<MediaRoot>,
    /// Encode slots: a clip holds one from `video.clip` until its handle is dropped.
    pub encodes: Arc<tokio::sync::Semaphore>,
}

pub(crate) type MediaView<'a> = HostView<'a, MediaCtx>;
type MediaResult<T> = Result<T, MediaFailure>;

/// The handle's video, for the host functions that take one (`frames`, `plans.execute`).
pub(crate) fn video_handle<'t>(table: &'t wasmtime::component::ResourceTable, handle: &Resource<VideoHandle>) -> wasmtime::Result<&'t VideoHandle> {
    Ok(table.get(handle)?)
}

/// Media errors reach the guest as themselves; anything else traps.
impl<C> types::Host for HostView<'_, C> {
    fn convert_media_error(&mut self, err: MediaFailure) -> wasmtime::Result<MediaError> {
        err.into_guest_error()
    }
}

impl MediaView<'_> {
    /// Opens `path` through the pool, using (and refreshing) the index cached at `index_key`.
    async fn open_video(&mut self, path: PathBuf, label: String, index_key: Option<String>) -> MediaResult<Resource<VideoHandle>> {
        if self.req.budget.videos >= self.req.limits.max_videos {
            return Err(MediaError::Busy(format!("at most {} videos may be open at once", self.req.limits.max_videos)).into());
        }
        let pooled = pooled_video(&self.ctx.videos, &self.req.tenant, path, index_key).await.map_err(|e| media_error(e.0, &e.1, &label))?;
        self.req.budget.videos += 1;
        Ok(self.table.push(VideoHandle { video: pooled, label })?)
    }

    /// Hands decoded frames to the guest; each keeps its share of `memory`.
    fn push_frames(&mut self, frames: Vec<Frame>, mut memory: MemoryPermit) -> MediaResult<Vec<Resource<FrameHandle>>> {
        let bytes: usize = frames.iter().map(|f| f.image.data.len()).sum();
        self.req.check_frame_budget(frames.len(), bytes)?;
        self.req.budget.frames += frames.len();
        self.req.budget.frame_bytes += bytes;
        let mut handles = Vec::with_capacity(frames.len());
        for frame in frames {
            let share = memory.split(frame.image.data.len() as u64);
            handles.push(self.table.push(FrameHandle { frame: Arc::new(frame), _memory: share })?);
        }
        Ok(handles)
    }

    async fn decode(&mut self, video: &Resource<VideoHandle>, at: Vec<WitSelector>, render: WitRender) -> MediaResult<Vec<Resource<FrameHandle>>> {
        let (frames, outputs) = self.decode_frames(video, at, render).await?;
        self.push_frames(frames, outputs)
    }

    /// Decodes frames for the host's own use: checked against the request's limits and
    /// budget, with the media memory the frames hold.
    async fn decode_frames(&mut self, video: &Resource<VideoHandle>, at: Vec<WitSelector>, render: WitRender) -> MediaResult<(Vec<Frame>, MemoryPermit)> {
        self.decode_with(video, at, render, |pooled, interrupt, indices, options, _| pooled.frames(interrupt, indices, options))
            .await
    }

    /// Runs `decode` on the blocking pool for the frames `at` rendered with `render`, after
    /// checking them against the request's limits and budget and reserving the decoder's
    /// working memory (freed when `decode` returns) and the outputs' (returned). `decode`
    /// gets the pooled video, the request's cancel flag, the frames' positions, the options
    /// and the output size.
    async fn decode_with<R: Send + 'static>(
        &mut self,
        video: &Resource<VideoHandle>,
        at: Vec<WitSelector>,
        render: WitRender,
        decode: impl FnOnce(&PooledVideo, Option<Arc<AtomicBool>>, &[usize], &RenderOptions, (u32, u32)) -> Result<R, frameflow_media::MediaError>
            + Send
            + 'static,
    ) -> MediaResult<(R, MemoryPermit)> {
        if at.len() > self.req.limits.max_batch {
            return Err(MediaError::TooLarge(format!("{} frames asked in one call; the limit is {}", at.len(), self.req.limits.max_batch)).into());
        }
        let handle = video_handle(self.table, video)?;
        let (pooled, label) = (handle.video.clone(), handle.label.clone());
        let options = RenderOptions::from(render);
        let info = pooled.info();
        let (w, h) = self.req.check_render(&options, (info.width, info.height))?;
        self.req.check_frame_budget(at.len(), at.len() * w as usize * h as usize * 3)?;
        let working = estimate::decode(info.coded_width, info.coded_height, w, h, at.len());
        let mut memory = self.req.reserve_memory("decoding these frames", working).await?;
        let outputs = memory.split(at.len() as u64 * w as u64 * h as u64 * 3);
        let interrupt = Some(self.req.cancel.flag());
        let decoding = pooled.clone();
        let decoded = blocking(move || {
            let decoded = at
                .into_iter()
                .map(|s| decoding.index().resolve(s.into()))
                .collect::<Result<Vec<_>, _>>()
                .and_then(|indices| decode(&decoding, interrupt, &indices, &options, (w, h)));
            // The decoder's working memory is free again once the frames exist.
            drop(memory);
            decoded
        })
        .await?;
        let decoded = decoded.map_err(|e| media_error(e, pooled.path(), &label))?;
        Ok((decoded, outputs))
    }
}

/// A NumPy `.npy` (format 1.0) header for a C-ordered array of `descr` (`|u1`, `<f4`) and
/// `shape`, padded so the data starts at a multiple of 64 bytes, as NumPy writes it.
fn npy_header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({},), }}", dims.join(", "));
    if shape.len() > 1 {
        dict = dict.replace(",), }", "), }");
    }
    let unpadded = 10 + dict.len() + 1;
    let padding = (64 - unpadded % 64) % 64;
    let mut header = b"\x93NUMPY\x01\x00".to_vec();
    header.extend_from_slice(&((dict.len() + padding + 1) as u16).to_le_bytes());
    header.extend_from_slice(dict.as_bytes());
    header.extend(std::iter::repeat_n(b' ', padding));
    header.push(b'\n');
    header
}

/// An audio body: a float WAV (`WAVE_FORMAT_IEEE_FLOAT`, channels interleaved) or a
/// float32 `.npy` of shape (channels, samples).
fn audio_body(samples: &frameflow_media::AudioSamples, format: AudioFormat) -> Vec<u8> {
    let (channels, n) = (samples.num_channels, samples.len());
    match format {
        AudioFormat::Npy => {
            let mut body = npy_header("<f4", &[channels, n]);
            body.reserve(samples.data.len() * 4);
            samples.data.iter().for_each(|v| body.extend_from_slice(&v.to_le_bytes()));
            body
        }
        AudioFormat::Wav => {
            let data_bytes = (channels * n * 4) as u32;
            let (rate, align) = (samples.sample_rate, channels as u16 * 4);
            let mut body = Vec::with_capacity(58 + data_bytes as usize);
            body.extend_from_slice(b"RIFF");
            body.extend_from_slice(&(50 + data_bytes).to_le_bytes());
            body.extend_from_slice(b"WAVEfmt ");
            body.extend_from_slice(&18u32.to_le_bytes());
            body.extend_from_slice(&3u16.to_le_bytes()); // WAVE_FORMAT_IEEE_FLOAT
            body.extend_from_slice(&(channels as u16).to_le_bytes());
            body.extend_from_slice(&rate.to_le_bytes());
            body.extend_from_slice(&(rate * align as u32).to_le_bytes());
            body.extend_from_slice(&align.to_le_bytes());
            body.extend_from_slice(&32u16.to_le_bytes());
            body.extend_from_slice(&0u16.to_le_bytes());
            body.extend_from_slice(b"fact");
            body.extend_from_slice(&4u32.to_le_bytes());
            body.extend_from_slice(&(n as u32).to_le_bytes());
            body.extend_from_slice(b"data");
            body.extend_from_slice(&data_bytes.to_le_bytes());
            for i in 0..n {
                for c in 0..channels {
                    body.extend_from_slice(&samples.data[c * n + i].to_le_bytes());
                }
            }
            body
        }
    }
}

/// Why an audio request failed: in the media core, or over the request's byte budget.
enum AudioRefusal {
    Core(frameflow_media::MediaError),
    TooLarge(String),
}

/// Decodes the audio `options` asks for at `path`, refusing before decoding a span whose
/// float32 samples would be over `max_bytes` (when the header says how long the stream is).
fn decode_audio(path: &std::path::Path, options: &WitAudioOptions, max_bytes: usize) -> Result<(Vec<u8>, u32, u32), AudioRefusal> {
    let core_options = frameflow_media::AudioOptions {
        stream: options.stream.map(|s| s as usize),
        sample_rate: options.sample_rate,
        num_channels: options.num_channels,
        // One request, one window: nothing is kept for later ones.
        keep_bytes: Some(0),
    };
    let mut audio = frameflow_media::Audio::open_with(path, core_options).map_err(AudioRefusal::Core)?;
    let info = audio.info();
    let length = info.duration_seconds_from_header.or(info.container_duration_seconds);
    let end = options.end.or(length.map(|d| d + info.start_seconds_from_header.unwrap_or(0.0)));
    if let Some(end) = end {
        let seconds = (end - options.start.max(0.0)).max(0.0);
        let bytes = seconds * info.output_sample_rate as f64 * info.output_num_channels as f64 * 4.0;
        if bytes > max_bytes as f64 {
            return Err(AudioRefusal::TooLarge(format!(
                "{seconds:.1} s of audio ({} MiB as float32) is over this request's budget of {} MiB; ask for a shorter span",
                bytes as u64 >> 20,
                max_bytes >> 20
            )));
        }
    }
    let samples = audio.samples_in_range(options.start, options.end).map_err(AudioRefusal::Core)?;
    let (rate, channels) = (samples.sample_rate, samples.num_channels as u32);
    Ok((audio_body(&samples, options.format), rate, channels))
}

impl Host for MediaView<'_> {}

/// The pooled video at `path` (opened once, its packet index read from `index_key` in the
/// tenant's store when cached there, and cached there when it was scanned). Blocking work
/// runs off the reactor. The error carries the path it was about.
pub(crate) async fn pooled_video(
    pool: &Arc<VideoPool>,
    tenant: &frameflow_store::TenantStore,
    path: PathBuf,
    index_key: Option<String>,
) -> Result<Arc<crate::video_pool::PooledVideo>, (frameflow_media::MediaError, PathBuf)> {
    let pool = pool.clone();
    // The lookup stats the file: off the reactor like the rest of the media work.
    let (lookup_pool, lookup_path) = (pool.clone(), path.clone());
    let joined = |e: wasmtime::Error| (frameflow_media::MediaError::Unreadable { path: PathBuf::new(), reason: e.to_string() }, PathBuf::new());
    if let Some(v) = blocking(move || lookup_pool.lookup(&lookup_path)).await.map_err(joined)? {
        return Ok(v);
    }
    let cached = match &index_key {
        Some(k) => tenant.get(k).await.ok().and_then(|b| String::from_utf8(b.to_vec()).ok()),
        None => None,
    };
    let open_path = path.clone();
    let (video, fresh_index) = blocking(move || pool.open(&open_path, cached.as_deref())).await.map_err(joined)?.map_err(|e| (e, path.clone()))?;
    if let (Some(k), Some(json)) = (index_key, fresh_index) {
        // Caching the index is an optimisation; a failed write only costs a rescan.
        let _ = tenant.put(&k, json.into(), frameflow_store::WriteMode::Overwrite).await;
    }
    Ok(video)
}

/// Where the packet index of the object at `key` is cached (frameflow-guest's `index_key`
/// names the same place).
pub(crate) fn index_key(key: &str) -> Option<String> {
    let index_key = format!("indexes/{key}.json");
    frameflow_store::validate_key(&index_key).is_ok().then_some(index_key)
}

/// What the media core opens for the object at `key`: the file of a local store, or the
/// object registered to be read with ranged requests (never downloaded whole).
pub async fn media_path(tenant: &frameflow_store::TenantStore, key: &str) -> Result<std::path::PathBuf, frameflow_store::StoreError> {
    if tenant.is_local() {
        tenant.local_path(key).await
    } else {
        object_source::register(tenant, key).await
    }
}

impl HostVideo for MediaView<'_> {
    async fn open(&mut self, key: String) -> MediaResult<Resource<VideoHandle>> {
        let path = media_path(&self.req.tenant, &key).await.map_err(|e| store_error_for_media(e, &key))?;
        // The index cache lives in frameflow's own namespace, never beside a tenant's object.
        self.open_video(path, key.clone(), index_key(&key)).await
    }

    async fn open_in_media_root(&mut self, path: String) -> MediaResult<Resource<VideoHandle>> {
        let (root, relative) = (self.ctx.media_root.clone(), path.clone());
        let resolved = blocking(move || root.resolve(&relative)).await?.map_err(|e| match e {
            MediaRootError::Invalid(_) => MediaError::Invalid(e.to_string()),
            _ => MediaError::NotFound(e.to_string()),
        })?;
        self.open_video(resolved, path, None).await
    }

    async fn info(&mut self, video: Resource<VideoHandle>) -> wasmtime::Result<VideoInfo> {
        Ok(video_handle(self.table, &video)?.video.info().into())
    }

    async fn content_tag(&mut self, video: Resource<VideoHandle>) -> wasmtime::Result<String> {
        Ok(video_handle(self.table, &video)?.video.content_tag())
    }

    async fn probe_json(&mut self, video: Resource<VideoHandle>) -> wasmtime::Result<String> {
        Ok(serde_json::to_string(video_handle(self.table, &video)?.video.info())?)
    }

    async fn locate(&mut self, video: Resource<VideoHandle>, at: WitSelector) -> MediaResult<FrameId> {
        let handle = video_handle(self.table, &video)?;
        let index = handle.video.index();
        let position = index.resolve(FrameSelector::from(at)).map_err(|e| media_error(e, handle.video.path(), &handle.label))?;
        Ok(index.frame_id(position).into())
    }

    async fn frame_ids(&mut self, video: Resource<VideoHandle>, from_index: u64, count: u32) -> wasmtime::Result<Vec<FrameId>> {
        let index = video_handle(self.table, &video)?.video.index();
        let total = index.len() as u64;
        let end = from_index.saturating_add(count.min(MAX_IDS_PER_CALL) as u64).min(total);
        Ok((from_index.min(end)..end).map(|i| index.frame_id(i as usize).into()).collect())
    }

    async fn frame(&mut self, video: Resource<VideoHandle>, at: WitSelector, render: WitRender) -> MediaResult<Resource<FrameHandle>> {
        Ok(self.decode(&video, vec![at], render).await?.remove(0))
    }

    async fn frames(&mut self, video: Resource<VideoHandle>, at: Vec<WitSelector>, render: WitRender) -> MediaResult<Vec<Resource<FrameHandle>>> {
        self.decode(&video, at, render).await
    }

    async fn tile(&mut self, video: Resource<VideoHandle>, at: Vec<WitSelector>, render: WitRender, columns: u32, format: WitFormat, quality: u8) -> MediaResult<Resource<EncodedHandle>> {
        // The frames hold their media memory until the sheet is encoded.
        let (frames, memory) = self.decode_frames(&video, at, render).await?;
        let (format, quality) = (ImageFormat::from(format), quality.clamp(1, 100));
        let encoded = blocking(move || {
            let _memory = memory;
            let refs: Vec<&frameflow_media::RgbImage> = frames.iter().map(|f| &f.image).collect();
            let sheet = frameflow_delivery::tile(&refs, columns).map_err(MediaError::Invalid)?;
            frameflow_media::encode_image(&sheet, format, quality).map_err(|e| MediaError::Internal(e.to_string()))
        })
        .await??;
        self.req.check_frame_budget(1, encoded.len())?;
        self.req.budget.frames += 1;
        self.req.budget.frame_bytes += encoded.len();
        Ok(self.table.push(EncodedHandle { bytes: encoded.into() })?)
    }

    async fn frames_array(&mut self, video: Resource<VideoHandle>, at: Vec<WitSelector>, render: WitRender, layout: ArrayLayout) -> MediaResult<(Resource<EncodedHandle>, u32, u32)> {
        let count = at.len();
        // The frames are decoded straight into the body, after its header: one pass, no
        // frame-by-frame copy.
        let ((bytes, (width, height)), _memory) = self
            .decode_with(&video, at, render, move |pooled, interrupt, indices, options, (w, h)| {
                let header = match layout {
                    ArrayLayout::Npy => npy_header("|u1", &[count, h as usize, w as usize, 3]),
                    ArrayLayout::Raw => Vec::new(),
                };
                let mut body = vec![0u8; header.len() + count * w as usize * h as usize * 3];
                body[..header.len()].copy_from_slice(&header);
                pooled.frames_into(interrupt, indices, options, &mut body[header.len()..])?;
                Ok((body, (w, h)))
            })
            .await?;
        self.req.check_frame_budget(1, bytes.len())?;
        self.req.budget.frames += 1;
        self.req.budget.frame_bytes += bytes.len();
        Ok((self.table.push(EncodedHandle { bytes: bytes.into() })?, width, height))
    }

    async fn audio(&mut self, video: Resource<VideoHandle>, options: WitAudioOptions) -> MediaResult<(Resource<EncodedHandle>, u32, u32)> {
        let handle = video_handle(self.table, &video)?;
        let (path, label) = (handle.video.path().to_path_buf(), handle.label.clone());
        let max_bytes = self.req.limits.max_frame_bytes.saturating_sub(self.req.budget.frame_bytes);
        let decode_path = path.clone();
        let span = tracing::info_span!("audio_decode", sample_rate = ?options.sample_rate, channels = ?options.num_channels, bytes = tracing::field::Empty);
        let decoded = blocking(move || span.in_scope(|| {
            let decoded = decode_audio(&decode_path, &options, max_bytes);
            if let Ok((bytes, _, _)) = &decoded {
                tracing::Span::current().record("bytes", bytes.len());
            }
            decoded
        }))
        .await?;
        let (bytes, rate, channels) = decoded.map_err(|refusal| match refusal {
            AudioRefusal::Core(e) => media_error(e, &path, &label),
            AudioRefusal::TooLarge(m) => MediaError::TooLarge(m),
        })?;
        self.req.check_frame_budget(1, bytes.len())?;
        self.req.budget.frames += 1;
        self.req.budget.frame_bytes += bytes.len();
        Ok((self.table.push(EncodedHandle { bytes: bytes.into() })?, rate, channels))
    }

    async fn clip(&mut self, video: Resource<VideoHandle>, options: ClipOptions) -> MediaResult<Resource<RenditionHandle>> {
        self.prepare_clip(&video, options)
    }

    async fn cut(&mut self, video: Resource<VideoHandle>, options: CutOptions) -> MediaResult<Resource<RenditionHandle>> {
        self.prepare_cut(&video, options)
    }

    async fn remux(&mut self, video: Resource<VideoHandle>, container: String, key: String) -> MediaResult<u64> {
        let handle = video_handle(self.table, &video)?;
        let (source, label) = (handle.video.path().to_path_buf(), handle.label.clone());
        let (tenant, max_bytes, cancel) = (self.req.tenant.clone(), self.req.limits.upload_bytes, self.req.cancel.flag());
        Ok(remux::remux_to_store(&source, &label, &container, &key, &tenant, max_bytes, cancel).await?)
    }

    async fn drop(&mut self, video: Resource<VideoHandle>) -> wasmtime::Result<()> {
        self.table.delete(video)?;
        self.req.budget.videos -= 1;
        Ok(())
    }
}

impl HostEncoded for MediaView<'_> {
    async fn size(&mut self, encoded: Resource<EncodedHandle>) -> wasmtime::Result<u64> {
        Ok(self.table.get(&encoded)?.bytes.len() as u64)
    }

    async fn digest(&mut self, encoded: Resource<EncodedHandle>) -> wasmtime::Result<String> {
        use sha2::Digest;
        let hash = sha2::Sha256::digest(&self.table.get(&encoded)?.bytes);
        Ok(hex::encode(&hash[..8]))
    }

    async fn bytes(&mut self, encoded: Resource<EncodedHandle>) -> wasmtime::Result<Vec<u8>> {
        Ok(self.table.get(&encoded)?.bytes.to_vec())
    }

    async fn write_to(&mut self, encoded: Resource<EncodedHandle>, out: Resource<DynOutputStream>) -> MediaResult<()> {
        let bytes = self.table.get(&encoded)?.bytes.clone();
        let stream = self.table.get_mut(&out)?;
        // Chunks as the reader takes them: the body's backpressure, not a copy in the guest.
        match stream.blocking_write_and_flush(bytes).await {
            Ok(()) => Ok(()),
            Err(StreamError::Closed) => Err(MediaError::Busy("the response body was closed: the client went away".into()).into()),
            Err(StreamError::LastOperationFailed(e)) => Err(MediaError::Busy(format!("writing the response body: {e:#}")).into()),
            Err(StreamError::Trap(e)) => Err(e.into()),
        }
    }

    async fn drop(&mut self, encoded: Resource<EncodedHandle>) -> wasmtime::Result<()> {
        let handle = self.table.delete(encoded)?;
        self.req.budget.frames -= 1;
        self.req.budget.frame_bytes = self.req.budget.frame_bytes.saturating_sub(handle.bytes.len());
        Ok(())
    }
}

impl HostFrame for MediaView<'_> {
    async fn id(&mut self, frame: Resource<FrameHandle>) -> wasmtime::Result<FrameId> {
        Ok(self.table.get(&frame)?.frame.id.into())
    }

    async fn width(&mut self, frame: Resource<FrameHandle>) -> wasmtime::Result<u32> {
        Ok(self.table.get(&frame)?.frame.image.width)
    }

    async fn height(&mut self, frame: Resource<FrameHandle>) -> wasmtime::Result<u32> {
        Ok(self.table.get(&frame)?.frame.image.height)
    }

    async fn encode(&mut self, frame: Resource<FrameHandle>, format: WitFormat, quality: u8) -> MediaResult<Vec<u8>> {
        if !(1..=100).contains(&quality) {
            return Err(MediaError::Invalid(format!("quality {quality} is outside 1..=100")).into());
        }
        let frame = self.table.get(&frame)?.frame.clone();
        let encoded = blocking(move || frame.encode(format.into(), quality)).await?;
        Ok(encoded.map_err(|e| MediaError::Internal(e.to_string()))?)
    }

    async fn rgb(&mut self, frame: Resource<FrameHandle>) -> wasmtime::Result<Vec<u8>> {
        Ok(self.table.get(&frame)?.frame.image.data.clone())
    }

    async fn encode_held(&mut self, frame: Resource<FrameHandle>, format: WitFormat, quality: u8) -> MediaResult<Resource<EncodedHandle>> {
        let bytes = self.encode(frame, format, quality).await?;
        // Held bytes count against the request's budget like a frame.
        self.req.check_frame_budget(1, bytes.len())?;
        self.req.budget.frames += 1;
        self.req.budget.frame_bytes += bytes.len();
        Ok(self.table.push(EncodedHandle { bytes: bytes.into() })?)
    }

    async fn drop(&mut self, frame: Resource<FrameHandle>) -> wasmtime::Result<()> {
        let handle = self.table.delete(frame)?;
        self.req.budget.frames -= 1;
        self.req.budget.frame_bytes = self.req.budget.frame_bytes.saturating_sub(handle.frame.image.data.len());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn npy_headers_are_numpys_format_1_0() {
        let h = super::npy_header("|u1", &[2, 3, 4, 3]);
        assert_eq!(h.len() % 64, 0, "the data starts 64-byte aligned");
        assert_eq!(&h[..8], b"\x93NUMPY\x01\x00");
        assert_eq!(u16::from_le_bytes([h[8], h[9]]) as usize, h.len() - 10);
        let text = std::str::from_utf8(&h[10..]).unwrap();
        assert!(text.starts_with("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 4, 3), }"), "{text}");
        assert!(text.ends_with('\n'));
        assert!(std::str::from_utf8(&super::npy_header("|u1", &[5])[10..]).unwrap().contains("'shape': (5,)"));
    }
}
