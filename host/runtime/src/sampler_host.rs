//! The host side of `frameflow:sampler/samplers`: where a sampler component is found and run.
//!
//! [`SamplerRegistry`] holds the built-in samplers (named in the manifest) and loads a
//! tenant's own from its store (`samplers/{name}.wasm`). A sampler is pure: it runs in its
//! own store with no WASI at all (every import it declares is defined as a trap, so reading
//! a clock, a file or randomness stops it), a small memory cap and a short deadline. A
//! sampler that traps, loops or runs out of memory gives a `plan-error`, never a host fault.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use wasmtime::component::Linker;
use wasmtime::{Engine, Store, StoreLimitsBuilder, UpdateDeadline};

use crate::bindings::frameflow::media::types::VideoInfo;
use crate::bindings::frameflow::sampler::samplers::Host;
use crate::bindings::frameflow::sampler::types::{Clip, PlanError};
use crate::bindings::sampler::SamplerPre;
use crate::compile_cache::CompileCache;
use crate::guest_error::{GuestError, Limiter};
use crate::sandbox::Sandbox;

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

fn plan_error(message: String) -> PlanError {
    PlanError { param: None, message }
}

impl SamplerRegistry {
    pub(crate) fn new(engine: Engine, cache: Arc<CompileCache>) -> SamplerRegistry {
        SamplerRegistry { engine, cache, builtin: Default::default(), uploaded: Default::default() }
    }

    fn prepare(&self, wasm: &[u8]) -> anyhow::Result<(SamplerPre<SamplerState>, bool)> {
        let (component, outcome) = self.cache.load_or_compile(&self.engine, wasm)?;
        let mut linker = Linker::<SamplerState>::new(&self.engine);
        // Purity, enforced: a sampler gets no WASI; whatever it imports traps when called.
        linker.define_unknown_imports_as_traps(&component).map_err(anyhow::Error::from)?;
        let pre = linker.instantiate_pre(&component).map_err(anyhow::Error::from)?;
        let pre = SamplerPre::new(pre)
            .map_err(anyhow::Error::from)
            .context("it does not export frameflow:sampler/plan@0.1.0 (build it for the `sampler` world)")?;
        Ok((pre, outcome == crate::compile_cache::CacheOutcome::Hit))
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

    fn builtin(&self, name: &str) -> Option<SamplerPre<SamplerState>> {
        self.builtin.lock().expect("sampler registry lock").get(name).cloned()
    }

    /// The prepared sampler for an uploaded component (compiled once per content).
    fn uploaded(&self, wasm: &[u8]) -> Result<SamplerPre<SamplerState>, String> {
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
        self.run(name, &pre, info, params, seed).await
    }

    /// One `plan` call in a fresh, pure store.
    async fn run(&self, name: &str, pre: &SamplerPre<SamplerState>, info: &VideoInfo, params: &str, seed: u64) -> Result<Vec<Clip>, PlanError> {
        let limits = StoreLimitsBuilder::new().memory_size(SAMPLER_MEMORY).instances(16).trap_on_grow_failure(true).build();
        let mut store = Store::new(&self.engine, SamplerState { limiter: Limiter::new(limits) });
        store.limiter(|s| &mut s.limiter);
        let deadline = Instant::now() + SAMPLER_DEADLINE;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            Ok(if Instant::now() >= deadline { UpdateDeadline::Interrupt } else { UpdateDeadline::Yield(1) })
        });
        let called = async {
            let instance = pre.instantiate_async(&mut store).await?;
            instance.frameflow_sampler_plan().call_plan(&mut store, info, params, seed).await
        }
        .await;
        let clips = match called {
            Ok(result) => result?,
            Err(e) => {
                let memory_refused = store.data().limiter.memory_refused;
                let why = match GuestError::classify(name, e, memory_refused, SAMPLER_MEMORY, SAMPLER_DEADLINE) {
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

impl Host for Sandbox {
    async fn available(&mut self) -> wasmtime::Result<Vec<String>> {
        let mut names = self.samplers.builtin_names();
        if let Ok(page) = self.tenant.list("samplers/", None, 1000).await {
            for meta in page.objects {
                let uploaded = meta.key.strip_prefix("samplers/").and_then(|k| k.strip_suffix(".wasm"));
                if let Some(name) = uploaded.filter(|n| valid_sampler_name(n)) {
                    names.push(name.to_string());
                }
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    async fn plan(&mut self, sampler: String, info: VideoInfo, params: String, seed: u64) -> wasmtime::Result<Result<Vec<Clip>, PlanError>> {
        let registry = self.samplers.clone();
        if registry.builtin(&sampler).is_some() {
            return Ok(registry.plan_builtin(&sampler, &info, &params, seed).await);
        }
        if !valid_sampler_name(&sampler) {
            return Ok(Err(PlanError {
                param: Some("sampler".into()),
                message: format!("'{sampler}' is not a sampler name (lowercase letters, digits, '-' and '_', at most 64)"),
            }));
        }
        let wasm = match self.tenant.get(&format!("samplers/{sampler}.wasm")).await {
            Ok(w) => w,
            Err(_) => {
                let known = self.available().await?;
                return Ok(Err(PlanError {
                    param: Some("sampler".into()),
                    message: format!("no sampler '{sampler}'; available: {}", known.join(", ")),
                }));
            }
        };
        // Compiling is CPU work: off the reactor.
        let compiled = crate::blocking::blocking(move || registry.uploaded(&wasm).map(|pre| (registry, pre))).await?;
        match compiled {
            Ok((registry, pre)) => Ok(registry.run(&sampler, &pre, &info, &params, seed).await),
            Err(why) => Ok(Err(plan_error(format!("sampler '{sampler}' cannot be loaded: {why}")))),
        }
    }
}

impl crate::bindings::frameflow::sampler::types::Host for Sandbox {}
