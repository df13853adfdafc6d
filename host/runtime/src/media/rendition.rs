//! `video.clip`, `video.cut` and `rendition`: media the host produces while a response body
//! takes it. The options are checked when the guest asks (so it can still answer 4xx), the
//! work runs when it writes the rendition: on a blocking thread, its output handed to the
//! body a chunk at a time through a small channel, so a slow reader slows the encoder and a
//! reader that goes away stops it.

use std::io::Write;
use std::sync::atomic::Ordering;

use frameflow_delivery::{ClipFormat, ClipSpec, Container, CutSpec};
use wasmtime::component::Resource;
use wasmtime_wasi::p2::{DynOutputStream, StreamError};

use super::{video_handle, MediaResult, MediaView};
use crate::bindings::frameflow::media::types::MediaError;
use crate::bindings::frameflow::media::video::{ClipFormat as WitClipFormat, ClipOptions, CutOptions, HostRendition};
use crate::conversions::{delivery_error, media_error};
use crate::handles::{Rendition, RenditionHandle, VideoHandle};

/// Bytes handed to the body at once, and chunks in flight between encoder and body.
const CHUNK: usize = 64 << 10;
const CHUNKS_IN_FLIGHT: usize = 4;

/// The encoder's side of the channel: bytes gathered into chunks, each sent when full (the
/// encoder waits while the body is behind), a failed send the reader gone.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Vec<u8>>,
    chunk: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
        self.tx.blocking_send(chunk).map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the response body was closed"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.chunk.extend_from_slice(buf);
        if self.chunk.len() >= CHUNK {
            self.send()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

impl Drop for ChannelWriter {
    fn drop(&mut self) {
        // What the muxer wrote last (its trailer) goes out too.
        let _ = self.send();
    }
}

impl MediaView<'_> {
    /// Checks a clip's range, size and length against the video and the host's limits, and
    /// takes an encode slot.
    pub(super) fn prepare_clip(&mut self, video: &Resource<VideoHandle>, options: ClipOptions) -> MediaResult<Resource<RenditionHandle>> {
        let handle = video_handle(self.table, video)?;
        let (pooled, label) = (handle.video.clone(), handle.label.clone());
        let count = pooled.index().len() as u64;
        check_range(options.first, options.last, count)?;
        let frames = options.last - options.first + 1;
        if frames > self.req.limits.max_clip_frames {
            return Err(MediaError::TooLarge(format!(
                "{frames} frames asked; a clip holds at most {} on this host",
                self.req.limits.max_clip_frames
            ))
            .into());
        }
        let format = match options.format {
            WitClipFormat::Ts => ClipFormat::Ts,
            WitClipFormat::Mp4 => ClipFormat::Mp4,
            WitClipFormat::Gif => ClipFormat::Gif,
            WitClipFormat::Webp => ClipFormat::Webp,
        };
        if let Some(fps) = options.fps {
            if !(fps.is_finite() && fps > 0.0 && fps <= 60.0) {
                return Err(MediaError::Invalid(format!("fps must be above 0 and at most 60, got {fps}")).into());
            }
        }
        let render = frameflow_media::RenderOptions { width: options.width, height: options.height, ..Default::default() };
        let info = pooled.info();
        self.req.check_render(&render, (info.width, info.height))?;
        let slot = self.ctx.encodes.clone().try_acquire_owned().map_err(|_| MediaError::Throttled("every encode slot of this host is busy; try again shortly".into()))?;
        let spec = ClipSpec {
            first: options.first as usize,
            last: options.last as usize,
            format,
            fps: options.fps,
            width: options.width,
            height: options.height,
            audio: options.audio,
            burn_in: options.burn_in,
        };
        Ok(self.table.push(RenditionHandle { video: pooled, label, work: Rendition::Clip(spec), _slot: Some(slot), written: false })?)
    }

    /// Checks a stream copy's range and container.
    pub(super) fn prepare_cut(&mut self, video: &Resource<VideoHandle>, options: CutOptions) -> MediaResult<Resource<RenditionHandle>> {
        let handle = video_handle(self.table, video)?;
        let (pooled, label) = (handle.video.clone(), handle.label.clone());
        check_range(options.first, options.last, pooled.index().len() as u64)?;
        let container = Container::parse(&options.container)
            .ok_or_else(|| MediaError::Invalid(format!("'container' must be mp4, mkv or ts, got '{}'", options.container)))?;
        // Refused now, while the guest can still answer 422, not halfway through a body.
        frameflow_delivery::check_container(container, &pooled.info().codec).map_err(|e| delivery_error(e, pooled.path(), &label))?;
        let spec = CutSpec { first: options.first as usize, last: options.last as usize, container, keep_timestamps: options.keep_timestamps };
        Ok(self.table.push(RenditionHandle { video: pooled, label, work: Rendition::Cut(spec), _slot: None, written: false })?)
    }
}

fn check_range(first: u64, last: u64, count: u64) -> Result<(), MediaError> {
    if first > last {
        return Err(MediaError::Invalid(format!("the last frame {last} is before the first {first}")));
    }
    if last >= count {
        return Err(MediaError::OutOfRange(format!("frame {last} is past the end: the video has {count} frames")));
    }
    Ok(())
}

impl HostRendition for MediaView<'_> {
    async fn content_type(&mut self, rendition: Resource<RenditionHandle>) -> wasmtime::Result<String> {
        Ok(self.table.get(&rendition)?.work.content_type().to_string())
    }

    async fn write_to(&mut self, rendition: Resource<RenditionHandle>, out: Resource<DynOutputStream>) -> MediaResult<()> {
        let handle = self.table.get_mut(&rendition)?;
        if std::mem::replace(&mut handle.written, true) {
            return Err(MediaError::Invalid("a rendition is written once".into()).into());
        }
        let (pooled, work) = (handle.video.clone(), handle.work.clone());
        let cancel = self.req.cancel.flag();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(CHUNKS_IN_FLIGHT);
        let (interrupt, stop) = (Some(cancel.clone()), cancel.clone());
        let span = tracing::info_span!("rendition", kind = match &work { Rendition::Clip(_) => "clip", Rendition::Cut(_) => "cut" });
        let producing = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let sink = ChannelWriter { tx, chunk: Vec::with_capacity(CHUNK) };
            pooled.with_video(interrupt, |video| {
                Ok(match &work {
                    Rendition::Clip(spec) => frameflow_delivery::encode_clip(video, spec, sink, &stop).map(|r| tracing::debug!(?r, "clip encoded")),
                    Rendition::Cut(spec) => frameflow_delivery::cut(video, *spec, sink, &stop).map(|r| tracing::debug!(?r, "range copied")),
                })
            })
        });
        let mut gone: Option<MediaError> = None;
        while let Some(chunk) = rx.recv().await {
            let stream = self.table.get_mut(&out)?;
            let written = stream.blocking_write_and_flush(chunk.into()).await;
            let reason = match written {
                Ok(()) => continue,
                Err(StreamError::Closed) => "the response body was closed: the client went away".to_string(),
                Err(StreamError::LastOperationFailed(e)) => format!("writing the response body: {e:#}"),
                Err(StreamError::Trap(e)) => return Err(e.into()),
            };
            // The encoder stops at its next frame or write.
            cancel.store(true, Ordering::Relaxed);
            gone = Some(MediaError::Busy(reason));
            break;
        }
        drop(rx);
        let produced = producing.await?;
        if let Some(e) = gone {
            return Err(e.into());
        }
        let handle = self.table.get(&rendition)?;
        match produced {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(delivery_error(e, handle.video.path(), &handle.label).into()),
            Err(e) => Err(media_error(e, handle.video.path(), &handle.label).into()),
        }
    }

    async fn drop(&mut self, rendition: Resource<RenditionHandle>) -> wasmtime::Result<()> {
        self.table.delete(rendition)?;
        Ok(())
    }
}
