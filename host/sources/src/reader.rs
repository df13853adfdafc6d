//! [`Source`]: one input read frame by frame on its own thread.
//!
//! The thread opens the [`Input`], decodes its best video stream in order and sends
//! [`SourceEvent`]s: `Opened` (size, rate, live or not), each kept `Frame` (every
//! `sample_interval`-th; a greyscale copy at most `analysis_width` wide for the vision
//! primitives, the decoded picture for reports), `Reconnecting` when a source drops,
//! then `Ended` or `Failed`. With `realtime`, at most one frame waits for the consumer: a
//! frame that finds the queue full is skipped and counted ([`Source::skipped`]), so a slow
//! analysis never builds a backlog; a file read in realtime is paced at its own rate, as a
//! camera would send it. Without `realtime` the reader waits for the consumer.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ffmpeg_next as ffmpeg;

/// RTSP's lower transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Udp,
}

/// What a source reads.
#[derive(Clone, Debug)]
pub enum Input {
    /// A file, or an object registered with the media core (S3, HTTP): not live.
    Media(PathBuf),
    /// A live RTSP stream (its host already checked by the guard).
    Rtsp { url: String, transport: Transport },
    /// An HLS playlist, read through the guard (`live`: its playlist has no end).
    Hls { url: String, live: bool, guard: crate::OutboundGuard, runtime: tokio::runtime::Handle },
}

impl Input {
    pub fn live(&self) -> bool {
        matches!(self, Input::Rtsp { .. } | Input::Hls { live: true, .. })
    }
}

#[derive(Clone, Debug)]
pub struct SourceOptions {
    pub realtime: bool,
    /// Keep every k-th frame (seed 004's `sample_interval`; 1 keeps all).
    pub sample_interval: u32,
    /// The greyscale copy's largest width.
    pub analysis_width: u32,
    /// Longest wait for a live source to answer before it counts as dropped.
    pub io_timeout: Duration,
    /// Reconnects in a row before the source fails (each waits 1, 2, 4 ... up to 30 s).
    pub max_reconnects: u32,
    /// Frames before this index are decoded past without being sent (a file resumed).
    pub start_index: u64,
    /// With `realtime`, a file is paced from this index on (frames before it, a resumed
    /// task's warm-up, go as fast as they are taken).
    pub pace_from: u64,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            realtime: false,
            sample_interval: 1,
            analysis_width: 640,
            io_timeout: Duration::from_secs(5),
            max_reconnects: 5,
            start_index: 0,
            pace_from: 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SourceInfo {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// Frames the container says it has (files only; a hint, not a scan).
    pub frame_count: Option<u64>,
    pub live: bool,
}

/// One decoded frame.
pub struct SourceFrame {
    /// 0-based, in decode-output (presentation) order; a live source counts from the first
    /// frame received, across reconnects.
    pub index: u64,
    pub pts: i64,
    pub time: f64,
    pub width: u32,
    pub height: u32,
    pub gray_width: u32,
    pub gray_height: u32,
    pub gray: Vec<u8>,
    picture: ffmpeg::frame::Video,
}

impl SourceFrame {
    /// The picture as RGB24 at its own size (for report images and drawn videos).
    pub fn rgb(&self) -> Result<Vec<u8>, String> {
        let mut scaler = ffmpeg::software::scaling::Context::get(
            self.picture.format(),
            self.width,
            self.height,
            ffmpeg::format::Pixel::RGB24,
            self.width,
            self.height,
            ffmpeg::software::scaling::Flags::BILINEAR,
        )
        .map_err(|e| e.to_string())?;
        let mut out = ffmpeg::frame::Video::empty();
        scaler.run(&self.picture, &mut out).map_err(|e| e.to_string())?;
        Ok(packed(&out, 0, self.width as usize * 3, self.height as usize))
    }
}

/// Plane `plane`'s rows without their padding.
fn packed(frame: &ffmpeg::frame::Video, plane: usize, row: usize, rows: usize) -> Vec<u8> {
    let (data, stride) = (frame.data(plane), frame.stride(plane));
    let mut out = Vec::with_capacity(row * rows);
    for y in 0..rows {
        out.extend_from_slice(&data[y * stride..y * stride + row]);
    }
    out
}

pub enum SourceEvent {
    Opened(SourceInfo),
    Frame(SourceFrame),
    Reconnecting { attempt: u32, reason: String },
    Ended { frames: u64 },
    Failed(String),
}

/// A running source; dropping it stops the thread (within `io_timeout`).
pub struct Source {
    events: Receiver<SourceEvent>,
    stop: Arc<AtomicBool>,
    skipped: Arc<AtomicU64>,
}

impl Source {
    pub fn start(input: Input, options: SourceOptions) -> Source {
        frameflow_media::init();
        let (tx, events) = std::sync::mpsc::sync_channel(1);
        let stop = Arc::new(AtomicBool::new(false));
        let skipped = Arc::new(AtomicU64::new(0));
        let reader = Reader { input, options, tx, stop: stop.clone(), skipped: skipped.clone(), deadline: Arc::new(AtomicU64::new(u64::MAX)) };
        std::thread::Builder::new()
            .name("frameflow-source".into())
            .spawn(move || reader.run())
            .expect("spawn a source thread");
        Source { events, stop, skipped }
    }

    /// The next event; `Err(Timeout)` when none came in `wait`, `Err(Disconnected)` after
    /// the last one.
    pub fn next(&self, wait: Duration) -> Result<SourceEvent, RecvTimeoutError> {
        self.events.recv_timeout(wait)
    }

    /// Frames skipped because the consumer was behind (`realtime`).
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Why reading stopped.
enum Stop {
    /// The consumer left or asked to stop.
    Stopped,
    /// The input ended (a file's end).
    Ended,
    /// A failure; `retry` when reconnecting may help.
    Failed { reason: String, retry: bool },
}

struct Reader {
    input: Input,
    options: SourceOptions,
    tx: SyncSender<SourceEvent>,
    stop: Arc<AtomicBool>,
    skipped: Arc<AtomicU64>,
    /// When the blocking FFmpeg call under way is given up (ms since the epoch).
    deadline: Arc<AtomicU64>,
}

struct Progress {
    /// The next frame index to count.
    next_index: u64,
    /// Frames of this input (for a reopened file: how far it has been read).
    seen_in_input: u64,
    opened_once: bool,
    paced_from: Option<(Instant, f64)>,
    delivered: u64,
}

impl Reader {
    fn run(self) {
        let mut progress = Progress { next_index: 0, seen_in_input: 0, opened_once: false, paced_from: None, delivered: 0 };
        let mut attempt = 0u32;
        loop {
            let before = progress.delivered;
            let outcome = self.read_once(&mut progress);
            if progress.delivered > before {
                attempt = 0;
            }
            match outcome {
                Stop::Stopped => return,
                Stop::Ended => {
                    let _ = self.tx.send(SourceEvent::Ended { frames: progress.next_index });
                    return;
                }
                Stop::Failed { reason, retry } => {
                    attempt += 1;
                    if !retry || attempt > self.options.max_reconnects {
                        let _ = self.tx.send(SourceEvent::Failed(reason));
                        return;
                    }
                    tracing::warn!(attempt, %reason, "source dropped; reconnecting");
                    if self.tx.send(SourceEvent::Reconnecting { attempt, reason }).is_err() {
                        return;
                    }
                    let wait = Duration::from_secs((1u64 << (attempt - 1).min(5)).min(30));
                    let until = Instant::now() + wait;
                    while Instant::now() < until {
                        if self.stop.load(Ordering::Relaxed) {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            }
        }
    }

    fn arm(&self) {
        self.deadline.store(now_ms() + self.options.io_timeout.as_millis() as u64, Ordering::Relaxed);
    }

    fn open(&self) -> Result<ffmpeg::format::context::Input, String> {
        match &self.input {
            Input::Media(path) => frameflow_media::open_container(path).map_err(|e| e.to_string()),
            Input::Rtsp { url, transport } => {
                let mut options = ffmpeg::Dictionary::new();
                options.set("rtsp_transport", if *transport == Transport::Tcp { "tcp" } else { "udp" });
                options.set("timeout", &self.options.io_timeout.as_micros().to_string());
                let (stop, deadline) = (self.stop.clone(), self.deadline.clone());
                self.arm();
                ffmpeg::format::input_with_interrupt_and_dictionary(
                    url,
                    move || stop.load(Ordering::Relaxed) || now_ms() > deadline.load(Ordering::Relaxed),
                    options,
                )
                .map_err(|e| format!("cannot open the stream: {e}"))
            }
            Input::Hls { url, guard, runtime, .. } => {
                let reader = crate::hls::HlsReader::open(guard, runtime.clone(), url, self.stop.clone()).map_err(|e| e.to_string())?;
                let io = ffmpeg::format::context::StreamIo::from_read_with_capacity(reader, 1 << 16).map_err(|e| format!("cannot read the stream: {e}"))?;
                let (stop, deadline) = (self.stop.clone(), self.deadline.clone());
                self.arm();
                ffmpeg::format::input_from_stream_with_interrupt(io, Some("hls.ts"), None, move || {
                    stop.load(Ordering::Relaxed) || now_ms() > deadline.load(Ordering::Relaxed)
                })
                .map_err(|e| format!("cannot open the stream: {e}"))
            }
        }
    }

    /// Opens the input and reads it until it ends, fails or is stopped.
    fn read_once(&self, progress: &mut Progress) -> Stop {
        let live = self.input.live();
        let mut input = match self.open() {
            Ok(i) => i,
            // A file that does not open will not open on a retry; a stream may.
            Err(reason) => return Stop::Failed { reason, retry: live || progress.opened_once },
        };
        let Some(stream) = input.streams().best(ffmpeg::media::Type::Video) else {
            return Stop::Failed { reason: "the source has no video stream".into(), retry: false };
        };
        let (stream_index, time_base) = (stream.index(), stream.time_base());
        let rate = stream.avg_frame_rate();
        let fps = if rate.denominator() != 0 { rate.numerator() as f64 / rate.denominator() as f64 } else { 0.0 };
        let frame_count = (!live && stream.frames() > 0).then_some(stream.frames() as u64);
        let mut decoder = match ffmpeg::codec::context::Context::from_parameters(stream.parameters()).and_then(|c| c.decoder().video()) {
            Ok(d) => d,
            Err(e) => return Stop::Failed { reason: format!("the video cannot be decoded: {e}"), retry: false },
        };
        if !progress.opened_once {
            let info = SourceInfo { width: decoder.width(), height: decoder.height(), fps, frame_count, live };
            if self.tx.send(SourceEvent::Opened(info)).is_err() {
                return Stop::Stopped;
            }
            progress.opened_once = true;
        }
        progress.seen_in_input = 0;
        let tb = time_base.numerator() as f64 / time_base.denominator().max(1) as f64;
        let mut gray_scaler: Option<(ffmpeg::software::scaling::Context, (ffmpeg::format::Pixel, u32, u32))> = None;
        let mut eof = false;
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Stop::Stopped;
            }
            if !eof {
                self.arm();
                let mut packet = ffmpeg::Packet::empty();
                match packet.read(&mut input) {
                    Ok(()) if packet.stream() == stream_index => {
                        // A damaged packet costs its frame, not the source.
                        if let Err(e) = decoder.send_packet(&packet) {
                            tracing::debug!(error = %e, "a packet did not decode");
                        }
                    }
                    Ok(()) => continue,
                    Err(ffmpeg::Error::Eof) => {
                        eof = true;
                        let _ = decoder.send_eof();
                    }
                    Err(e) => {
                        let reason = if self.stop.load(Ordering::Relaxed) {
                            return Stop::Stopped;
                        } else if matches!(e, ffmpeg::Error::Exit) || now_ms() > self.deadline.load(Ordering::Relaxed) {
                            format!("the source sent nothing for {:?}", self.options.io_timeout)
                        } else {
                            format!("reading the source failed: {e}")
                        };
                        return Stop::Failed { reason, retry: true };
                    }
                }
            }
            loop {
                let mut picture = ffmpeg::frame::Video::empty();
                if decoder.receive_frame(&mut picture).is_err() {
                    break;
                }
                if let Some(stop) = self.deliver(picture, tb, progress, &mut gray_scaler) {
                    return stop;
                }
            }
            if eof {
                // A live source that ends has dropped; a file is done.
                return if live { Stop::Failed { reason: "the stream ended".into(), retry: true } } else { Stop::Ended };
            }
        }
    }

    /// Counts one decoded frame and sends it on when it is kept; `Some` to stop reading.
    fn deliver(
        &self,
        picture: ffmpeg::frame::Video,
        tb: f64,
        progress: &mut Progress,
        scaler: &mut Option<(ffmpeg::software::scaling::Context, (ffmpeg::format::Pixel, u32, u32))>,
    ) -> Option<Stop> {
        let live = self.input.live();
        progress.seen_in_input += 1;
        // A reopened file resumes where it was: frames it already gave are passed over.
        if !live && progress.seen_in_input <= progress.next_index {
            return None;
        }
        let index = progress.next_index;
        progress.next_index += 1;
        if index < self.options.start_index || !index.is_multiple_of(self.options.sample_interval.max(1) as u64) {
            return None;
        }
        let pts = picture.timestamp().or(picture.pts()).unwrap_or(index as i64);
        let time = pts as f64 * tb;
        if self.options.realtime && !live && index >= self.options.pace_from {
            let (start, first) = *progress.paced_from.get_or_insert((Instant::now(), time));
            let due = start + Duration::from_secs_f64((time - first).max(0.0));
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let (width, height, format) = (picture.width(), picture.height(), picture.format());
        let gray_width = width.min(self.options.analysis_width.max(16));
        let gray_height = ((height as u64 * gray_width as u64 / width.max(1) as u64) as u32).max(1);
        if scaler.as_ref().map(|(_, key)| *key) != Some((format, width, height)) {
            match ffmpeg::software::scaling::Context::get(format, width, height, ffmpeg::format::Pixel::GRAY8, gray_width, gray_height, ffmpeg::software::scaling::Flags::AREA) {
                Ok(s) => *scaler = Some((s, (format, width, height))),
                Err(e) => return Some(Stop::Failed { reason: format!("frames of this source cannot be converted: {e}"), retry: false }),
            }
        }
        let mut gray_frame = ffmpeg::frame::Video::empty();
        if let Err(e) = scaler.as_mut().expect("made above").0.run(&picture, &mut gray_frame) {
            return Some(Stop::Failed { reason: format!("a frame cannot be converted: {e}"), retry: false });
        }
        let gray = packed(&gray_frame, 0, gray_width as usize, gray_height as usize);
        let frame = SourceFrame { index, pts, time, width, height, gray_width, gray_height, gray, picture };
        progress.delivered += 1;
        // A resumed task's warm-up frames all count (the background model learns from them).
        if self.options.realtime && index >= self.options.pace_from {
            match self.tx.try_send(SourceEvent::Frame(frame)) {
                Ok(()) => None,
                Err(TrySendError::Full(_)) => {
                    self.skipped.fetch_add(1, Ordering::Relaxed);
                    None
                }
                Err(TrySendError::Disconnected(_)) => Some(Stop::Stopped),
            }
        } else {
            self.tx.send(SourceEvent::Frame(frame)).err().map(|_| Stop::Stopped)
        }
    }
}
