//! One task, run on its own thread: the source's frames through the vision primitives and
//! the task's analyzers, the rule, and the reports.
//!
//! Per kept frame: background subtraction learns from every frame (so the background
//! stays current even between analysed ones) and its boxes go through the tracker; faces,
//! people and the scene score are computed only when an analyzer due on this frame asked
//! for them. Each analyzer due on the frame (`index mod detect_interval == 0`) gets the
//! tracked objects within its target size; its events go through the rule; what the rule
//! lets through becomes one report for the frame. The status (counters, state) is written
//! to the store every second and with every report, with a checkpoint — the next frame, the
//! rule, the tracker and each analyzer's saved state — that a restarted host resumes
//! from: a file is read again from a little before the checkpoint (to let the background
//! model learn again) and analysed from it; a live source reconnects and goes on counting.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use frameflow_runtime::analyzer_types::{Bbox, FrameRef, Needs, Observation, TrackedObject};
use frameflow_runtime::{AnalyzerFailure, AnalyzerSession};
use frameflow_sources::{Source, SourceEvent, SourceFrame, SourceInfo, SourceOptions, Transport};
use frameflow_store::{StoreError, TenantStore, WriteMode};
use frameflow_vision::{FaceDetector, GrayImage, MotionDetector, PeopleDetector, Rect, SceneScorer, TargetSize, Track, Tracker};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::manager::{now_ms, Shared};
use crate::report::{analyze_event, crop, event_key, jpeg_base64, Delivery, Outgoing, StoredReport};
use crate::rule::RuleState;
use crate::spec::TaskSpec;

/// Frames a resumed file is read before its checkpoint, for the background model: its
/// history, so the model is the one the task had (up to the frames it skipped).
const WARM_UP_FRAMES: u64 = 500;
/// How often the status is written while nothing else happens.
const STATUS_EVERY: Duration = Duration::from_secs(1);
/// Analysed frames a track may go undetected before it ends.
const TRACK_MISSES: u32 = 5;

pub fn status_key(task: &str) -> String {
    format!("tasks/{task}/status.json")
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SourceFacts {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub frame_count: Option<u64>,
    pub live: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TrackState {
    id: u64,
    kind: String,
    rect: [i32; 4],
    missed: u32,
}

/// Where a resumed task goes on from.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Checkpoint {
    pub next_index: u64,
    rule: RuleState,
    next_track_id: u64,
    tracks: Vec<TrackState>,
    /// Each analyzer's saved state, base64.
    analyzers: Vec<String>,
}

/// A task's state, as `/task/query` and `GET /v1/tasks/{id}` show it.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct TaskStatus {
    /// `starting`, `running`, `reconnecting`, `finished`, `failed` or `stopped`.
    pub state: String,
    pub reason: Option<String>,
    pub processed_frames: u64,
    pub analysed_frames: u64,
    pub skipped_frames: u64,
    pub reports: u64,
    pub reconnects: u32,
    pub started_ms: u64,
    pub updated_ms: u64,
    pub elapsed_ms: u64,
    pub fps: f64,
    pub source: Option<SourceFacts>,
    pub checkpoint: Option<Checkpoint>,
}

impl TaskStatus {
    pub fn active(&self) -> bool {
        matches!(self.state.as_str(), "starting" | "running" | "reconnecting")
    }
}

/// What the manager and the runner share about one running task.
pub struct Control {
    pub stop: AtomicBool,
    /// Set when the task is deleted: nothing more is written for it.
    pub deleted: AtomicBool,
    /// Set when the runner's thread is done: it writes nothing more (a delete waits for it).
    pub ended: AtomicBool,
    pub status: Mutex<TaskStatus>,
    /// The etag of this host's lease on the task, renewed as it runs.
    pub lease: Mutex<String>,
}

fn track_kind(kind: &str) -> Option<&'static str> {
    ["motion", "face", "person"].into_iter().find(|k| *k == kind)
}

fn has(needs: Needs, flag: Needs) -> bool {
    (needs & flag) == flag
}

/// The analysis state of one run: configured when the source opens.
struct Analysis {
    sessions: Vec<AnalyzerSession>,
    needs: Vec<Needs>,
    motion: Option<MotionDetector>,
    faces: Option<FaceDetector>,
    people: Option<PeopleDetector>,
    scene: SceneScorer,
    tracker: Tracker,
    rule: RuleState,
    /// The processed video being written (a stream's `video_out`).
    output: Option<Output>,
    /// The detections being collected (`POST /v1/videos/{id}/analyze`), in a scratch SQLite file.
    detections: Option<(frameflow_analytics::db::Writer, frameflow_delivery::TempFile)>,
}

/// A stream's processed video: encoded into a scratch file, stored when the source ends.
struct Output {
    writer: frameflow_delivery::VideoWriter,
    file: frameflow_delivery::TempFile,
    first_time: Option<f64>,
}

/// Tracked objects' boxes in green with their kind and id; the boxes of events reported on
/// this frame in red with their label.
fn draw(rgb: &mut [u8], width: u32, height: u32, objects: &[TrackedObject], events: &[(String, Option<Bbox>)]) {
    let mut one = |b: &Bbox, color: [u8; 3], label: &str| {
        let rect = Rect { x: b.x, y: b.y, width: b.width, height: b.height };
        frameflow_vision::draw_box(rgb, width, height, rect, color, 2);
        let top = if b.y >= 14 { b.y - 14 } else { b.y + b.height };
        frameflow_delivery::burn_in_at(rgb, width, height, b.x.max(0) as u32, top.max(0) as u32, label);
    };
    for o in objects {
        one(&o.bbox, [0, 255, 0], &format!("{} {}", o.kind, o.id).to_uppercase());
    }
    for (label, bbox) in events {
        if let Some(b) = bbox {
            one(b, [255, 0, 0], &label.to_uppercase());
        }
    }
}

pub struct Runner {
    pub shared: Arc<Shared>,
    pub tenant: TenantStore,
    pub spec: TaskSpec,
    pub control: Arc<Control>,
    /// The checkpoint to resume from (a restarted task).
    pub resume: Option<Checkpoint>,
}

enum Outcome {
    Finished,
    Stopped,
    /// Another host has the task now (this host could not renew its lease in time).
    Lost,
}

impl Runner {
    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.shared.handle.block_on(f)
    }

    fn update(&self, change: impl FnOnce(&mut TaskStatus)) {
        let mut status = self.control.status.lock().expect("task status lock");
        change(&mut status);
        status.updated_ms = now_ms();
        status.elapsed_ms = status.updated_ms.saturating_sub(status.started_ms);
        if status.elapsed_ms > 0 {
            status.fps = status.processed_frames as f64 * 1000.0 / status.elapsed_ms as f64;
        }
    }

    /// Writes the status (and its checkpoint) to the store.
    fn persist(&self) {
        if self.control.deleted.load(Ordering::Relaxed) {
            return;
        }
        let json = serde_json::to_vec(&*self.control.status.lock().expect("task status lock")).expect("status serializes");
        if let Err(e) = self.block_on(self.tenant.put(&status_key(&self.spec.id), Bytes::from(json), WriteMode::Overwrite)) {
            tracing::warn!(task = %self.spec.id, "the task's status was not saved: {e}");
        }
    }

    /// Renews this host's lease; false when another host has it now (a store that does not
    /// answer is tried again next time: the lease lasts a while).
    fn renew_lease(&self) -> bool {
        if self.control.deleted.load(Ordering::Relaxed) {
            return true;
        }
        let etag = self.control.lease.lock().expect("lease lock").clone();
        let settings = &self.shared.settings;
        match self.block_on(crate::lease::renew(&self.tenant, &self.spec.id, &settings.host_id, settings.lease, &etag)) {
            Ok(Some(next)) => {
                *self.control.lease.lock().expect("lease lock") = next;
                true
            }
            Ok(None) => false,
            Err(e) => {
                tracing::warn!("the task's lease was not renewed now: {e}");
                true
            }
        }
    }

    /// Runs the task to its end; the final state is saved.
    pub fn run(self) {
        let span = tracing::info_span!("task", tenant = %self.tenant.tenant_name(), task = %self.spec.id);
        let _entered = span.enter();
        tracing::info!(source = %self.spec.source.address, "task started");
        let outcome = self.run_inner();
        let (state, reason) = match outcome {
            Ok(Outcome::Finished) => ("finished", None),
            Ok(Outcome::Stopped) => ("stopped", None),
            Ok(Outcome::Lost) => {
                tracing::warn!("the task's lease went to another host; this host stops it");
                return;
            }
            Err(reason) => ("failed", Some(reason)),
        };
        tracing::info!(state, reason = ?reason, "task ended");
        // A host shutting down leaves the task active, its checkpoint saved and its lease
        // released, so another host resumes it at once.
        if self.control.stop.load(Ordering::Relaxed) && self.shared.shutting_down.load(Ordering::Relaxed) {
            self.persist();
            let etag = self.control.lease.lock().expect("lease lock").clone();
            match self.block_on(crate::lease::release(&self.tenant, &self.spec.id, &self.shared.settings.host_id, &etag)) {
                Ok(true) => tracing::info!("task checkpointed and its lease released for another host"),
                Ok(false) => {}
                Err(e) => tracing::warn!("the task's lease could not be released (it runs out instead): {e}"),
            }
            return;
        }
        self.update(|s| {
            s.state = state.into();
            s.reason = reason;
        });
        self.persist();
    }

    fn source_options(&self, live: bool) -> SourceOptions {
        let resume_at = self.resume.as_ref().map_or(0, |c| c.next_index);
        SourceOptions {
            realtime: self.spec.source.realtime,
            sample_interval: self.spec.source.sample_interval,
            analysis_width: 640,
            io_timeout: self.shared.settings.io_timeout,
            max_reconnects: self.shared.settings.max_reconnects,
            start_index: if live { 0 } else { resume_at.saturating_sub(WARM_UP_FRAMES) },
            pace_from: resume_at,
        }
    }

    fn run_inner(&self) -> Result<Outcome, String> {
        // Opening an HTTP source is a request: retried like a reconnect.
        let mut attempt = 0;
        let input = loop {
            match self.block_on(crate::manager::resolve_input(&self.shared, &self.tenant, &self.spec, true)) {
                Ok(input) => break input,
                Err(e) if e.retryable() && attempt < self.shared.settings.max_reconnects => {
                    attempt += 1;
                    self.update(|s| {
                        s.state = "reconnecting".into();
                        s.reason = Some(e.to_string());
                        s.reconnects += 1;
                    });
                    self.persist();
                    let until = Instant::now() + Duration::from_secs(1 << (attempt - 1).min(5));
                    while Instant::now() < until {
                        if self.control.stop.load(Ordering::Relaxed) {
                            return Ok(Outcome::Stopped);
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
                Err(e) => return Err(e.to_string()),
            }
        };
        let live = input.live();
        let source = Source::start(input, self.source_options(live));
        // A live source counts on from the checkpoint after a restart.
        let offset = if live { self.resume.as_ref().map_or(0, |c| c.next_index) } else { 0 };
        let resume_from = if live { 0 } else { self.resume.as_ref().map_or(0, |c| c.next_index) };
        let mut analysis: Option<Analysis> = None;
        let mut last_status = Instant::now();
        let mut last_renewal = Instant::now();
        loop {
            if self.control.stop.load(Ordering::Relaxed) {
                return Ok(Outcome::Stopped);
            }
            if last_status.elapsed() >= STATUS_EVERY {
                last_status = Instant::now();
                self.update(|s| s.skipped_frames = source.skipped());
                self.persist();
            }
            if last_renewal.elapsed() >= self.shared.settings.lease / 3 {
                last_renewal = Instant::now();
                if !self.renew_lease() {
                    return Ok(Outcome::Lost);
                }
            }
            match source.next(Duration::from_millis(200)) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Err("the source stopped".into()),
                Ok(SourceEvent::Opened(info)) => {
                    analysis = Some(self.configure(&info)?);
                    self.update(|s| {
                        s.state = "running".into();
                        s.reason = None;
                        s.source = Some(SourceFacts { width: info.width, height: info.height, fps: info.fps, frame_count: info.frame_count, live: info.live });
                    });
                    self.persist();
                }
                Ok(SourceEvent::Frame(mut frame)) => {
                    let Some(analysis) = analysis.as_mut() else { continue };
                    let index = frame.index + offset;
                    if index < resume_from {
                        // Warm-up: the background model learns; nothing is analysed again.
                        if let Some(m) = analysis.motion.as_mut() {
                            let gray = GrayImage { width: frame.gray_width, height: frame.gray_height, data: std::mem::take(&mut frame.gray) };
                            m.detect(&gray).map_err(|e| e.to_string())?;
                        }
                        continue;
                    }
                    if self.process(analysis, frame, index)? {
                        last_status = Instant::now();
                    }
                }
                Ok(SourceEvent::Reconnecting { attempt, reason }) => {
                    tracing::warn!(attempt, %reason, "source reconnecting");
                    self.update(|s| {
                        s.state = "reconnecting".into();
                        s.reason = Some(reason);
                        s.reconnects += 1;
                    });
                    self.persist();
                }
                Ok(SourceEvent::Ended { .. }) => {
                    self.update(|s| s.skipped_frames = source.skipped());
                    if let Some(output) = analysis.as_mut().and_then(|a| a.output.take()) {
                        self.store_output(output)?;
                    }
                    if let Some(found) = analysis.as_mut().and_then(|a| a.detections.take()) {
                        self.store_detections(found)?;
                    }
                    return Ok(Outcome::Finished);
                }
                Ok(SourceEvent::Failed(reason)) => return Err(reason),
            }
        }
    }

    /// The analyzers configured for the source's frame size, the detectors they need, and
    /// the checkpoint's state restored.
    fn configure(&self, info: &SourceInfo) -> Result<Analysis, String> {
        let mut sessions = Vec::new();
        let mut needs = Vec::new();
        for (i, algorithm) in self.spec.algorithms.iter().enumerate() {
            let mut session = self.block_on(self.shared.registry.session(&self.tenant, &algorithm.analyzer))?;
            let params = algorithm.params.to_string();
            let n = self.block_on(session.configure(&params, info.width, info.height)).map_err(|e| match e {
                AnalyzerFailure::Config(c) => format!("algorithm {i} ({}): {}{}", algorithm.analyzer, c.param.map(|p| format!("{p}: ")).unwrap_or_default(), c.message),
                AnalyzerFailure::Failed(why) => why,
            })?;
            needs.push(n);
            sessions.push(session);
        }
        let any = |flag: Needs| needs.iter().any(|n| has(*n, flag));
        let motion = any(Needs::MOTION).then(|| MotionDetector::new(500)).transpose().map_err(|e| e.to_string())?;
        let faces = any(Needs::FACES).then(|| FaceDetector::new(&self.shared.settings.face_cascade)).transpose().map_err(|e| e.to_string())?;
        let people = any(Needs::PEOPLE).then(PeopleDetector::new).transpose().map_err(|e| e.to_string())?;
        let output = match &self.spec.video_out {
            Some(_) => {
                let file = frameflow_delivery::TempFile::new("mp4");
                let writer = frameflow_delivery::VideoWriter::create(file.path(), info.width, info.height, info.fps).map_err(|e| e.to_string())?;
                Some(Output { writer, file, first_time: None })
            }
            None => None,
        };
        let mut analysis = Analysis {
            sessions,
            needs,
            motion,
            faces,
            people,
            scene: SceneScorer::default(),
            tracker: Tracker::new(TRACK_MISSES),
            rule: RuleState::default(),
            output,
            detections: match &self.spec.detections_of {
                Some(_) => {
                    let file = frameflow_delivery::TempFile::new("sqlite");
                    Some((frameflow_analytics::db::Writer::create(file.path()).map_err(|e| e.to_string())?, file))
                }
                None => None,
            },
        };
        if let Some(checkpoint) = &self.resume {
            analysis.rule = checkpoint.rule.clone();
            let tracks = checkpoint
                .tracks
                .iter()
                .filter_map(|t| {
                    let [x, y, width, height] = t.rect;
                    Some(Track { id: t.id, kind: track_kind(&t.kind)?, rect: Rect { x, y, width, height }, missed: t.missed })
                })
                .collect();
            analysis.tracker = Tracker::restore(TRACK_MISSES, checkpoint.next_track_id, tracks);
            for (session, state) in analysis.sessions.iter_mut().zip(&checkpoint.analyzers) {
                let bytes = base64::engine::general_purpose::STANDARD.decode(state).unwrap_or_default();
                self.block_on(session.restore(&bytes)).map_err(|e| e.to_string())?;
            }
            tracing::info!(next_index = checkpoint.next_index, "task resumed from its checkpoint");
        }
        Ok(analysis)
    }

    /// One kept frame; true when the status was saved.
    fn process(&self, a: &mut Analysis, mut frame: SourceFrame, index: u64) -> Result<bool, String> {
        let due: Vec<usize> = (0..a.sessions.len()).filter(|i| index.is_multiple_of(self.spec.algorithms[*i].detect_interval as u64)).collect();
        let needs_now = due.iter().fold(Needs::empty(), |acc, i| acc | a.needs[*i]);
        // The vision primitives own the greyscale copy; the frame keeps its picture for reports.
        let gray = GrayImage { width: frame.gray_width, height: frame.gray_height, data: std::mem::take(&mut frame.gray) };
        let scale = frame.width as f64 / frame.gray_width.max(1) as f64;
        let vision = |e: frameflow_vision::VisionError| e.to_string();
        let mut objects: Vec<TrackedObject> = Vec::new();
        let mut add = |tracked: Vec<frameflow_vision::Tracked>| {
            for t in tracked {
                let r = t.rect.scaled(scale);
                objects.push(TrackedObject {
                    id: t.id,
                    kind: t.kind.to_string(),
                    bbox: Bbox { x: r.x, y: r.y, width: r.width, height: r.height },
                    confidence: t.confidence,
                });
            }
        };
        if let Some(m) = a.motion.as_mut() {
            let found = m.detect(&gray).map_err(vision)?;
            add(a.tracker.update("motion", &found));
        }
        if has(needs_now, Needs::FACES) {
            if let Some(f) = a.faces.as_mut() {
                let found = f.detect(&gray).map_err(vision)?;
                add(a.tracker.update("face", &found));
            }
        }
        if has(needs_now, Needs::PEOPLE) {
            if let Some(p) = a.people.as_mut() {
                let found = p.detect(&gray).map_err(vision)?;
                add(a.tracker.update("person", &found));
            }
        }
        if let Some((writer, _)) = a.detections.as_mut() {
            for o in &objects {
                let d = frameflow_analytics::model::Detection {
                    frame: index,
                    trace_id: o.id as i64,
                    kind: o.kind.clone(),
                    x: o.bbox.x.max(0) as f64,
                    y: o.bbox.y.max(0) as f64,
                    width: (o.bbox.width.min(frame.width as i32 - o.bbox.x.max(0))).max(1) as f64,
                    height: (o.bbox.height.min(frame.height as i32 - o.bbox.y.max(0))).max(1) as f64,
                    confidence: o.confidence.clamp(0.0, 1.0) as f64,
                    identity: None,
                    mutual_gaze: false,
                };
                writer.add(&d, false).map_err(|e| format!("a detection could not be kept: {e}"))?;
            }
        }
        let scene_score = if has(needs_now, Needs::SCENE) { Some(a.scene.score(&gray).map_err(vision)?) } else { None };
        let mut fired = Vec::new();
        for &i in &due {
            let algorithm = &self.spec.algorithms[i];
            let size = TargetSize { min: algorithm.min_size, max: algorithm.max_size };
            let observation = Observation {
                frame: FrameRef { index, pts: frame.pts, time: frame.time, width: frame.width, height: frame.height },
                objects: objects
                    .iter()
                    .filter(|o| size.admits(&Rect { x: o.bbox.x, y: o.bbox.y, width: o.bbox.width, height: o.bbox.height }))
                    .cloned()
                    .collect(),
                scene_score,
            };
            let events = self.block_on(a.sessions[i].analyze(&observation)).map_err(|e| e.to_string())?;
            for event in a.rule.apply(&self.spec.rule, i, events) {
                fired.push((i, event));
            }
        }
        self.update(|s| {
            s.processed_frames += 1;
            if !due.is_empty() {
                s.analysed_frames += 1;
            }
        });
        if fired.is_empty() && a.output.is_none() {
            return Ok(false);
        }
        let mut rgb = frame.rgb()?;
        let drawn: Vec<(String, Option<Bbox>)> = fired.iter().map(|(_, e)| (e.label.clone(), e.bbox)).collect();
        let reported = !fired.is_empty();
        if reported {
            self.report(a, &frame, &rgb, index, fired)?;
        }
        if let Some(out) = a.output.as_mut() {
            draw(&mut rgb, frame.width, frame.height, &objects, &drawn);
            let first = *out.first_time.get_or_insert(frame.time);
            out.writer.write(&rgb, frame.time - first).map_err(|e| e.to_string())?;
        }
        Ok(reported)
    }

    /// The collected detections, stored as the video's (replacing any before, in one write).
    fn store_detections(&self, (writer, file): (frameflow_analytics::db::Writer, frameflow_delivery::TempFile)) -> Result<(), String> {
        let Some(id) = &self.spec.detections_of else { return Ok(()) };
        let rows = writer.rows;
        writer.finish().map_err(|e| e.to_string())?;
        let key = frameflow_analytics::api::detections_key(id);
        self.block_on(self.tenant.put_file(&key, file.path())).map_err(|e| format!("the detections could not be stored: {e}"))?;
        tracing::info!(video = %id, rows, "detections stored");
        Ok(())
    }

    /// A stream's processed video, finished and stored at its `video_out`.
    fn store_output(&self, output: Output) -> Result<(), String> {
        let Some(key) = &self.spec.video_out else { return Ok(()) };
        let Output { writer, file, .. } = output;
        writer.finish().map_err(|e| e.to_string())?;
        self.block_on(self.tenant.put_file(key, file.path())).map_err(|e| format!("the processed video cannot be stored at '{key}': {e}"))?;
        tracing::info!(key = %key, "processed video stored");
        Ok(())
    }

    /// One report for the frame: stored, checkpointed, then handed to the reporter.
    fn report(&self, a: &mut Analysis, frame: &SourceFrame, rgb: &[u8], index: u64, fired: Vec<(usize, frameflow_runtime::analyzer_types::Event)>) -> Result<(), String> {
        if self.control.deleted.load(Ordering::Relaxed) {
            return Ok(());
        }
        let (w, h) = (frame.width, frame.height);
        let events: Vec<Value> = fired
            .into_iter()
            .map(|(i, e)| {
                let algorithm = &self.spec.algorithms[i];
                let bbox = e.bbox.map(|b| (b.x, b.y, b.width, b.height));
                let image = bbox.and_then(|(x, y, bw, bh)| crop(rgb, w, h, x, y, bw, bh)).map(|(c, cw, ch)| jpeg_base64(&c, cw, ch)).unwrap_or_default();
                let mut extend = serde_json::from_str::<Value>(&e.extend_json).ok().filter(Value::is_object).unwrap_or_else(|| json!({}));
                let fields = extend.as_object_mut().expect("an object");
                fields.insert("Label".into(), json!(e.label));
                fields.insert("Analyzer".into(), json!(algorithm.analyzer));
                fields.insert("ObjectID".into(), json!(e.object_id));
                fields.insert("Time".into(), json!(frame.time));
                fields.insert("Pts".into(), json!(frame.pts));
                let type_field = algorithm.type_code.map(Value::from).unwrap_or_else(|| json!(algorithm.analyzer));
                analyze_event(type_field, bbox, image, extend)
            })
            .collect();
        let report = json!({
            "TaskID": self.spec.id,
            "SrcID": self.spec.src_id,
            "FrameIndex": index,
            "SceneImageBase64": jpeg_base64(rgb, w, h),
            "AnalyzeEvents": events,
        });
        let seq = self.control.status.lock().expect("task status lock").reports;
        let delivery = Delivery { state: if self.spec.report_urls.is_empty() { "none" } else { "pending" }.into(), ..Delivery::default() };
        let stored = StoredReport { seq, frame_index: index, created_ms: now_ms(), report, delivery };
        let json = serde_json::to_vec(&stored).expect("reports serialize");
        let fresh = match self.block_on(self.tenant.put(&event_key(&self.spec.id, seq), Bytes::from(json), WriteMode::Create)) {
            Ok(_) => true,
            // Written before a restart whose checkpoint came first: it was handled then.
            Err(StoreError::PreconditionFailed(_)) => false,
            Err(e) => return Err(format!("a report could not be stored: {e}")),
        };
        let checkpoint = self.checkpoint(a, index + 1)?;
        self.update(|s| {
            s.reports = seq + 1;
            s.checkpoint = Some(checkpoint);
        });
        self.persist();
        metrics::counter!("frameflow_task_events_total", "tenant" => self.tenant.tenant_name().to_string()).increment(1);
        if fresh && !self.spec.report_urls.is_empty() {
            self.shared.reporter.send(Outgoing { tenant: self.tenant.clone(), task: self.spec.id.clone(), urls: self.spec.report_urls.clone(), stored });
        }
        Ok(())
    }

    fn checkpoint(&self, a: &mut Analysis, next_index: u64) -> Result<Checkpoint, String> {
        let (next_track_id, tracks) = a.tracker.snapshot();
        let mut analyzers = Vec::new();
        for session in a.sessions.iter_mut() {
            let state = self.block_on(session.save()).map_err(|e| e.to_string())?;
            analyzers.push(base64::engine::general_purpose::STANDARD.encode(state));
        }
        Ok(Checkpoint {
            next_index,
            rule: a.rule.clone(),
            next_track_id,
            tracks: tracks.into_iter().map(|t| TrackState { id: t.id, kind: t.kind.to_string(), rect: [t.rect.x, t.rect.y, t.rect.width, t.rect.height], missed: t.missed }).collect(),
            analyzers,
        })
    }
}

/// The RTSP transport a spec names.
pub fn transport(name: &str) -> Transport {
    if name == "udp" {
        Transport::Udp
    } else {
        Transport::Tcp
    }
}
