//! [`SamplerRegistry`]: where a sampler component is found, compiled and run.
//!
//! The registry holds the built-in samplers (named in the manifest) and compiles a
//! tenant's own once per content (the host side finds them in the tenant's store,
//! `samplers/{name}.wasm`). A sampler is pure: it runs in its
//! own store with no WASI at all (every import it declares is defined as a trap, so reading
//! a clock, a file or randomness stops it), a small memory cap and a short deadline. A
//! sampler that traps, loops or runs out of memory gives a `plan-error`, never a host fault.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use wasmtime::component::{Component, Linker};
use wasmtime::Engine;

use crate::bindings::frameflow::media::types::VideoInfo;
use crate::bindings::frameflow::sampler::types::{Clip, PlanError};
use crate::bindings::sampler::SamplerPre;
use crate::compile_cache::CompileCache;
use crate::guest_error::{GuestError, Limiter};
use crate::limits::{limiter, sandboxed_store, Confined};

/// Linear memory a sampler may use.
const SAMPLER_MEMORY: usize = 64 << 20;
/// How long one `plan` call may run.
const SAMPLER_DEADLINE: Duration = Duration::from_secs(5);
/// Largest sampler component a tenant may upload.
pub const MAX_SAMPLER_BYTES: u64 = 16 << 20;
/// Most clips one plan may return, and frames across them.
const MAX_CLIPS: usize = 100_000;
const MAX_PLANNED_FRAMES: usize = 1_000_000;

/// The data of a sampler's store: its memory cap, nothing else.
pub(crate) struct SamplerState {
    limiter: Limiter,
}

impl Confined for SamplerState {
    fn limiter(&mut self) -> &mut Limiter {
        &mut self.limiter
    }
}

/// Built-in samplers by name, and tenant samplers compiled so far (by content hash).
pub struct SamplerRegistry {
    engine: Engine,
    cache: Arc<CompileCache>,
    builtin: Mutex<BTreeMap<String, SamplerPre<SamplerState>>>,
    uploaded: Mutex<HashMap<[u8; 32], SamplerPre<SamplerState>>>,
}

/// A valid sampler name: what `samplers/{name}.wasm` may be called.
pub fn valid_sampler_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

pub(crate) fn plan_error(message: String) -> PlanError {
    PlanError { param: None, message }
}

impl SamplerRegistry {
    pub(crate) fn new(engine: Engine, cache: Arc<CompileCache>) -> SamplerRegistry {
        SamplerRegistry { engine, cache, builtin: Default::default(), uploaded: Default::default() }
    }

    fn prepare(&self, wasm: &[u8]) -> anyhow::Result<(SamplerPre<SamplerState>, bool)> {
        let (component, outcome) = self.cache.load_or_compile(&self.engine, wasm)?;
        Ok((self.link(&component)?, outcome == crate::compile_cache::CacheOutcome::Hit))
    }

    /// A compiled sampler linked as it runs: no WASI at all; whatever it imports traps
    /// when called (purity, enforced).
    fn link(&self, component: &Component) -> anyhow::Result<SamplerPre<SamplerState>> {
        let mut linker = Linker::<SamplerState>::new(&self.engine);
        linker.define_unknown_imports_as_traps(component).map_err(anyhow::Error::from)?;
        let pre = linker.instantiate_pre(component).map_err(anyhow::Error::from)?;
        SamplerPre::new(pre)
            .map_err(anyhow::Error::from)
            .context("it does not export frameflow:sampler/plan@0.1.0 (build it for the `sampler` world)")
    }

    /// Whether a compiled component links and types as a sampler (the upload check).
    pub(crate) fn typecheck(&self, component: &Component) -> anyhow::Result<()> {
        self.link(component).map(|_| ())
    }

    /// Registers a built-in sampler from a component file. Returns whether the machine code
    /// came from the compile cache.
    pub fn add_builtin(&self, name: &str, path: &Path) -> anyhow::Result<bool> {
        let wasm = std::fs::read(path).with_context(|| format!("sampler '{name}': cannot read {}", path.display()))?;
        let (pre, cached) = self.prepare(&wasm).with_context(|| format!("sampler '{name}' ({})", path.display()))?;
        self.builtin.lock().expect("sampler registry lock").insert(name.to_string(), pre);
        Ok(cached)
    }

    pub fn builtin_names(&self) -> Vec<String> {
        self.builtin.lock().expect("sampler registry lock").keys().cloned().collect()
    }

    pub(crate) fn builtin(&self, name: &str) -> Option<SamplerPre<SamplerState>> {
        self.builtin.lock().expect("sampler registry lock").get(name).cloned()
    }

    /// The prepared sampler for an uploaded component (compiled once per content).
    pub(crate) fn uploaded(&self, wasm: &[u8]) -> Result<SamplerPre<SamplerState>, String> {
        use sha2::Digest;
        let hash: [u8; 32] = sha2::Sha256::digest(wasm).into();
        if let Some(pre) = self.uploaded.lock().expect("sampler registry lock").get(&hash) {
            return Ok(pre.clone());
        }
        let (pre, _) = self.prepare(wasm).map_err(|e| format!("{e:#}"))?;
        self.uploaded.lock().expect("sampler registry lock").insert(hash, pre.clone());
        Ok(pre)
    }

    /// Runs a built-in sampler by name (the CLI's way in).
    pub async fn plan_builtin(&self, name: &str, info: &VideoInfo, params: &str, seed: u64) -> Result<Vec<Clip>, PlanError> {
        let pre = self.builtin(name).ok_or_else(|| {
            PlanError {
                param: Some("sampler".into()),
                message: format!("no sampler '{name}'; built in: {}", self.builtin_names().join(", ")),
            }
        })?;
        self.run(None, name, &pre, info, params, seed).await
    }

    /// One `plan` call in a fresh, pure store; a failure is counted for `tenant` when given.
    pub(crate) async fn run(&self, tenant: Option<&str>, name: &str, pre: &SamplerPre<SamplerState>, info: &VideoInfo, params: &str, seed: u64) -> Result<Vec<Clip>, PlanError> {
        let state = SamplerState { limiter: limiter(SAMPLER_MEMORY) };
        let mut store = sandboxed_store(&self.engine, state, Instant::now() + SAMPLER_DEADLINE);
        let called = async {
            let instance = pre.instantiate_async(&mut store).await?;
            instance.frameflow_sampler_plan().call_plan(&mut store, info, params, seed).await
        }
        .await;
        let clips = match called {
            Ok(result) => result?,
            Err(e) => {
                let memory_refused = store.data().limiter.memory_refused;
                let failure = GuestError::classify(name, e, memory_refused, SAMPLER_MEMORY, SAMPLER_DEADLINE);
                if let Some(tenant) = tenant {
                    failure.record(tenant);
                }
                let why = match failure {
                    GuestError::Timeout { deadline, .. } => format!("ran past its deadline of {deadline:?}"),
                    GuestError::OutOfMemory { limit, .. } => format!("went over its memory limit of {} MiB", limit >> 20),
                    // Every import of a sampler traps, so this covers clocks, files and the like.
                    other => format!(
                        "was stopped: {} (a sampler may not use clocks, files, randomness or the network)",
                        match other {
                            GuestError::Trap { reason, .. } => reason,
                            other => other.to_string(),
                        }
                    ),
                };
                return Err(plan_error(format!("sampler '{name}' {why}")));
            }
        };
        let frames: usize = clips.iter().map(|c| c.frames.len() + c.flow_to.len()).sum();
        if clips.len() > MAX_CLIPS || frames > MAX_PLANNED_FRAMES {
            return Err(plan_error(format!(
                "sampler '{name}' planned {} clips / {frames} frame references; at most {MAX_CLIPS} / {MAX_PLANNED_FRAMES}",
                clips.len()
            )));
        }
        Ok(clips)
    }
}
