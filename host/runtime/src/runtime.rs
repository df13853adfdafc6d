//! [`Runtime`]: the one wasmtime engine of the process and how components are loaded.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::admission::Admission;
use crate::bindings::events::HandlerExportPre;
use crate::bindings::job_worker::JobWorkerPre;
use crate::event_handler::EventHandler;
use crate::compile_cache::{CacheOutcome, CompileCache};
use crate::handler::HttpComponent;
use crate::job_worker::JobWorker;
use crate::limits::SandboxLimits;
use crate::media::MediaRoot;
use crate::analyzers::AnalyzerRegistry;
use crate::samplers::{SamplerRegistry, MAX_SAMPLER_BYTES};
use crate::uploads::Checker;
use crate::sandbox::{Sandbox, Sandboxes};
use crate::video_pool::VideoPool;

/// How often the epoch advances; deadlines are checked (and long guests yield) this often.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Where compiled components are cached.
    pub cache_dir: PathBuf,
    /// Per-request limits.
    pub limits: SandboxLimits,
    /// Component instances alive at once (HTTP handlers and job steps; a sampler runs
    /// inside its caller's slot). Requests beyond wait in line, up to `queue_wait`.
    pub max_instances: u32,
    /// How long a request waits in line for an instance slot before it is answered 503.
    pub queue_wait: Duration,
    /// Media working memory shared by all requests and jobs (decode, render, flow), bytes.
    pub media_memory_bytes: u64,
    /// The directory `open-in-media-root` serves (seed 001's frame server), if any.
    pub media_root: Option<PathBuf>,
    /// Clips and previews encoded at once on this host; more are answered 429.
    pub max_concurrent_encodes: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: PathBuf::from("data/.cache/components"),
            limits: SandboxLimits::default(),
            max_instances: 64,
            queue_wait: Duration::from_secs(10),
            media_memory_bytes: crate::admission::default_media_memory_bytes(),
            media_root: None,
            max_concurrent_encodes: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    linker: Linker<Sandbox>,
    cache: Arc<CompileCache>,
    sandboxes: Arc<Sandboxes>,
}

impl Runtime {
    pub fn new(config: RuntimeConfig, videos: Arc<VideoPool>) -> anyhow::Result<Runtime> {
        let mut pooling = PoolingAllocationConfig::new();
        // Room for `max_instances` handlers of a few core instances each (a Rust guest
        // is its module plus adapter shims), and for one sampler nested in each: a
        // sampler runs inside its caller's slot, so it must never find the pool full.
        let n = config.max_instances.max(1) * 2;
        pooling
            .total_component_instances(n)
            .total_core_instances(n * 16)
            .total_memories(n * 4)
            .total_tables(n * 8)
            .total_stacks(n)
            .max_memory_size(config.limits.memory_bytes);
        let mut wasm = Config::new();
        wasm.wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        let engine = Engine::new(&wasm).map_err(anyhow::Error::from).context("creating the wasmtime engine")?;

        let ticker = engine.weak();
        std::thread::Builder::new().name("frameflow-epoch".into()).spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            match ticker.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        })?;

        let linker = crate::sandbox::linker(&engine)?;
        let cache = Arc::new(CompileCache::open(&config.cache_dir)?);
        let samplers = Arc::new(SamplerRegistry::new(engine.clone(), cache.clone()));
        let analyzers = Arc::new(AnalyzerRegistry::new(engine.clone(), cache.clone()));
        let uploads = Arc::new(Checker {
            engine: engine.clone(),
            cache: cache.clone(),
            samplers: samplers.clone(),
            analyzers: analyzers.clone(),
            linker: linker.clone(),
            max_bytes: MAX_SAMPLER_BYTES,
        });
        let sandboxes = Sandboxes {
            samplers,
            uploads,
            engine,
            videos,
            media_root: Arc::new(MediaRoot::new(config.media_root.as_deref())),
            encodes: Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_encodes.max(1))),
            admission: Arc::new(Admission::new(config.max_instances.max(1), config.media_memory_bytes)),
            limits: config.limits.clone(),
            queue_wait: config.queue_wait,
        };
        Ok(Runtime { inner: Arc::new(RuntimeInner { linker, cache, sandboxes: Arc::new(sandboxes) }) })
    }

    pub fn limits(&self) -> &SandboxLimits {
        &self.inner.sandboxes.limits
    }

    /// The samplers: register built-ins here; tenants' own are found in their stores.
    pub fn samplers(&self) -> &Arc<SamplerRegistry> {
        &self.inner.sandboxes.samplers
    }

    /// The analyzers: register built-ins here; tenants' own are found in their stores.
    pub fn analyzers(&self) -> &Arc<AnalyzerRegistry> {
        &self.inner.sandboxes.uploads.analyzers
    }

    /// A stored video (the object at `key` in `tenant`'s store) from the host's video pool,
    /// its packet index cached in the store as the `video` resource caches it: for host
    /// work on stored videos outside a component (analytics).
    pub async fn open_stored_video(&self, tenant: &frameflow_store::TenantStore, key: &str) -> Result<std::sync::Arc<crate::video_pool::PooledVideo>, frameflow_media::MediaError> {
        let path = crate::media::media_path(tenant, key).await.map_err(|e| frameflow_media::MediaError::SourceUnavailable { path: key.into(), reason: e.to_string() })?;
        crate::media::pooled_video(&self.inner.sandboxes.videos, tenant, path, crate::media::index_key(key)).await.map_err(|(e, _)| e)
    }

    /// A path under the media root (`media_root`), checked (no escapes, must exist).
    pub fn media_root_path(&self, relative: &str) -> Result<std::path::PathBuf, String> {
        self.inner.sandboxes.media_root.resolve(relative).map_err(|e| e.to_string())
    }

    /// The instance-slot and media-memory queues.
    pub fn admission(&self) -> &Arc<Admission> {
        &self.inner.sandboxes.admission
    }

    /// The upload check of a tenant component of `kind` (what `PUT /v1/samplers/{name}`
    /// runs): size, component, world, imports, compiles. CPU work: not on the reactor.
    pub fn check_component(&self, kind: crate::ComponentKind, wasm: &[u8]) -> Result<(), crate::CheckError> {
        self.inner.sandboxes.uploads.check(kind, wasm)
    }

    /// This host's id, stable across restarts with the same cache directory: the owner
    /// name of the job leases it takes, so a restarted host resumes its own jobs at once.
    pub fn host_id(&self) -> String {
        self.inner.cache.host_id()
    }

    /// Loads (compiling or from cache) an object-event handler: anything exporting
    /// `frameflow:events/handler`, importing at most WASI, wasi:http and frameflow.
    pub fn load_event_handler(&self, name: &str, path: &Path) -> anyhow::Result<EventHandler> {
        let pre = self.instance_pre(name, path)?.0;
        let pre = HandlerExportPre::new(pre)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("component '{name}' does not export frameflow:events/handler@0.1.0"))?;
        Ok(EventHandler::new(name, pre, self.inner.sandboxes.clone()))
    }

    /// The component at `path` compiled (or from the cache) and linked; whether it came
    /// from the cache.
    fn instance_pre(&self, name: &str, path: &Path) -> anyhow::Result<(wasmtime::component::InstancePre<Sandbox>, bool)> {
        let wasm = std::fs::read(path).with_context(|| format!("component '{name}': cannot read {}", path.display()))?;
        let (component, outcome) = self
            .inner
            .cache
            .load_or_compile(&self.inner.sandboxes.engine, &wasm)
            .with_context(|| format!("component '{name}' ({})", path.display()))?;
        let pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("component '{name}' imports something this host does not provide"))?;
        Ok((pre, outcome == CacheOutcome::Hit))
    }

    /// Loads (compiling or from cache) an HTTP handler component: anything exporting
    /// `wasi:http/incoming-handler@0.2`, importing at most WASI, wasi:http and frameflow.
    pub fn load_http_component(&self, name: &str, path: &Path) -> anyhow::Result<HttpComponent> {
        let (pre, from_cache) = self.instance_pre(name, path)?;
        // A job-lifecycle component also exports the background worker.
        let worker = JobWorkerPre::new(pre.clone()).ok().map(|w| JobWorker::new(name, w, self.inner.sandboxes.clone()));
        let pre = ProxyPre::new(pre)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("component '{name}' does not export wasi:http/incoming-handler@0.2"))?;
        Ok(HttpComponent::new(name, pre, worker, self.inner.sandboxes.clone(), from_cache))
    }
}
