//! [`AnalyzerRegistry`]: analyzer components (`frameflow:analyzer`) — the built-ins named in
//! the manifest and tenants' uploads (`analyzers/{name}.wasm` through the one upload path) —
//! compiled once, and [`AnalyzerSession`]: one instance kept for a task's whole life, so an
//! analyzer keeps its state across frames.
//!
//! An analyzer is pure like a sampler: no WASI at all (every import traps), 64 MiB of
//! memory, and a deadline per call (5 s for `configure`, 1 s per frame). A session whose
//! guest traps, loops or runs out of memory is over: every later call fails with the reason.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};

use crate::bindings::analyzer::frameflow::analyzer::types::{ConfigError, Event, Needs, Observation};
use crate::bindings::analyzer::{AnalyzerComponent, AnalyzerComponentPre};
use crate::compile_cache::CompileCache;
use crate::guest_error::{GuestError, Limiter};
use crate::limits::{limiter, sandboxed_store, Confined};
use crate::uploads::{self, ComponentKind};

/// Linear memory an analyzer may use.
const ANALYZER_MEMORY: usize = 64 << 20;
/// How long `configure` (and `restore`) may run.
const CONFIGURE_DEADLINE: Duration = Duration::from_secs(5);
/// How long one frame's `analyze` (or `save`) may run.
const FRAME_DEADLINE: Duration = Duration::from_secs(1);
/// Most events one frame may raise.
const MAX_EVENTS: usize = 1024;

/// The data of an analyzer's store: its memory cap and the running call's deadline.
pub(crate) struct AnalyzerState {
    limiter: Limiter,
    deadline: Instant,
}

impl Confined for AnalyzerState {
    fn limiter(&mut self) -> &mut Limiter {
        &mut self.limiter
    }
}

/// Why an analyzer call gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzerFailure {
    /// `configure` refused the parameters (`param` names the one at fault).
    #[error("{}", .0.message)]
    Config(ConfigError),
    /// The guest failed (trap, deadline, memory) or answered out of bounds; the session is over.
    #[error("{0}")]
    Failed(String),
}

/// Built-in analyzers by name, and tenant analyzers compiled so far (by content hash).
pub struct AnalyzerRegistry {
    engine: Engine,
    cache: Arc<CompileCache>,
    builtin: Mutex<BTreeMap<String, AnalyzerComponentPre<AnalyzerState>>>,
    uploaded: Mutex<HashMap<[u8; 32], AnalyzerComponentPre<AnalyzerState>>>,
}

impl AnalyzerRegistry {
    pub(crate) fn new(engine: Engine, cache: Arc<CompileCache>) -> AnalyzerRegistry {
        AnalyzerRegistry { engine, cache, builtin: Default::default(), uploaded: Default::default() }
    }

    /// Linked as it runs: whatever it imports traps when called.
    fn link(&self, component: &Component) -> anyhow::Result<AnalyzerComponentPre<AnalyzerState>> {
        let mut linker = Linker::<AnalyzerState>::new(&self.engine);
        linker.define_unknown_imports_as_traps(component).map_err(anyhow::Error::from)?;
        let pre = linker.instantiate_pre(component).map_err(anyhow::Error::from)?;
        AnalyzerComponentPre::new(pre).map_err(anyhow::Error::from).context("it does not export frameflow:analyzer/analyzer@0.1.0 (build it for the `analyzer-component` world)")
    }

    /// Whether a compiled component links and types as an analyzer (the upload check).
    pub(crate) fn typecheck(&self, component: &Component) -> anyhow::Result<()> {
        self.link(component).map(|_| ())
    }

    /// Registers a built-in analyzer from a component file.
    pub fn add_builtin(&self, name: &str, path: &Path) -> anyhow::Result<()> {
        let wasm = std::fs::read(path).with_context(|| format!("analyzer '{name}': cannot read {}", path.display()))?;
        let (component, _) = self.cache.load_or_compile(&self.engine, &wasm).with_context(|| format!("analyzer '{name}' ({})", path.display()))?;
        let pre = self.link(&component).with_context(|| format!("analyzer '{name}' ({})", path.display()))?;
        self.builtin.lock().expect("analyzer registry lock").insert(name.to_string(), pre);
        Ok(())
    }

    pub fn builtin_names(&self) -> Vec<String> {
        self.builtin.lock().expect("analyzer registry lock").keys().cloned().collect()
    }

    fn uploaded(&self, wasm: &[u8]) -> Result<AnalyzerComponentPre<AnalyzerState>, String> {
        use sha2::Digest;
        let hash: [u8; 32] = sha2::Sha256::digest(wasm).into();
        if let Some(pre) = self.uploaded.lock().expect("analyzer registry lock").get(&hash) {
            return Ok(pre.clone());
        }
        let (component, _) = self.cache.load_or_compile(&self.engine, wasm).map_err(|e| format!("{e:#}"))?;
        let pre = self.link(&component).map_err(|e| format!("{e:#}"))?;
        self.uploaded.lock().expect("analyzer registry lock").insert(hash, pre.clone());
        Ok(pre)
    }

    /// The names a task may use: the built-ins and `tenant`'s uploads.
    pub async fn available(&self, tenant: &frameflow_store::TenantStore) -> Vec<String> {
        let mut names = self.builtin_names();
        if let Ok(mine) = uploads::names(tenant, ComponentKind::Analyzer).await {
            names.extend(mine);
        }
        names.sort();
        names.dedup();
        names
    }

    /// A new instance of the analyzer `name` (a built-in, else `tenant`'s upload);
    /// `Err` says why there is none.
    pub async fn session(self: &Arc<Self>, tenant: &frameflow_store::TenantStore, name: &str) -> Result<AnalyzerSession, String> {
        let builtin = self.builtin.lock().expect("analyzer registry lock").get(name).cloned();
        let pre = match builtin {
            Some(pre) => pre,
            None => {
                if !crate::samplers::valid_sampler_name(name) {
                    return Err(format!("'{name}' is not an analyzer name"));
                }
                let wasm = match uploads::load(tenant, ComponentKind::Analyzer, name).await {
                    Ok(Some(w)) => w,
                    Ok(None) => return Err(format!("no analyzer '{name}'; available: {}", self.available(tenant).await.join(", "))),
                    Err(e) => return Err(format!("analyzer '{name}' cannot be read now: {e}")),
                };
                let registry = self.clone();
                crate::blocking::blocking(move || registry.uploaded(&wasm))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|why| format!("analyzer '{name}' cannot be loaded: {why}"))?
            }
        };
        let state = AnalyzerState { limiter: limiter(ANALYZER_MEMORY), deadline: Instant::now() + CONFIGURE_DEADLINE };
        let mut store = sandboxed_store(&self.engine, state, Instant::now() + CONFIGURE_DEADLINE);
        // Each call sets its own deadline in the store's data.
        store.epoch_deadline_callback(|ctx| Ok(if Instant::now() >= ctx.data().deadline { UpdateDeadline::Interrupt } else { UpdateDeadline::Yield(1) }));
        let instance = pre.instantiate_async(&mut store).await.map_err(|e| format!("analyzer '{name}' cannot start: {e:#}"))?;
        Ok(AnalyzerSession { name: name.to_string(), tenant: tenant.tenant_name().to_string(), store, instance, broken: None })
    }
}

/// One analyzer instance for one task.
pub struct AnalyzerSession {
    name: String,
    tenant: String,
    store: Store<AnalyzerState>,
    instance: AnalyzerComponent,
    broken: Option<String>,
}

impl AnalyzerSession {
    pub fn name(&self) -> &str {
        &self.name
    }

    fn arm(&mut self, deadline: Duration) -> Result<(), AnalyzerFailure> {
        if let Some(why) = &self.broken {
            return Err(AnalyzerFailure::Failed(why.clone()));
        }
        self.store.data_mut().deadline = Instant::now() + deadline;
        Ok(())
    }

    /// A guest failure: classified, counted for the tenant, and the session ended.
    fn fail(&mut self, e: wasmtime::Error, deadline: Duration) -> AnalyzerFailure {
        let refused = self.store.data().limiter.memory_refused;
        let failure = GuestError::classify(&self.name, e, refused, ANALYZER_MEMORY, deadline);
        failure.record(&self.tenant);
        let why = failure.to_string();
        self.broken = Some(why.clone());
        AnalyzerFailure::Failed(why)
    }

    /// The task's parameters and the frame size: what to compute per frame.
    pub async fn configure(&mut self, params_json: &str, width: u32, height: u32) -> Result<Needs, AnalyzerFailure> {
        self.arm(CONFIGURE_DEADLINE)?;
        let api = self.instance.frameflow_analyzer_analyzer();
        match api.call_configure(&mut self.store, params_json, width, height).await {
            Ok(Ok(needs)) => Ok(needs),
            Ok(Err(e)) => Err(AnalyzerFailure::Config(e)),
            Err(e) => Err(self.fail(e, CONFIGURE_DEADLINE)),
        }
    }

    /// One analysed frame's events.
    pub async fn analyze(&mut self, observation: &Observation) -> Result<Vec<Event>, AnalyzerFailure> {
        self.arm(FRAME_DEADLINE)?;
        let api = self.instance.frameflow_analyzer_analyzer();
        match api.call_analyze(&mut self.store, observation).await {
            Ok(events) if events.len() > MAX_EVENTS => {
                let why = format!("analyzer '{}' raised {} events on one frame; at most {MAX_EVENTS}", self.name, events.len());
                self.broken = Some(why.clone());
                Err(AnalyzerFailure::Failed(why))
            }
            Ok(events) => Ok(events),
            Err(e) => Err(self.fail(e, FRAME_DEADLINE)),
        }
    }

    /// The analyzer's state, to resume from.
    pub async fn save(&mut self) -> Result<Vec<u8>, AnalyzerFailure> {
        self.arm(FRAME_DEADLINE)?;
        let api = self.instance.frameflow_analyzer_analyzer();
        match api.call_save(&mut self.store).await {
            Ok(state) => Ok(state),
            Err(e) => Err(self.fail(e, FRAME_DEADLINE)),
        }
    }

    /// Resumes from [`Self::save`]'s bytes.
    pub async fn restore(&mut self, state: &[u8]) -> Result<(), AnalyzerFailure> {
        self.arm(CONFIGURE_DEADLINE)?;
        let api = self.instance.frameflow_analyzer_analyzer();
        match api.call_restore(&mut self.store, state).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(AnalyzerFailure::Failed(format!("analyzer '{}' cannot resume: {why}", self.name))),
            Err(e) => Err(self.fail(e, CONFIGURE_DEADLINE)),
        }
    }
}
