//! `frameflow._core`: the Rust half of frameflow's Python package. [`CoreVideo`] is the media
//! core's `Video` (exact frames, bit-identical to the FFmpeg CLI) behind a lock, decoding
//! with the GIL released, and its optical flow (`CoreVideo::flow`, the flow crate the server
//! uses); [`plan_clips`] runs the same sampling strategies the built-in sampler components
//! are built from. The Python half (`python/frameflow`) builds the torchcodec-compatible API
//! on these. [`CoreAudio`] is the media core's `Audio`: an audio stream as float32 planar
//! samples, sample-exact against `ffmpeg -f f32le`, for `frameflow.AudioDecoder`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use frameflow_flow::{Algorithm, FlowEngine, GrayImage};
use frameflow_media::{Audio, AudioOptions, Crop, DecoderTeam, MediaError, OpenOptions, RenderOptions, Video};
use numpy::{IntoPyArray, PyArray1};
use pyo3::exceptions::{PyFileNotFoundError, PyIndexError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

/// A media-core error as the Python exception a torchcodec user expects.
fn py_error(e: MediaError) -> PyErr {
    match e {
        MediaError::NotFound(_) => PyFileNotFoundError::new_err(e.to_string()),
        MediaError::IndexOutOfRange { .. }
        | MediaError::UnknownPts { .. }
        | MediaError::TimeOutOfRange { .. } => PyIndexError::new_err(e.to_string()),
        MediaError::InvalidOption(_)
        | MediaError::NoAudioStream { .. }
        | MediaError::NotAnAudioStream { .. }
        | MediaError::NoSuchStream { .. } => PyValueError::new_err(e.to_string()),
        other => PyRuntimeError::new_err(other.to_string()),
    }
}

/// One opened video: the decoder (used by one thread at a time), its packet index's pts.
#[pyclass(module = "frameflow._core", frozen)]
struct CoreVideo {
    /// `None` only while being dropped.
    video: Mutex<Option<Video>>,
    /// Decoders sharing out batches across GOPs, opened on first use (automatic threads
    /// only); locked inside `video`'s lock.
    team: Mutex<Option<DecoderTeam>>,
    /// FFmpeg threads asked for (0: automatic).
    threads: usize,
    /// pts of every frame, in presentation order.
    pts: Vec<i64>,
    info_json: String,
    /// The process that opened it: a forked child must not tear it down (below).
    owner: u32,
}

impl Drop for CoreVideo {
    fn drop(&mut self) {
        // In a forked child the decoder's FFmpeg state (the filter graph's worker threads)
        // belongs to the parent: freeing it would wait for threads that do not exist here.
        // The child's copy is left as it is (the Python side opens its own).
        if std::process::id() != self.owner {
            if let Ok(slot) = self.video.get_mut() {
                std::mem::forget(slot.take());
            }
            if let Ok(slot) = self.team.get_mut() {
                std::mem::forget(slot.take());
            }
        }
    }
}

impl CoreVideo {
    /// Runs `work` on the decoder, locked.
    fn with_video<T>(&self, work: impl FnOnce(&mut Video) -> PyResult<T>) -> PyResult<T> {
        let mut slot = self
            .video
            .lock()
            .map_err(|_| PyRuntimeError::new_err("the decoder failed earlier in another thread"))?;
        let video = slot
            .as_mut()
            .ok_or_else(|| PyRuntimeError::new_err("the decoder is closed"))?;
        work(video)
    }
}

#[pymethods]
impl CoreVideo {
    /// Opens `path` (scanning its packets for the frame index) with the GIL released.
    #[new]
    #[pyo3(signature = (path, stream_index=None, threads=1))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        stream_index: Option<usize>,
        threads: usize,
    ) -> PyResult<CoreVideo> {
        let video = py
            .detach(|| {
                Video::open_with(
                    &path,
                    OpenOptions {
                        stream: stream_index,
                        threads,
                        ..OpenOptions::default()
                    },
                )
            })
            .map_err(py_error)?;
        let pts = video.frame_ids().iter().map(|f| f.pts).collect();
        let info_json = serde_json::to_string(video.info())
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        Ok(CoreVideo {
            video: Mutex::new(Some(video)),
            team: Mutex::new(None),
            threads,
            pts,
            info_json,
            owner: std::process::id(),
        })
    }

    /// The probe (`frameflow probe`'s document) as JSON.
    fn info_json(&self) -> &str {
        &self.info_json
    }

    /// pts of every frame in presentation order (stream time base).
    fn pts(&self) -> Vec<i64> {
        self.pts.clone()
    }

    /// Each frame's packet duration in presentation order (stream time base; 0 where the
    /// container does not say).
    fn durations(&self) -> PyResult<Vec<i64>> {
        self.with_video(|video| Ok(video.index().frames.iter().map(|f| f.duration).collect()))
    }

    /// How many frames the decoder has decoded since it was opened (every frame a request
    /// needed, plus the references it took to reach them): divided by the frames asked for,
    /// the cost of random access. Counts the decoders of its team too.
    fn frames_decoded(&self) -> PyResult<u64> {
        let own = self.with_video(|video| Ok(video.frames_decoded()))?;
        let team = self.team.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map_or(0, DecoderTeam::frames_decoded);
        Ok(own + team)
    }

    /// The frame with exactly this pts.
    fn index_of_pts(&self, pts: i64) -> PyResult<usize> {
        self.with_video(|video| video.index().position_of_pts(pts).map_err(py_error))
    }

    /// Decodes `indices` (any order, repeats allowed; each distinct frame decoded once, in
    /// one forward pass per GOP; with automatic threads, GOPs on a team of decoders at once)
    /// as RGB24 rows, rendered with the optional crop `(x, y, w, h)` then
    /// resize. Returns `(array, height, width)`: a flat uint8 NumPy array holding the frames
    /// one after another in the order asked — written once, straight from the decoder's
    /// output, and handed to NumPy without another copy.
    #[pyo3(signature = (indices, width=None, height=None, crop=None))]
    fn decode<'py>(
        &self,
        py: Python<'py>,
        indices: Vec<usize>,
        width: Option<u32>,
        height: Option<u32>,
        crop: Option<(u32, u32, u32, u32)>,
    ) -> PyResult<(Bound<'py, PyArray1<u8>>, u32, u32)> {
        let options = render_options(width, height, crop);
        let (buffer, h, w) = py.detach(|| {
            self.with_video(|video| {
                let (w, h) = video.output_size(&options);
                let mut buffer = vec![0u8; w as usize * h as usize * 3 * indices.len()];
                // With automatic threads, a batch across GOPs goes to a team of
                // single-threaded decoders, a GOP each (DecoderTeam's docs say why).
                let mut team = self.team.lock().unwrap_or_else(|p| p.into_inner());
                if self.threads == 0 {
                    let team = team.get_or_insert_with(|| DecoderTeam::for_video(video, DecoderTeam::size_for_this_machine()));
                    if team.shares(&indices) {
                        team.frames_into(&indices, &options, &mut buffer).map_err(py_error)?;
                        return Ok((buffer, h, w));
                    }
                }
                video.frames_into(&indices, &options, &mut buffer).map_err(py_error)?;
                Ok((buffer, h, w))
            })
        })?;
        Ok((buffer.into_pyarray(py), h, w))
    }

    /// Optical flow for each `(from, to)` pair of frame indices, with `algorithm` (the flow
    /// crate's names), on the frames rendered as `decode` renders them, converted to grey as
    /// the server's jobs do. Every distinct frame is decoded once, in one forward pass; a
    /// pair is computed as soon as its later frame arrives and frames no pending pair needs
    /// are dropped, so memory stays at a few grey frames. Returns `(array, height, width)`: a
    /// flat float32 NumPy array of `(pairs, 2, height, width)` (u planes then v planes, u to
    /// the right, v down), in the order asked.
    #[pyo3(signature = (pairs, algorithm, width=None, height=None, crop=None))]
    fn flow<'py>(
        &self,
        py: Python<'py>,
        pairs: Vec<(usize, usize)>,
        algorithm: &str,
        width: Option<u32>,
        height: Option<u32>,
        crop: Option<(u32, u32, u32, u32)>,
    ) -> PyResult<(Bound<'py, PyArray1<f32>>, u32, u32)> {
        let algorithm: Algorithm = algorithm
            .parse()
            .map_err(|e: frameflow_flow::FlowError| PyValueError::new_err(e.to_string()))?;
        let options = render_options(width, height, crop);
        let (buffer, h, w) = py.detach(|| {
            self.with_video(|video| {
                let info = video.info();
                let (w, h) = options.output_size(info.width, info.height);
                let plane = w as usize * h as usize;
                let mut buffer = vec![0f32; pairs.len() * 2 * plane];
                // For each frame: the pairs that end there (computed when it arrives) and how
                // many pairs still need it (dropped at zero).
                let mut ending: HashMap<usize, Vec<usize>> = HashMap::new();
                let mut uses: HashMap<usize, usize> = HashMap::new();
                for (p, &(from, to)) in pairs.iter().enumerate() {
                    ending.entry(from.max(to)).or_default().push(p);
                    *uses.entry(from).or_default() += 1;
                    *uses.entry(to).or_default() += 1;
                }
                let mut distinct: Vec<usize> = uses.keys().copied().collect();
                distinct.sort_unstable();
                let engine = FlowEngine::new(algorithm);
                let mut held: HashMap<usize, GrayImage> = HashMap::new();
                // The media core's callback speaks MediaError; a flow failure is kept here.
                let mut failure: Option<PyErr> = None;
                let walked = video.for_each_view_at(&distinct, &options, |id, view| {
                    let rgb = view.to_image();
                    let gray = match GrayImage::from_rgb(&rgb.data, rgb.width, rgb.height) {
                        Ok(g) => g,
                        Err(e) => {
                            failure = Some(PyRuntimeError::new_err(e.to_string()));
                            return Err(MediaError::InvalidOption("stopped: flow failed".into()));
                        }
                    };
                    held.insert(id.index, gray);
                    for &p in ending.get(&id.index).map(Vec::as_slice).unwrap_or(&[]) {
                        let (from, to) = pairs[p];
                        let field = match engine.compute(&held[&from], &held[&to]) {
                            Ok(f) => f,
                            Err(e) => {
                                failure = Some(PyRuntimeError::new_err(format!("flow {from}->{to}: {e}")));
                                return Err(MediaError::InvalidOption("stopped: flow failed".into()));
                            }
                        };
                        // (H, W, 2) interleaved -> two planes.
                        let out = &mut buffer[p * 2 * plane..(p + 1) * 2 * plane];
                        let (u, v) = out.split_at_mut(plane);
                        for (k, uv) in field.data.chunks_exact(2).enumerate() {
                            u[k] = uv[0];
                            v[k] = uv[1];
                        }
                        for frame in [from, to] {
                            let left = uses.get_mut(&frame).expect("counted above");
                            *left -= 1;
                            if *left == 0 {
                                held.remove(&frame);
                            }
                        }
                    }
                    Ok(())
                });
                if let Some(e) = failure {
                    return Err(e);
                }
                walked.map_err(py_error)?;
                Ok((buffer, h, w))
            })
        })?;
        Ok((buffer.into_pyarray(py), h, w))
    }
}

/// Rendering as Python asked: crop `(x, y, w, h)`, then resize (one of width or height
/// keeps the aspect ratio).
fn render_options(width: Option<u32>, height: Option<u32>, crop: Option<(u32, u32, u32, u32)>) -> RenderOptions {
    RenderOptions {
        width,
        height,
        crop: crop.map(|(x, y, width, height)| Crop { x, y, width, height }),
        ..RenderOptions::default()
    }
}

/// The clips a built-in strategy (`random-clip`, `uniform`, `regular-clip`) plans for a
/// video: the same code the sampler components run, so one seed gives the same clips in
/// Python, in the CLI and in a server job. Returns a list of clips, each `(frames, flow_to)`:
/// lists of `("index" | "seconds", value)`, `flow_to` empty unless `params` ask for flow
/// (`"modality"`): flow k goes from `frames[k]` to `flow_to[k]`.
#[pyfunction]
#[pyo3(signature = (strategy, frame_count, avg_fps, start_seconds, duration_seconds, params_json, seed))]
fn plan_clips(
    strategy: &str,
    frame_count: u64,
    avg_fps: f64,
    start_seconds: f64,
    duration_seconds: f64,
    params_json: &str,
    seed: u64,
) -> PyResult<Vec<(Vec<(String, f64)>, Vec<(String, f64)>)>> {
    use frameflow_sampling::{Selector, Strategy};
    let strategy = match strategy {
        "random-clip" => Strategy::RandomClip,
        "uniform" => Strategy::Uniform,
        "regular-clip" => Strategy::RegularClip,
        other => {
            return Err(PyValueError::new_err(format!(
                "no sampler '{other}'; built in: random-clip, uniform, regular-clip"
            )))
        }
    };
    let facts = frameflow_sampling::VideoFacts {
        frame_count,
        avg_fps,
        start_seconds,
        duration_seconds,
    };
    let clips = frameflow_sampling::plan(strategy, &facts, params_json, seed).map_err(|e| {
        let at = e.param.map(|p| format!("'{p}': ")).unwrap_or_default();
        PyValueError::new_err(format!("{at}{}", e.message))
    })?;
    let named = |selectors: Vec<Selector>| -> Vec<(String, f64)> {
        selectors
            .into_iter()
            .map(|s| match s {
                Selector::Index(i) => ("index".to_string(), i as f64),
                Selector::Seconds(t) => ("seconds".to_string(), t),
                Selector::Pts(p) => ("pts".to_string(), p as f64),
            })
            .collect()
    };
    Ok(clips.into_iter().map(|c| (named(c.frames), named(c.flow_to))).collect())
}

/// What the container's header says, before any scan: `{"duration_seconds", "bit_rate",
/// "best_video_stream", "best_audio_stream", "streams": [...]}`, each stream with its
/// `media_type`, `codec`, `bit_rate`, `num_frames` (`nb_frames`), `duration_seconds`,
/// `start_seconds`, `r_frame_rate` / `avg_frame_rate` (`[num, den]`), `width`, `height`,
/// `sample_aspect_ratio`, `pix_fmt`, colour facts, `sample_rate`, `channels`,
/// `sample_format`; a fact the header lacks is `null`. The same fields torchcodec reads
/// into its `*_from_header` metadata.
#[pyfunction]
fn header_json(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    use ffmpeg_next as ffmpeg;
    let doc = py.detach(|| -> Result<serde_json::Value, MediaError> {
        let input = frameflow_media::open_container(&path)?;
        let positive = |v: i64| (v > 0).then_some(v);
        let seconds = |v: i64, tb: ffmpeg::Rational| {
            (tb.denominator() > 0).then(|| v as f64 * tb.numerator() as f64 / tb.denominator() as f64)
        };
        let ratio = |r: ffmpeg::Rational| {
            (r.numerator() > 0 && r.denominator() > 0).then(|| [r.numerator(), r.denominator()])
        };
        let mut streams = Vec::new();
        for stream in input.streams() {
            let params = stream.parameters();
            let tb = stream.time_base();
            // SAFETY: `params` borrows the stream's live AVCodecParameters; only plain fields are read.
            #[allow(unsafe_code)]
            let raw = unsafe { &*params.as_ptr() };
            let media_type = match params.medium() {
                ffmpeg::media::Type::Video => "video",
                ffmpeg::media::Type::Audio => "audio",
                ffmpeg::media::Type::Subtitle => "subtitle",
                ffmpeg::media::Type::Data => "data",
                ffmpeg::media::Type::Attachment => "attachment",
                _ => "unknown",
            };
            let name = |p: *const std::os::raw::c_char| {
                // SAFETY: FFmpeg's name functions return static C strings or null.
                #[allow(unsafe_code)]
                unsafe {
                    (!p.is_null()).then(|| std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned())
                }
            };
            let (pix_fmt, primaries, space, transfer, sample_format) = {
                #[allow(unsafe_code)]
                unsafe {
                    use ffmpeg::ffi::*;
                    let video = media_type == "video";
                    let audio = media_type == "audio";
                    (
                        if video && raw.format >= 0 { name(av_get_pix_fmt_name(std::mem::transmute::<i32, AVPixelFormat>(raw.format))) } else { None },
                        if video { name(av_color_primaries_name(raw.color_primaries)).filter(|n| n != "unknown") } else { None },
                        if video { name(av_color_space_name(raw.color_space)).filter(|n| n != "unknown") } else { None },
                        if video { name(av_color_transfer_name(raw.color_trc)).filter(|n| n != "unknown") } else { None },
                        if audio && raw.format >= 0 { name(av_get_sample_fmt_name(std::mem::transmute::<i32, AVSampleFormat>(raw.format))) } else { None },
                    )
                }
            };
            let video = media_type == "video";
            let audio = media_type == "audio";
            streams.push(serde_json::json!({
                "index": stream.index(),
                "media_type": media_type,
                "codec": params.id().name(),
                "bit_rate": positive(raw.bit_rate),
                "num_frames": positive(stream.frames()),
                "duration_seconds": positive(stream.duration()).and_then(|d| seconds(d, tb)),
                "start_seconds": (stream.start_time() != ffmpeg::ffi::AV_NOPTS_VALUE).then(|| seconds(stream.start_time(), tb)).flatten(),
                "time_base": [tb.numerator(), tb.denominator()],
                "r_frame_rate": if video { ratio(stream.rate()) } else { None },
                "avg_frame_rate": if video { ratio(stream.avg_frame_rate()) } else { None },
                "width": if video { Some(raw.width) } else { None },
                "height": if video { Some(raw.height) } else { None },
                "sample_aspect_ratio": if video { ratio(ffmpeg::Rational::from(raw.sample_aspect_ratio)) } else { None },
                "pix_fmt": pix_fmt,
                "color_primaries": primaries,
                "color_space": space,
                "color_transfer": transfer,
                "sample_rate": if audio { Some(raw.sample_rate) } else { None },
                "channels": if audio { Some(raw.ch_layout.nb_channels) } else { None },
                "sample_format": sample_format,
            }));
        }
        let best = |kind| input.streams().best(kind).map(|s| s.index());
        Ok(serde_json::json!({
            "duration_seconds": positive(input.duration()).map(|d| d as f64 / ffmpeg::ffi::AV_TIME_BASE as f64),
            "bit_rate": positive(input.bit_rate()),
            "best_video_stream": best(ffmpeg::media::Type::Video),
            "best_audio_stream": best(ffmpeg::media::Type::Audio),
            "streams": streams,
        }))
    });
    let doc = doc.map_err(py_error)?;
    serde_json::to_string(&doc).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// One opened audio stream: the media core's `Audio` (one decode at a time) and its header
/// facts as JSON.
#[pyclass(module = "frameflow._core", frozen)]
struct CoreAudio {
    audio: Mutex<Audio>,
    info_json: String,
}

#[pymethods]
impl CoreAudio {
    /// Opens the audio stream `stream_index` (FFmpeg's best when `None`) of `path`, to be
    /// converted to `sample_rate` and `num_channels` when given, with the GIL released.
    #[new]
    #[pyo3(signature = (path, stream_index=None, sample_rate=None, num_channels=None))]
    fn new(py: Python<'_>, path: PathBuf, stream_index: Option<usize>, sample_rate: Option<u32>, num_channels: Option<u32>) -> PyResult<CoreAudio> {
        let options = AudioOptions { stream: stream_index, sample_rate, num_channels, ..AudioOptions::default() };
        let audio = py.detach(|| Audio::open_with(&path, options)).map_err(py_error)?;
        let info_json = serde_json::to_string(audio.info()).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        Ok(CoreAudio { audio: Mutex::new(audio), info_json })
    }

    /// The stream's facts (`AudioInfo`) as JSON.
    fn info_json(&self) -> &str {
        &self.info_json
    }

    /// The samples played in `[start, stop)` seconds (`None`: to the end): the planar data
    /// (channels runs of samples, one flat float32 array), the first sample's pts in seconds
    /// and its position in the stream. Decodes with the GIL released.
    #[pyo3(signature = (start, stop=None))]
    fn samples<'py>(&self, py: Python<'py>, start: f64, stop: Option<f64>) -> PyResult<(Bound<'py, PyArray1<f32>>, f64, u64)> {
        let samples = py
            .detach(|| {
                let mut audio = self.audio.lock().unwrap_or_else(|p| p.into_inner());
                audio.samples_in_range(start, stop)
            })
            .map_err(py_error)?;
        Ok((samples.data.into_pyarray(py), samples.pts_seconds, samples.first_sample))
    }
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<CoreVideo>()?;
    m.add_class::<CoreAudio>()?;
    m.add_function(wrap_pyfunction!(plan_clips, m)?)?;
    m.add_function(wrap_pyfunction!(header_json, m)?)?;
    Ok(())
}
