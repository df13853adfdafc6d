//! [`serve`]: the HTTP/1.1 listener. Per connection: a cap on open connections (503 and
//! close beyond it) and a header/idle timeout. Per request: the tenant from the API key
//! (401 before anything else when keys are configured), the route, the body received in
//! full under the upload limit and rate rules (`body_spool.rs`), then the component; every
//! failure becomes a JSON error (`{"error": {"code", "message"}}`), and every 503 says
//! when to come back (`Retry-After`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use frameflow_runtime::{GuestError, HttpComponent, ResponseBody, Runtime, RuntimeConfig, SandboxLimits, VideoPool};
use frameflow_store::ObjectStorage;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use crate::body_spool::{spool, BodyLimits};
use crate::job_runner::JobRunner;
use crate::manifest::Manifest;
use crate::routes::{RoutePattern, Router};

/// Command-line overrides of the manifest's `[frameflow]` settings.
#[derive(Debug, Default, Clone)]
pub struct ServerOptions {
    pub store: Option<String>,
    pub media_root: Option<PathBuf>,
    pub upload_limit_bytes: Option<u64>,
}

/// Default source picture limit: 8192 × 4320 (DCI 8K).
const DEFAULT_MAX_SOURCE_PIXELS: u64 = 8192 * 4320;
/// The store when neither the manifest nor the command line names one (relative to the
/// working directory), as the README says.
const DEFAULT_STORE: &str = "file://data/store";
/// Seconds a client is told to wait after a 503.
const RETRY_AFTER_SECONDS: &str = "1";

/// How connections are admitted and kept.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    /// Headers must arrive within this; an idle keep-alive connection closes after it.
    pub header_timeout: Duration,
}

/// A loaded server: the runtime, its components bound to routes, the store.
pub struct Server {
    router: Router<Arc<HttpComponent>>,
    storage: Arc<ObjectStorage>,
    api_keys: std::collections::BTreeMap<String, String>,
    body_limits: BodyLimits,
    connections: ConnectionLimits,
    jobs: JobRunner,
}

fn json_error(status: u16, code: &str, message: &str) -> Response<ResponseBody> {
    let body = serde_json::to_vec(&serde_json::json!({"error": {"code": code, "message": message}}))
        .expect("JSON values serialize");
    let mut response = Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed_unsync())
        .expect("static response parts are valid");
    if status == 408 {
        // The rest of a body we stopped reading would be taken for the next request.
        response.headers_mut().insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("close"));
    }
    response
}

impl Server {
    /// Loads the manifest's components (compiling or from cache) and opens the store.
    pub fn load(manifest: &Manifest, options: &ServerOptions) -> anyhow::Result<Server> {
        let settings = &manifest.frameflow;
        let store_url = match (&options.store, &settings.store) {
            (Some(url), _) => url.clone(),
            (None, Some(url)) => manifest.resolve_store(url),
            (None, None) => DEFAULT_STORE.to_string(),
        };
        let cache_dir = match &settings.cache_dir {
            Some(dir) => manifest.resolve(dir),
            None => PathBuf::from("data/.cache"),
        };
        let media_root = options.media_root.clone().or_else(|| settings.media_root.as_deref().map(|r| manifest.resolve(r)));
        let upload_limit = options.upload_limit_bytes.or(settings.upload_limit_bytes).unwrap_or(SandboxLimits::default().upload_bytes);

        let defaults = SandboxLimits::default();
        let mut limits = SandboxLimits {
            upload_bytes: upload_limit,
            max_output_side: settings.max_output_side.unwrap_or(defaults.max_output_side),
            max_flow_pixels: settings.max_flow_pixels.unwrap_or(defaults.max_flow_pixels),
            ..defaults
        };
        if let Some(mib) = settings.memory_limit_mib {
            limits.memory_bytes = mib << 20;
        }
        if let Some(ms) = settings.deadline_ms {
            limits.deadline = Duration::from_millis(ms);
        }
        let runtime_defaults = RuntimeConfig::default();
        let config = RuntimeConfig {
            cache_dir: cache_dir.join("components"),
            limits,
            max_instances: settings.max_instances.unwrap_or(runtime_defaults.max_instances),
            queue_wait: settings.queue_wait_ms.map(Duration::from_millis).unwrap_or(runtime_defaults.queue_wait),
            media_memory_bytes: settings.media_memory_mib.map(|m| m << 20).unwrap_or(runtime_defaults.media_memory_bytes),
        };
        let storage = Arc::new(
            ObjectStorage::open(&store_url, &cache_dir.join("downloads")).with_context(|| format!("opening store {store_url}"))?,
        );
        let max_source_pixels = settings.max_source_pixels.unwrap_or(DEFAULT_MAX_SOURCE_PIXELS);
        let runtime = Runtime::new(config, Arc::new(VideoPool::new(media_root, Some(max_source_pixels))))?;
        let body_limits = BodyLimits {
            max_bytes: upload_limit,
            idle_timeout: Duration::from_millis(settings.body_idle_timeout_ms.unwrap_or(30_000)),
            min_rate: settings.body_min_rate.unwrap_or(16 << 10),
            rate_grace: Duration::from_secs(10),
            dir: cache_dir.join("spool"),
        };
        let connections = ConnectionLimits {
            max_connections: settings.max_connections.unwrap_or_else(default_max_connections).max(1),
            header_timeout: Duration::from_millis(settings.header_timeout_ms.unwrap_or(30_000).max(1)),
        };
        for (name, source) in &settings.samplers {
            let path = manifest.resolve(source);
            let cached = runtime
                .samplers()
                .add_builtin(name, &path)
                .with_context(|| format!("loading sampler '{name}' (build it with `make components`)"))?;
            let how = if cached { "from the compile cache" } else { "compiled" };
            tracing::info!(sampler = %name, source = %path.display(), "sampler '{name}' {how}");
        }

        let mut loaded: std::collections::BTreeMap<&str, Arc<HttpComponent>> = Default::default();
        let mut routes = Vec::new();
        for trigger in &manifest.trigger.http {
            let component = match loaded.get(trigger.component.as_str()) {
                Some(c) => c.clone(),
                None => {
                    let spec = &manifest.component[&trigger.component];
                    let path = manifest.resolve(&spec.source);
                    let c = Arc::new(runtime.load_http_component(&trigger.component, &path).with_context(|| {
                        format!("loading component '{}' (build it with `make components`)", trigger.component)
                    })?);
                    let how = if c.loaded_from_cache() { "from the compile cache" } else { "compiled" };
                    tracing::info!(component = %trigger.component, source = %path.display(), "component '{}' {how}", trigger.component);
                    loaded.insert(&trigger.component, c.clone());
                    c
                }
            };
            routes.push((RoutePattern::parse(&trigger.route)?, component));
        }
        let workers: Vec<Arc<HttpComponent>> = loaded.values().filter(|c| c.is_job_worker()).cloned().collect();
        let mut tenants: Vec<String> = settings.api_keys.values().cloned().collect();
        if tenants.is_empty() {
            tenants.push("default".into());
        }
        tenants.sort();
        tenants.dedup();
        let step_deadline = Duration::from_millis(settings.job_step_deadline_ms.unwrap_or(600_000));
        let host_id = match &settings.host_id {
            Some(id) if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) => id.clone(),
            Some(id) => anyhow::bail!("host_id '{id}' must be 1..=64 letters, digits, '-', '_' or '.'"),
            None => runtime.host_id(),
        };
        let jobs = JobRunner::new(workers, storage.clone(), tenants, host_id, step_deadline);
        Ok(Server { router: Router::new(routes), storage, api_keys: settings.api_keys.clone(), body_limits, connections, jobs })
    }

    fn tenant_of(&self, req: &Request<Incoming>) -> Result<String, Response<ResponseBody>> {
        if self.api_keys.is_empty() {
            return Ok("default".to_string());
        }
        let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        let key = header("x-api-key").or_else(|| header("authorization").and_then(|a| a.strip_prefix("Bearer ")));
        match key.and_then(|k| self.api_keys.get(k.trim())) {
            Some(tenant) => Ok(tenant.clone()),
            None => Err(json_error(401, "unauthorized", "send a valid API key in 'Authorization: Bearer KEY' or 'X-API-Key'")),
        }
    }

    /// Handles one request; never fails (errors are responses). Runs in a `request` span
    /// (method, path, tenant, component) and logs its status and time at debug level.
    pub async fn handle(&self, req: Request<Incoming>) -> Response<ResponseBody> {
        use tracing::Instrument;
        let span = tracing::info_span!(
            "request",
            method = %req.method(),
            path = %req.uri().path(),
            tenant = tracing::field::Empty,
            component = tracing::field::Empty,
        );
        let started = std::time::Instant::now();
        let mut response = self.answer(req).instrument(span.clone()).await;
        if response.status() == hyper::StatusCode::SERVICE_UNAVAILABLE && !response.headers().contains_key(hyper::header::RETRY_AFTER) {
            response.headers_mut().insert(hyper::header::RETRY_AFTER, hyper::header::HeaderValue::from_static(RETRY_AFTER_SECONDS));
        }
        span.in_scope(|| tracing::debug!(status = response.status().as_u16(), ms = started.elapsed().as_secs_f64() * 1e3, "answered"));
        response
    }

    async fn answer(&self, req: Request<Incoming>) -> Response<ResponseBody> {
        let path = req.uri().path().to_string();
        // The key first: without one, nobody learns which routes exist.
        let tenant = match self.tenant_of(&req) {
            Ok(t) => t,
            Err(response) => return response,
        };
        let Some(component) = self.router.route(&path).cloned() else {
            return json_error(404, "not_found", &format!("no route for {path}"));
        };
        let span = tracing::Span::current();
        span.record("tenant", tenant.as_str());
        span.record("component", component.name());
        let limit = self.body_limits.max_bytes;
        let declared = req
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            return json_error(
                413,
                "too_large",
                &format!("the request body of {} bytes is over the upload limit of {limit} bytes", declared.unwrap_or(0)),
            );
        }
        let tenant_store = match self.storage.tenant(&tenant) {
            Ok(t) => t,
            Err(e) => return json_error(500, "store_error", &e.to_string()),
        };
        // The whole body arrives before the component gets a slot and its deadline starts.
        let (parts, body) = req.into_parts();
        let body = match spool(body, &self.body_limits).await {
            Ok(b) => b,
            Err(e) => {
                let (status, code) = e.status();
                return json_error(status, code, &e.to_string());
            }
        };
        let req = Request::from_parts(parts, body);
        let changes_state = req.method() != hyper::Method::GET && req.method() != hyper::Method::HEAD;
        match component.handle(tenant_store, req).await {
            Ok(response) => {
                if changes_state && component.is_job_worker() {
                    // A job may have been created or stopped: let the worker look now.
                    self.jobs.wake();
                }
                response
            }
            Err(failure) => {
                let status = guest_error_status(&failure);
                tracing::warn!(status, code = failure.code(), "{failure}");
                json_error(status, failure.code(), &failure.to_string())
            }
        }
    }
}

/// Serves `server` on `listen` until the process is stopped. `ready` is called with the
/// bound address (port 0 picks a free port).
pub async fn serve(server: Server, listen: SocketAddr, ready: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    ready(listener.local_addr()?);
    server.jobs.start();
    let limits = server.connections.clone();
    let open = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let server = Arc::new(server);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait and keep serving.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(connection) = open.clone().try_acquire_owned() else {
            tokio::spawn(refuse_connection(stream, limits.max_connections));
            continue;
        };
        let server = server.clone();
        let header_timeout = limits.header_timeout;
        tokio::spawn(async move {
            let _connection = connection;
            let service = hyper::service::service_fn(move |req| {
                let server = server.clone();
                async move { Ok::<_, std::convert::Infallible>(server.handle(req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .timer(hyper_util::rt::TokioTimer::new())
                // Also closes keep-alive connections that stay idle this long: hyper
                // starts the timer as soon as it waits for the next request's head.
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The HTTP status for a component that gave no answer: its time or the host's capacity
/// ran out (503, worth retrying), the request was unusable (400), or it failed (500).
fn guest_error_status(error: &GuestError) -> u16 {
    match error {
        GuestError::Timeout { .. } | GuestError::Busy { .. } => 503,
        GuestError::Rejected { .. } => 400,
        GuestError::OutOfMemory { .. } | GuestError::Trap { .. } | GuestError::NoResponse { .. } | GuestError::Failed { .. } => 500,
    }
}

/// 1024 open connections, or fewer when the process may open fewer files: the cap must
/// bite before `accept` runs out of descriptors (256 are kept for the store, spooled
/// bodies and the runtime). The soft limit is read from `/proc/self/limits`.
fn default_max_connections() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits").ok().and_then(|text| {
        text.lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l.split_whitespace().nth(3))
            .and_then(|v| v.parse::<usize>().ok())
    });
    match soft {
        Some(files) => 1024.min(files.saturating_sub(256)).max(16),
        None => 1024,
    }
}

/// Answers a connection over the limit with a 503 and closes it, without reading the request.
async fn refuse_connection(mut stream: tokio::net::TcpStream, max: usize) {
    use tokio::io::AsyncWriteExt;
    let body = serde_json::json!({"error": {"code": "busy", "message": format!("the server has its maximum of {max} open connections; retry shortly")}})
        .to_string();
    let reply = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: {RETRY_AFTER_SECONDS}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(reply.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
