//! The host side of `frameflow:sampler/samplers`, on a [`HostView`] of [`SamplersCtx`]: a
//! guest asks for a sampler by name; the built-ins come from the [`SamplerRegistry`], a
//! tenant's own from its uploads (`uploads`), and each `plan` runs in its own pure sandbox.

mod registry;

use std::sync::Arc;

use crate::bindings::frameflow::media::types::VideoInfo;
use crate::bindings::frameflow::sampler::samplers::Host;
use crate::bindings::frameflow::sampler::types::{Clip, PlanError};
use crate::bindings::PlanFailure;
use crate::blocking::blocking;
use crate::request::HostView;
use crate::uploads::{self, ComponentKind};

pub use registry::{valid_sampler_name, SamplerRegistry, MAX_SAMPLER_BYTES};

/// What `frameflow:sampler/samplers` reaches beyond the request: the built-in samplers and
/// the compiled tenant samplers.
pub(crate) struct SamplersCtx {
    pub registry: Arc<SamplerRegistry>,
}

type SamplersView<'a> = HostView<'a, SamplersCtx>;

fn unknown(message: String) -> PlanError {
    PlanError { param: Some("sampler".into()), message }
}

impl Host for SamplersView<'_> {
    async fn available(&mut self) -> wasmtime::Result<Vec<String>> {
        let mut names = self.ctx.registry.builtin_names();
        if let Ok(uploaded) = uploads::names(&self.req.tenant, ComponentKind::Sampler).await {
            names.extend(uploaded);
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    async fn plan(&mut self, sampler: String, info: VideoInfo, params: String, seed: u64) -> Result<Vec<Clip>, PlanFailure> {
        let registry = self.ctx.registry.clone();
        let tenant = self.req.tenant.tenant_name().to_string();
        if let Some(pre) = registry.builtin(&sampler) {
            return Ok(registry.run(Some(&tenant), &sampler, &pre, &info, &params, seed).await?);
        }
        if !valid_sampler_name(&sampler) {
            return Err(unknown(format!("'{sampler}' is not a sampler name (lowercase letters, digits, '-' and '_', at most 64)")).into());
        }
        let wasm = match uploads::load(&self.req.tenant, ComponentKind::Sampler, &sampler).await {
            Ok(Some(wasm)) => wasm,
            Ok(None) => {
                let known = self.available().await?;
                return Err(unknown(format!("no sampler '{sampler}'; available: {}", known.join(", "))).into());
            }
            Err(e) => return Err(registry::plan_error(format!("sampler '{sampler}' cannot be read now: {e}")).into()),
        };
        // Compiling is CPU work: off the reactor.
        let (registry, pre) = blocking(move || registry.uploaded(&wasm).map(|pre| (registry, pre)))
            .await?
            .map_err(|why| registry::plan_error(format!("sampler '{sampler}' cannot be loaded: {why}")))?;
        Ok(registry.run(Some(&tenant), &sampler, &pre, &info, &params, seed).await?)
    }
}

impl crate::bindings::frameflow::sampler::types::Host for HostView<'_, SamplersCtx> {
    fn convert_plan_error(&mut self, err: PlanFailure) -> wasmtime::Result<PlanError> {
        err.into_guest_error()
    }
}
