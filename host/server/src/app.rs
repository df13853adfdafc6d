//! [`App`]: the manifest's components loaded and bound to their triggers — where a route is
//! bound to a component (`[[trigger.http]]`), where a component's job worker is found for
//! the jobs trigger, and where built-in samplers and analyzers are registered.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use frameflow_runtime::{HttpComponent, JobWorker, Runtime};

use crate::triggers::objects::ObjectRule;

use crate::manifest::Manifest;
use crate::routes::{RoutePattern, Router};

/// A route's component and its own body limit.
#[derive(Clone)]
pub struct BoundRoute {
    pub component: Arc<HttpComponent>,
    /// Below the upload limit for routes that take small bodies (`max_body_bytes`).
    pub max_body_bytes: Option<u64>,
}

/// The loaded application: routes to components.
pub struct App {
    pub router: Router<BoundRoute>,
    components: BTreeMap<String, Arc<HttpComponent>>,
    /// `[[trigger.object]]`s with their handlers, in manifest order.
    pub object_rules: Vec<ObjectRule>,
}

impl App {
    /// Registers the built-in samplers and analyzers and loads every component a route names, once each.
    pub fn load(manifest: &Manifest, runtime: &Runtime) -> anyhow::Result<App> {
        for (name, source) in &manifest.frameflow.samplers {
            let path = manifest.resolve(source);
            let cached = runtime
                .samplers()
                .add_builtin(name, &path)
                .with_context(|| format!("loading sampler '{name}' (build it with `make components`)"))?;
            let how = if cached { "from the compile cache" } else { "compiled" };
            tracing::info!(sampler = %name, source = %path.display(), "sampler '{name}' {how}");
        }
        for (name, source) in &manifest.frameflow.analyzers {
            let path = manifest.resolve(source);
            runtime
                .analyzers()
                .add_builtin(name, &path)
                .with_context(|| format!("loading analyzer '{name}' (build it with `make components`)"))?;
            tracing::info!(analyzer = %name, source = %path.display(), "analyzer '{name}' loaded");
        }
        let mut components: BTreeMap<String, Arc<HttpComponent>> = BTreeMap::new();
        let mut routes = Vec::new();
        for trigger in &manifest.trigger.http {
            let component = match components.get(&trigger.component) {
                Some(c) => c.clone(),
                None => {
                    let spec = &manifest.component[&trigger.component];
                    let path = manifest.resolve(&spec.source);
                    let c = Arc::new(runtime.load_http_component(&trigger.component, &path).with_context(|| {
                        format!("loading component '{}' (build it with `make components`)", trigger.component)
                    })?);
                    let how = if c.loaded_from_cache() { "from the compile cache" } else { "compiled" };
                    tracing::info!(component = %trigger.component, source = %path.display(), "component '{}' {how}", trigger.component);
                    components.insert(trigger.component.clone(), c.clone());
                    c
                }
            };
            routes.push((RoutePattern::parse(&trigger.route)?, BoundRoute { component, max_body_bytes: trigger.max_body_bytes }));
        }
        let mut handlers = BTreeMap::new();
        let mut object_rules = Vec::new();
        for trigger in &manifest.trigger.object {
            let handler = match handlers.get(&trigger.component) {
                Some(h) => std::sync::Arc::clone(h),
                None => {
                    let path = manifest.resolve(&manifest.component[&trigger.component].source);
                    let h = Arc::new(runtime.load_event_handler(&trigger.component, &path).with_context(|| {
                        format!("loading event handler '{}' (build it with `make components`)", trigger.component)
                    })?);
                    handlers.insert(trigger.component.clone(), h.clone());
                    h
                }
            };
            tracing::info!(component = %trigger.component, prefix = %trigger.prefix, suffix = %trigger.suffix, "object trigger");
            object_rules.push(ObjectRule::new(trigger.clone(), handler));
        }
        Ok(App { router: Router::new(routes), components, object_rules })
    }

    /// The components that also run jobs in the background (`frameflow:jobs/worker`).
    pub fn job_workers(&self) -> Vec<Arc<JobWorker>> {
        self.components.values().filter_map(|c| c.job_worker().cloned()).collect()
    }
}
