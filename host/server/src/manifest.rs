//! The route manifest, in Spin's manifest-v2 shape (`infra/frameflow.toml`).
//!
//! ```toml
//! spin_manifest_version = 2
//! [[trigger.http]]
//! route = "/v1/videos/..."
//! component = "frames"
//! [component.frames]
//! source = "../components/dist/frameflow_frames.wasm"
//! [frameflow.samplers]    # built-in samplers (not part of Spin's format)
//! uniform = "../components/dist/frameflow_sampler_uniform.wasm"
//! ```
//! Relative paths are relative to the manifest's directory, as Spin resolves `source`.
//! Where and how the application runs — store, keys, limits — is the runtime config's
//! business (`runtime_config.rs`), not the manifest's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub spin_manifest_version: Option<u32>,
    /// Spin's `[application]` table (name, description): accepted, not used.
    pub application: Option<toml::Table>,
    #[serde(default)]
    pub trigger: Triggers,
    #[serde(default)]
    pub component: BTreeMap<String, ComponentSpec>,
    #[serde(default)]
    pub frameflow: AppSettings,
    /// The directory relative paths are resolved against.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

#[derive(Debug, Default, Deserialize)]
pub struct Triggers {
    #[serde(default)]
    pub http: Vec<HttpTrigger>,
    #[serde(default)]
    pub object: Vec<ObjectTriggerSpec>,
    #[serde(default)]
    pub queue: Vec<QueueTriggerSpec>,
}

/// `[[trigger.queue]]`: an SQS queue the host reads (long polling) for object events: S3
/// event notifications sent to the queue by S3 itself, or by an SNS topic subscribed to it.
/// Their records go through the `[[trigger.object]]` rules (prefix, suffix, event names) as
/// a notification on `POST /v1/events/s3` would; a message is deleted once its effect is
/// stored; a failing one comes back after `visibility_timeout_s`, and past the queue's
/// redrive policy SQS moves it to the dead-letter queue (frameflow lists it in
/// `/v1/events/failed` too).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueTriggerSpec {
    /// The queue's URL (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`, or a stand-in's).
    pub url: String,
    /// Only the object triggers of this event handler component take the queue's events
    /// (default: every object trigger).
    #[serde(default)]
    pub component: Option<String>,
    /// How long a received message stays hidden from other consumers, seconds (default 60):
    /// more than one event's handling takes.
    #[serde(default = "default_visibility")]
    pub visibility_timeout_s: u32,
    /// Messages per receive, 1..=10 (default 10).
    #[serde(default = "default_max_messages")]
    pub max_messages: u32,
    /// Long-poll wait per receive, 0..=20 seconds (default 20).
    #[serde(default = "default_wait")]
    pub wait_s: u32,
    /// This queue also carries jobs' chunks as work messages (`{job, chunk, attempt}`): a
    /// host that plans a job sends one per chunk and every host reading the queue runs
    /// them, instead of each host's scheduler claiming chunks itself (at most one queue).
    /// A message stays hidden while its chunk runs (its visibility is extended).
    #[serde(default)]
    pub work: bool,
}

fn default_visibility() -> u32 {
    60
}
fn default_max_messages() -> u32 {
    10
}
fn default_wait() -> u32 {
    20
}

/// `[[trigger.object]]`: object events under a tenant's `prefix` ending in `suffix`, whose
/// S3 event name matches one of `events` (`*` matches anything), go to `component` (a
/// `frameflow:events/handler`). Its `job` table, when present, is handed to the component
/// (the built-in ingest starts that sampling job for each new video).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectTriggerSpec {
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub suffix: String,
    #[serde(default = "created_events")]
    pub events: Vec<String>,
    pub component: String,
    pub job: Option<toml::Table>,
}

fn created_events() -> Vec<String> {
    vec!["ObjectCreated:*".into()]
}

#[derive(Debug, Deserialize)]
pub struct HttpTrigger {
    pub route: String,
    pub component: String,
    /// The largest request body this route takes, bytes (default: the runtime config's
    /// `upload_limit_bytes`); a bigger one is refused with 413 before it is read.
    #[serde(default)]
    pub max_body_bytes: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct ComponentSpec {
    pub source: String,
    pub description: Option<String>,
}

/// The manifest's `[frameflow]` table: the parts of the application Spin's format has no
/// place for. Everything about where and how it runs (store, keys, limits) lives in the
/// runtime config ([`crate::RuntimeSettings`]), as Spin keeps `spin.toml` apart from its
/// runtime config file.
#[derive(Debug, Default, Deserialize, Clone)]
pub struct AppSettings {
    /// Built-in sampler components: name -> component file (`frameflow:sampler/sampler` world).
    #[serde(default)]
    pub samplers: BTreeMap<String, String>,
    /// Built-in analyzer components: name -> component file (`frameflow:analyzer/analyzer-component`).
    #[serde(default)]
    pub analyzers: BTreeMap<String, String>,
    /// Seed 004's `map_type`: an algorithm `Type` (as a string key) -> analyzer name.
    #[serde(default)]
    pub analyzer_types: BTreeMap<String, String>,
    /// Runtime settings written here by older manifests: refused with a pointer to the
    /// runtime config.
    #[serde(flatten)]
    pub misplaced: BTreeMap<String, toml::Value>,
}

impl Manifest {
    pub fn load(path: &Path) -> anyhow::Result<Manifest> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read manifest {}", path.display()))?;
        let mut manifest: Manifest =
            toml::from_str(&text).with_context(|| format!("invalid manifest {}", path.display()))?;
        manifest.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if let Some(v) = manifest.spin_manifest_version {
            if v != 2 {
                bail!("{}: spin_manifest_version {v} is not supported (use 2)", path.display());
            }
        }
        if let Some(key) = manifest.frameflow.misplaced.keys().next() {
            bail!(
                "{}: '{key}' in [frameflow] is a runtime setting: put it in the runtime config file \
                 (`--runtime-config`, default runtime-config.toml next to the manifest); the manifest's \
                 [frameflow] table holds only `samplers`, `analyzers` and `analyzer_types`",
                path.display()
            );
        }
        for trigger in &manifest.trigger.object {
            if !manifest.component.contains_key(&trigger.component) {
                bail!("{}: an object trigger names component '{}', which has no [component.{}] table", path.display(), trigger.component, trigger.component);
            }
        }
        for queue in &manifest.trigger.queue {
            let where_ = format!("{}: the queue trigger '{}'", path.display(), queue.url);
            let url = url::Url::parse(&queue.url).map_err(|e| anyhow::anyhow!("{where_}: the url is not a URL: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                bail!("{where_}: the url must be an http(s) queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/uploads");
            }
            if let Some(component) = &queue.component {
                if !manifest.trigger.object.iter().any(|o| &o.component == component) {
                    bail!("{where_} names component '{component}', which no [[trigger.object]] uses: the queue's events go through the object triggers");
                }
            }
            if !(1..=10).contains(&queue.max_messages) || queue.wait_s > 20 || queue.visibility_timeout_s > 43_200 {
                bail!("{where_}: max_messages must be 1..=10, wait_s 0..=20 and visibility_timeout_s at most 43200 (SQS's limits)");
            }
        }
        if manifest.trigger.queue.iter().filter(|q| q.work).count() > 1 {
            bail!("{}: at most one [[trigger.queue]] carries work messages (work = true)", path.display());
        }
        for trigger in &manifest.trigger.http {
            if !manifest.component.contains_key(&trigger.component) {
                bail!(
                    "{}: route '{}' names component '{}', which has no [component.{}] table",
                    path.display(),
                    trigger.route,
                    trigger.component,
                    trigger.component
                );
            }
        }
        Ok(manifest)
    }

    /// A path from the manifest, resolved against its directory.
    pub fn resolve(&self, relative: &str) -> PathBuf {
        resolve_against(&self.base_dir, relative)
    }
}

/// `path` as written in a config file in `base`: absolute paths stay, relative ones are
/// relative to the file's directory (as Spin resolves `source`).
pub(crate) fn resolve_against(base: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_must_name_known_components() {
        let dir = std::env::temp_dir().join(format!("frameflow-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.toml");
        std::fs::write(&path, "spin_manifest_version = 2\n[[trigger.http]]\nroute = \"/a\"\ncomponent = \"x\"\n").unwrap();
        let err = Manifest::load(&path).unwrap_err().to_string();
        assert!(err.contains("names component 'x'"), "{err}");
        std::fs::write(
            &path,
            "spin_manifest_version = 2\n[[trigger.http]]\nroute = \"/a/...\"\ncomponent = \"x\"\n[component.x]\nsource = \"x.wasm\"\n",
        )
        .unwrap();
        let m = Manifest::load(&path).unwrap();
        assert_eq!(m.resolve("x.wasm"), dir.join("x.wasm"));
        let queue = |table: &str| {
            std::fs::write(&path, format!("spin_manifest_version = 2\n[[trigger.queue]]\n{table}\n")).unwrap();
            Manifest::load(&path).map(|m| m.trigger.queue.len()).map_err(|e| format!("{e:#}"))
        };
        assert_eq!(queue("url = \"https://sqs.us-east-1.amazonaws.com/1/q\"").unwrap(), 1);
        assert!(queue("url = \"not a url\"").unwrap_err().contains("not a URL"));
        assert!(queue("url = \"https://sqs.us-east-1.amazonaws.com/1/q\"\nmax_messages = 11").unwrap_err().contains("1..=10"));
        assert!(queue("url = \"https://sqs.us-east-1.amazonaws.com/1/q\"\ncomponent = \"jobs\"").unwrap_err().contains("no [[trigger.object]]"));
        assert!(queue("url = \"https://q\"\nvisibility = 3").unwrap_err().contains("unknown field"));
        std::fs::write(&path, "spin_manifest_version = 2\n[frameflow]\nstore = \"file://st\"\n").unwrap();
        let err = Manifest::load(&path).unwrap_err().to_string();
        assert!(err.contains("'store' in [frameflow] is a runtime setting"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
