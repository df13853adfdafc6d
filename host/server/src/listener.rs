//! [`serve`]: the HTTP/1.1 listener. Per request: route to a component, pick the tenant
//! from the API key, refuse bodies over the upload limit, run the component, and turn
//! every failure into a JSON error (`{"error": {"code", "message"}}`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use frameflow_runtime::{HttpComponent, ResponseBody, Runtime, RuntimeConfig, SandboxLimits, VideoPool};
use frameflow_store::ObjectStorage;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

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

/// Default upload limit: 2 GiB.
const DEFAULT_UPLOAD_LIMIT: u64 = 2 << 30;

/// A loaded server: the runtime, its components bound to routes, the store.
pub struct Server {
    router: Router<Arc<HttpComponent>>,
    storage: Arc<ObjectStorage>,
    api_keys: std::collections::BTreeMap<String, String>,
    upload_limit: u64,
    jobs: JobRunner,
}

fn json_error(status: u16, code: &str, message: &str) -> Response<ResponseBody> {
    let body = serde_json::to_vec(&serde_json::json!({"error": {"code": code, "message": message}}))
        .expect("JSON values serialize");
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed_unsync())
        .expect("static response parts are valid")
}

impl Server {
    /// Loads the manifest's components (compiling or from cache) and opens the store.
    pub fn load(manifest: &Manifest, options: &ServerOptions) -> anyhow::Result<Server> {
        let settings = &manifest.frameflow;
        let store_url = match (&options.store, &settings.store) {
            (Some(url), _) => url.clone(),
            (None, Some(url)) => manifest.resolve_store(url),
            (None, None) => "file://data".to_string(),
        };
        let cache_dir = match &settings.cache_dir {
            Some(dir) => manifest.resolve(dir),
            None => PathBuf::from("data/.cache"),
        };
        let media_root = options.media_root.clone().or_else(|| settings.media_root.as_deref().map(|r| manifest.resolve(r)));
        let upload_limit = options.upload_limit_bytes.or(settings.upload_limit_bytes).unwrap_or(DEFAULT_UPLOAD_LIMIT);

        let mut limits = SandboxLimits { upload_bytes: upload_limit, ..SandboxLimits::default() };
        if let Some(mib) = settings.memory_limit_mib {
            limits.memory_bytes = mib << 20;
        }
        if let Some(ms) = settings.deadline_ms {
            limits.deadline = Duration::from_millis(ms);
        }
        let config = RuntimeConfig {
            cache_dir: cache_dir.join("components"),
            limits,
            max_instances: settings.max_instances.unwrap_or(64),
        };
        let storage = Arc::new(
            ObjectStorage::open(&store_url, &cache_dir.join("downloads")).with_context(|| format!("opening store {store_url}"))?,
        );
        let runtime = Runtime::new(config, Arc::new(VideoPool::new(media_root)))?;
        for (name, source) in &settings.samplers {
            let path = manifest.resolve(source);
            let cached = runtime
                .samplers()
                .add_builtin(name, &path)
                .with_context(|| format!("loading sampler '{name}' (build it with `make components`)"))?;
            let how = if cached { "from the compile cache" } else { "compiled" };
            eprintln!("frameflow: sampler '{name}' {how} ({})", path.display());
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
                    eprintln!("frameflow: component '{}' {how} ({})", trigger.component, path.display());
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
        let jobs = JobRunner::new(workers, storage.clone(), tenants, runtime.host_id(), step_deadline);
        Ok(Server { router: Router::new(routes), storage, api_keys: settings.api_keys.clone(), upload_limit, jobs })
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

    /// Handles one request; never fails (errors are responses).
    pub async fn handle(&self, req: Request<Incoming>) -> Response<ResponseBody> {
        let path = req.uri().path().to_string();
        let Some(component) = self.router.route(&path).cloned() else {
            return json_error(404, "not_found", &format!("no route for {path}"));
        };
        let tenant = match self.tenant_of(&req) {
            Ok(t) => t,
            Err(response) => return response,
        };
        let declared = req
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.upload_limit) {
            return json_error(
                413,
                "too_large",
                &format!("the request body of {} bytes is over the upload limit of {} bytes", declared.unwrap_or(0), self.upload_limit),
            );
        }
        let tenant_store = match self.storage.tenant(&tenant) {
            Ok(t) => t,
            Err(e) => return json_error(500, "store_error", &e.to_string()),
        };
        // Chunked bodies are cut off a little past the limit; uploads hit the store's own
        // limit first and answer 413.
        let limit = usize::try_from(self.upload_limit.saturating_add(1 << 20)).unwrap_or(usize::MAX);
        let req = req.map(|body| {
            Limited::new(body, limit).map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    wasmtime_wasi_http::Error::HttpRequestBodySize(None)
                } else {
                    wasmtime_wasi_http::Error::ConnectionTerminated
                }
            })
        });
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
                eprintln!("frameflow: {} {path}: {}", failure.status, failure.message);
                json_error(failure.status, failure.code, &failure.message)
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
    let server = Arc::new(server);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait and keep serving.
                eprintln!("frameflow: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let server = server.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let server = server.clone();
                async move { Ok::<_, std::convert::Infallible>(server.handle(req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
