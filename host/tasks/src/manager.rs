//! [`TaskManager`]: the analysis tasks of every tenant on this host — created (checked
//! before anything runs: the spec, the analyzers, the source's address against the
//! outbound guard, and for stored videos and files each analyzer's parameters against the
//! real frame size), queried, listed, deleted, and resumed after a restart from their
//! checkpoints. At most `max_tasks` run at once (429 beyond): each is a thread for its
//! source and one for its analysis.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use frameflow_runtime::{AnalyzerFailure, AnalyzerRegistry, Runtime};
use frameflow_sources::{HttpSource, Input, OutboundGuard, SourceError};
use frameflow_store::{StoreError, TenantStore, WriteMode};
use serde_json::Value;

use crate::report::{Outgoing, Reporter, StoredReport};
use crate::runner::{status_key, transport, Control, Runner, TaskStatus};
use crate::spec::TaskSpec;

/// How long a delete waits for the task's runner to stop writing (a frame's analysis is
/// bounded by the analyzers' deadline).
const STOP_WAIT: Duration = Duration::from_secs(10);

/// Why a task request was refused.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// 400: `field` names what to fix.
    #[error("{}{message}", .field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default())]
    Invalid { field: Option<String>, message: String },
    /// 409: a task with this id exists.
    #[error("{0}")]
    Conflict(String),
    /// 404
    #[error("{0}")]
    NotFound(String),
    /// 429: as many tasks as this host runs.
    #[error("{0}")]
    Busy(String),
    /// 503
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
}

impl TaskError {
    pub fn status(&self) -> u16 {
        match self {
            TaskError::Invalid { .. } => 400,
            TaskError::Conflict(_) => 409,
            TaskError::NotFound(_) => 404,
            TaskError::Busy(_) => 429,
            TaskError::Store(_) => 503,
        }
    }
}

/// Settings of the task manager (`[frameflow]` runtime config).
#[derive(Clone, Debug)]
pub struct TaskSettings {
    /// Tasks running at once on this host.
    pub max_tasks: usize,
    /// Seed 004's `map_type`: `Type` → analyzer name.
    pub analyzer_types: BTreeMap<i64, String>,
    /// How long a live source may send nothing before it counts as dropped.
    pub io_timeout: Duration,
    /// Reconnects in a row before a task fails.
    pub max_reconnects: u32,
    /// The Haar cascade the face detector loads.
    pub face_cascade: String,
    /// This host's name as the owner of task leases.
    pub host_id: String,
    /// How long a task's lease lasts without renewal: another host takes the task over
    /// this long after its host stopped renewing it.
    pub lease: Duration,
}

impl Default for TaskSettings {
    fn default() -> Self {
        TaskSettings {
            max_tasks: 32,
            analyzer_types: BTreeMap::new(),
            io_timeout: Duration::from_secs(5),
            max_reconnects: 5,
            face_cascade: frameflow_vision::DEFAULT_FACE_CASCADE.to_string(),
            host_id: "frameflow".into(),
            lease: Duration::from_secs(15),
        }
    }
}

/// What the runners share.
pub struct Shared {
    pub registry: Arc<AnalyzerRegistry>,
    pub runtime: Runtime,
    pub guard: OutboundGuard,
    pub reporter: Reporter,
    pub handle: tokio::runtime::Handle,
    pub settings: TaskSettings,
    /// Set when the host stops: running tasks are left active, to resume.
    pub shutting_down: AtomicBool,
}

/// Why a source cannot be used: refused (400), or not reachable now (retried by a runner).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Unreachable(String),
}

impl InputError {
    pub fn retryable(&self) -> bool {
        matches!(self, InputError::Unreachable(_))
    }
}

/// A stored video's media path from its registry record (`videos/{id}/video.json`).
async fn stored_video(tenant: &TenantStore, id: &str) -> Result<PathBuf, InputError> {
    let record = match tenant.get(&format!("videos/{id}/video.json")).await {
        Ok(bytes) => bytes,
        Err(StoreError::NotFound(_)) => return Err(InputError::Refused(format!("no video with id '{id}'"))),
        Err(e) => return Err(InputError::Unreachable(format!("the store failed: {e}"))),
    };
    let key = serde_json::from_slice::<Value>(&record)
        .ok()
        .and_then(|v| v.get("key").and_then(Value::as_str).map(str::to_string))
        .ok_or_else(|| InputError::Refused(format!("the record of video '{id}' is not readable")))?;
    frameflow_runtime::object_media::media_path(tenant, &key).await.map_err(|e| InputError::Unreachable(format!("video '{id}': {e}")))
}

/// The input a task's address names, checked: `rtsp(s)://` (its host resolved through the
/// guard and pinned to the checked address), `http(s)://` (checked; opened when `open`,
/// with ranged reads, or in order from a server without them), `video:{id}`, `file:{path
/// under the media root}`.
pub async fn resolve_input(shared: &Shared, tenant: &TenantStore, spec: &TaskSpec, open: bool) -> Result<Input, InputError> {
    let address = spec.source.address.trim();
    let refused = |e: frameflow_sources::GuardError| InputError::Refused(e.to_string());
    if let Some(id) = address.strip_prefix("video:") {
        return stored_video(tenant, id).await.map(Input::Media);
    }
    if let Some(path) = address.strip_prefix("file:") {
        let (runtime, path) = (shared.runtime.clone(), path.trim_start_matches("//").to_string());
        return tokio::task::spawn_blocking(move || runtime.media_root_path(&path))
            .await
            .map_err(|e| InputError::Unreachable(e.to_string()))?
            .map(Input::Media)
            .map_err(InputError::Refused);
    }
    let url = url::Url::parse(address).map_err(|_| InputError::Refused(SourceError::Unsupported(address.to_string()).to_string()))?;
    shared.guard.check_url(&url).map_err(refused)?;
    let host = url.host_str().unwrap_or_default().to_string();
    match url.scheme() {
        "rtsp" | "rtsps" => {
            let port = url.port().unwrap_or(if url.scheme() == "rtsps" { 322 } else { 554 });
            let addrs = shared.guard.resolve(&host, port).await.map_err(|e| match e {
                frameflow_sources::GuardError::Unresolvable { .. } => InputError::Unreachable(e.to_string()),
                e => refused(e),
            })?;
            // Connect to the address that was checked, not to whatever the name says later.
            let mut pinned = url.clone();
            let ip = addrs[0].ip();
            let _ = pinned.set_host(Some(&if ip.is_ipv6() { format!("[{ip}]") } else { ip.to_string() }));
            Ok(Input::Rtsp { url: pinned.to_string(), transport: transport(&spec.source.transport) })
        }
        "http" | "https" => {
            let port = url.port_or_known_default().unwrap_or(80);
            shared.guard.resolve(&host, port).await.map_err(|e| match e {
                frameflow_sources::GuardError::Unresolvable { .. } => InputError::Unreachable(e.to_string()),
                e => refused(e),
            })?;
            if url.path().ends_with(".m3u8") && open {
                // HLS: the playlist read (on a blocking thread) to know whether it is live.
                let (guard, handle, at) = (shared.guard.clone(), tokio::runtime::Handle::current(), address.to_string());
                let stop = Arc::new(AtomicBool::new(false));
                let live = tokio::task::spawn_blocking(move || frameflow_sources::HlsReader::open(&guard, handle, &at, stop).map(|r| r.live()))
                    .await
                    .map_err(|e| InputError::Unreachable(e.to_string()))?
                    .map_err(|e| match e {
                        SourceError::Refused(g) => refused(g),
                        SourceError::Open(why) => InputError::Refused(why),
                        e => InputError::Unreachable(e.to_string()),
                    })?;
                return Ok(Input::Hls { url: address.to_string(), live, guard: shared.guard.clone(), runtime: shared.handle.clone() });
            }
            if !open {
                return Ok(Input::Media(PathBuf::from(address)));
            }
            let source = HttpSource::open(&shared.guard, address).await.map_err(|e| match e {
                SourceError::Refused(g) => refused(g),
                e => InputError::Unreachable(e.to_string()),
            })?;
            let name = PathBuf::from(source.media_name());
            frameflow_media::remote::register(name.clone(), Arc::new(source));
            Ok(Input::Media(name))
        }
        _ => Err(InputError::Refused(SourceError::Unsupported(address.to_string()).to_string())),
    }
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

pub fn spec_key(task: &str) -> String {
    format!("tasks/{task}/spec.json")
}

/// A task as the API shows it.
#[derive(Clone, Debug)]
pub struct TaskView {
    pub spec: TaskSpec,
    pub status: TaskStatus,
}

type Running = Arc<Mutex<HashMap<(String, String), Arc<Control>>>>;

pub struct TaskManager {
    shared: Arc<Shared>,
    running: Running,
}

impl TaskManager {
    /// Starts the reporter on the current runtime.
    pub fn new(runtime: Runtime, guard: OutboundGuard, settings: TaskSettings) -> Arc<TaskManager> {
        let reporter = Reporter::start(guard.http_client(Duration::from_secs(10)));
        let shared = Shared {
            registry: runtime.analyzers().clone(),
            runtime,
            guard,
            reporter,
            handle: tokio::runtime::Handle::current(),
            settings,
            shutting_down: AtomicBool::new(false),
        };
        Arc::new(TaskManager { shared: Arc::new(shared), running: Running::default() })
    }

    pub fn settings(&self) -> &TaskSettings {
        &self.shared.settings
    }

    /// Checks and starts a task.
    pub async fn create(&self, tenant: &TenantStore, mut spec: TaskSpec) -> Result<TaskView, TaskError> {
        spec.check()?;
        if tenant.head(&spec_key(&spec.id)).await.is_ok() {
            return Err(TaskError::Conflict(format!("a task '{}' exists; delete it first or choose another TaskID", spec.id)));
        }
        if self.running.lock().expect("tasks lock").len() >= self.shared.settings.max_tasks {
            return Err(TaskError::Busy(format!("this host runs at most {} tasks at once; delete one or try later", self.shared.settings.max_tasks)));
        }
        let size = self.check_source(tenant, &spec).await?;
        for (i, algorithm) in spec.algorithms.iter().enumerate() {
            let mut session = self
                .shared
                .registry
                .session(tenant, &algorithm.analyzer)
                .await
                .map_err(|e| TaskError::Invalid { field: Some(format!("algorithms[{i}].analyzer")), message: e })?;
            // Without the size, only what does not depend on it can be checked.
            let (w, h) = size.unwrap_or((1 << 20, 1 << 20));
            match session.configure(&algorithm.params.to_string(), w, h).await {
                Ok(_) => {}
                Err(AnalyzerFailure::Config(c)) => {
                    let field = match (algorithm.type_code, c.param) {
                        (Some(_), Some(p)) => format!("Algorithm[{i}].{p}"),
                        (Some(_), None) => format!("Algorithm[{i}]"),
                        (None, Some(p)) => format!("algorithms[{i}].params.{p}"),
                        (None, None) => format!("algorithms[{i}].params"),
                    };
                    return Err(TaskError::Invalid { field: Some(field), message: c.message });
                }
                Err(AnalyzerFailure::Failed(why)) => return Err(TaskError::Invalid { field: Some(format!("algorithms[{i}].analyzer")), message: why }),
            }
        }
        spec.created_ms = now_ms();
        let json = serde_json::to_vec(&spec).expect("specs serialize");
        match tenant.put(&spec_key(&spec.id), Bytes::from(json), WriteMode::Create).await {
            Ok(_) => {}
            Err(StoreError::PreconditionFailed(_)) => return Err(TaskError::Conflict(format!("a task '{}' exists; delete it first or choose another TaskID", spec.id))),
            Err(e) => return Err(e.into()),
        }
        let status = TaskStatus { state: "starting".into(), started_ms: now_ms(), updated_ms: now_ms(), ..TaskStatus::default() };
        tenant.put(&status_key(&spec.id), Bytes::from(serde_json::to_vec(&status).expect("status serializes")), WriteMode::Overwrite).await?;
        let etag = match crate::lease::take(tenant, &spec.id, &self.shared.settings.host_id, self.shared.settings.lease).await? {
            crate::lease::Taken::Yes(etag) => etag,
            crate::lease::Taken::HeldBy(owner, _) => return Err(TaskError::Conflict(format!("task '{}' is run by {owner}", spec.id))),
        };
        self.start(tenant, spec.clone(), status.clone(), None, etag);
        Ok(TaskView { spec, status })
    }

    /// The source's address checked (the outbound guard, the media root, the stored
    /// video); its frame size when it is known without a connection (stored videos and
    /// files).
    pub async fn check_source(&self, tenant: &TenantStore, spec: &TaskSpec) -> Result<Option<(u32, u32)>, TaskError> {
        let input = resolve_input(&self.shared, tenant, spec, false).await.map_err(|e| TaskError::Invalid { field: Some("source".into()), message: e.to_string() })?;
        match input {
            Input::Media(path) if !spec.source.address.starts_with("http") => {
                let size = tokio::task::spawn_blocking(move || frameflow_sources::frame_size(&path)).await.map_err(|e| TaskError::Invalid { field: None, message: e.to_string() })?;
                Ok(Some(size.map_err(|e| TaskError::Invalid { field: Some("source".into()), message: e })?))
            }
            _ => Ok(None),
        }
    }

    fn start(&self, tenant: &TenantStore, spec: TaskSpec, status: TaskStatus, resume: Option<crate::runner::Checkpoint>, lease: String) {
        let key = (tenant.tenant_name().to_string(), spec.id.clone());
        let control = Arc::new(Control {
            stop: AtomicBool::new(false),
            deleted: AtomicBool::new(false),
            ended: AtomicBool::new(false),
            status: Mutex::new(status),
            lease: Mutex::new(lease),
        });
        self.running.lock().expect("tasks lock").insert(key.clone(), control.clone());
        metrics::gauge!("frameflow_tasks_running").increment(1.0);
        let runner = Runner { shared: self.shared.clone(), tenant: tenant.clone(), spec, control: control.clone(), resume };
        let me = self.running.clone();
        std::thread::Builder::new()
            .name("frameflow-task".into())
            .spawn(move || {
                runner.run();
                control.ended.store(true, Ordering::Release);
                metrics::gauge!("frameflow_tasks_running").decrement(1.0);
                let mut running = me.lock().expect("tasks lock");
                // Only this run's entry: a task deleted and made again has a new one.
                if running.get(&key).is_some_and(|c| Arc::ptr_eq(c, &control)) {
                    running.remove(&key);
                }
            })
            .expect("spawn a task thread");
    }

    /// A task: the live status when it runs here, else the stored one.
    pub async fn get(&self, tenant: &TenantStore, id: &str) -> Result<TaskView, TaskError> {
        let missing = || TaskError::NotFound(format!("no task '{id}'"));
        if !crate::spec::valid_task_id(id) {
            return Err(missing());
        }
        let spec: TaskSpec = match tenant.get(&spec_key(id)).await {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| TaskError::Invalid { field: None, message: format!("task '{id}' is corrupt: {e}") })?,
            Err(StoreError::NotFound(_)) => return Err(missing()),
            Err(e) => return Err(e.into()),
        };
        let live = self.running.lock().expect("tasks lock").get(&(tenant.tenant_name().to_string(), id.to_string())).cloned();
        let status = match live {
            Some(control) => control.status.lock().expect("task status lock").clone(),
            None => match tenant.get(&status_key(id)).await {
                Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
                Err(StoreError::NotFound(_)) => TaskStatus::default(),
                Err(e) => return Err(e.into()),
            },
        };
        Ok(TaskView { spec, status })
    }

    /// The ids of the tenant's tasks, sorted.
    async fn ids(&self, tenant: &TenantStore) -> Result<Vec<String>, TaskError> {
        let mut ids = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = tenant.list("tasks/", after.as_deref(), 1000).await?;
            ids.extend(page.objects.iter().filter_map(|m| m.key.strip_prefix("tasks/")?.strip_suffix("/spec.json")).filter(|id| !id.contains('/')).map(str::to_string));
            match page.next_start_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        ids.sort();
        Ok(ids)
    }

    pub async fn list(&self, tenant: &TenantStore) -> Result<Vec<TaskView>, TaskError> {
        let mut all = Vec::new();
        for id in self.ids(tenant).await? {
            match self.get(tenant, &id).await {
                Ok(view) => all.push(view),
                Err(TaskError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(all)
    }

    /// Stops the task and removes it with its reports.
    pub async fn delete(&self, tenant: &TenantStore, id: &str) -> Result<(), TaskError> {
        self.get(tenant, id).await?;
        let running = self.running.lock().expect("tasks lock").remove(&(tenant.tenant_name().to_string(), id.to_string()));
        if let Some(control) = running {
            control.deleted.store(true, Ordering::Relaxed);
            control.stop.store(true, Ordering::Relaxed);
            // A runner past its check of `deleted` would land its write (a report, the
            // status) after the listing below: its thread ends first (within a frame's work).
            let until = std::time::Instant::now() + STOP_WAIT;
            while !control.ended.load(Ordering::Acquire) {
                if std::time::Instant::now() >= until {
                    tracing::warn!(task = %id, "the deleted task's runner has not stopped in {STOP_WAIT:?}; removing it anyway");
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        // The spec last: a task half deleted still lists, and deleting it again finishes.
        let prefix = format!("tasks/{id}/");
        loop {
            let page = tenant.list(&prefix, None, 1000).await?;
            let keys: Vec<String> = page.objects.into_iter().map(|m| m.key).filter(|k| *k != spec_key(id)).collect();
            if keys.is_empty() {
                break;
            }
            for key in keys {
                match tenant.delete(&key).await {
                    Ok(()) | Err(StoreError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        match tenant.delete(&spec_key(id)).await {
            Ok(()) | Err(StoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The task's reports from `from` (a sequence number), at most `count`; and the next
    /// `from`, when there are more.
    pub async fn events(&self, tenant: &TenantStore, id: &str, from: u64, count: usize) -> Result<(Vec<StoredReport>, Option<u64>), TaskError> {
        self.get(tenant, id).await?;
        let prefix = format!("tasks/{id}/events/");
        let start = (from > 0).then(|| crate::report::event_key(id, from - 1));
        let page = tenant.list(&prefix, start.as_deref(), count + 1).await?;
        let mut reports = Vec::new();
        for meta in page.objects.iter().take(count) {
            match tenant.get(&meta.key).await {
                Ok(bytes) => reports.extend(serde_json::from_slice::<StoredReport>(&bytes).ok()),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let next = (page.objects.len() > count).then(|| reports.last().map(|r| r.seq + 1)).flatten();
        Ok((reports, next))
    }

    /// Resumes the tenant's tasks that were active when their host stopped (and are not
    /// running here): this host's own at once, another host's once its lease has run out;
    /// and re-sends their reports still pending. Returns how many resumed.
    pub async fn recover(&self, tenant: &TenantStore) -> Result<usize, TaskError> {
        let mut resumed = 0;
        for id in self.ids(tenant).await? {
            if self.shared.shutting_down.load(Ordering::Relaxed) {
                break;
            }
            let running = self.running.lock().expect("tasks lock").contains_key(&(tenant.tenant_name().to_string(), id.clone()));
            if running {
                continue;
            }
            let view = match self.get(tenant, &id).await {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(task = %id, "a task cannot be read: {e}");
                    continue;
                }
            };
            if !view.status.active() {
                continue;
            }
            // Another live host's task stays with it.
            let etag = match crate::lease::take(tenant, &id, &self.shared.settings.host_id, self.shared.settings.lease).await? {
                crate::lease::Taken::Yes(etag) => etag,
                crate::lease::Taken::HeldBy(..) => continue,
            };
            let (reports, _) = self.events(tenant, &id, 0, 10_000).await?;
            for stored in reports.into_iter().filter(|r| r.delivery.state == "pending") {
                self.shared.reporter.send(Outgoing { tenant: tenant.clone(), task: id.clone(), urls: view.spec.report_urls.clone(), stored });
            }
            // A stream's processed video was being written to a scratch file that is gone:
            // it starts over; a task goes on from its checkpoint.
            let (resume, mut status) = match view.spec.video_out {
                Some(_) => (None, TaskStatus { started_ms: now_ms(), ..TaskStatus::default() }),
                None => (view.status.checkpoint.clone(), view.status),
            };
            status.state = "starting".into();
            tracing::info!(tenant = tenant.tenant_name(), task = %id, "resuming a task");
            self.start(tenant, view.spec, status, resume, etag);
            resumed += 1;
        }
        Ok(resumed)
    }

    /// Stops every task for a shutdown, leaving them active in the store (to be resumed):
    /// each saves its checkpoint and releases its lease as it stops.
    pub fn shutdown(&self) {
        self.shared.shutting_down.store(true, Ordering::Relaxed);
        for control in self.running.lock().expect("tasks lock").values() {
            control.stop.store(true, Ordering::Relaxed);
        }
    }

    /// [`Self::shutdown`], then waits up to `within` for the tasks' threads to end; how many
    /// still run then (their leases run out and another host resumes them).
    pub async fn drain(&self, within: Duration) -> usize {
        self.shutdown();
        let until = std::time::Instant::now() + within;
        loop {
            let left = self.running.lock().expect("tasks lock").len();
            if left == 0 || std::time::Instant::now() >= until {
                return left;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
