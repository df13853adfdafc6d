//! The route manifest, in Spin's manifest-v2 shape (`infra/frameflow.toml`).
//!
//! ```toml
//! spin_manifest_version = 2
//! [[trigger.http]]
//! route = "/v1/videos/..."
//! component = "frames"
//! [component.frames]
//! source = "../components/dist/frameflow_frames.wasm"
//! [frameflow]            # frameflow's server settings (not part of Spin's format)
//! store = "file://../data"
//! ```
//! Relative paths (sources, `file://` stores, the media root, the cache) are relative to
//! the manifest's directory, as Spin resolves `source`.

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
    pub frameflow: Settings,
    /// The directory relative paths are resolved against.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

#[derive(Debug, Default, Deserialize)]
pub struct Triggers {
    #[serde(default)]
    pub http: Vec<HttpTrigger>,
}

#[derive(Debug, Deserialize)]
pub struct HttpTrigger {
    pub route: String,
    pub component: String,
}

#[derive(Debug, Deserialize)]
pub struct ComponentSpec {
    pub source: String,
    pub description: Option<String>,
}

/// frameflow's server settings; every one can be overridden on the command line.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `file://DIR` (default `file://data/store` from the working directory) or `s3://bucket/prefix`.
    pub store: Option<String>,
    /// Directory served by seed 001's `/frame/{path}` route.
    pub media_root: Option<String>,
    /// Compiled-component cache directory.
    pub cache_dir: Option<String>,
    /// Largest request body accepted (uploads), bytes.
    pub upload_limit_bytes: Option<u64>,
    /// Linear memory cap per request, MiB.
    pub memory_limit_mib: Option<usize>,
    /// Wall-clock deadline per request, milliseconds.
    pub deadline_ms: Option<u64>,
    /// Component instances alive at once (default 64).
    pub max_instances: Option<u32>,
    /// How long a request waits in line for an instance slot before a 503, ms (default 10 s).
    pub queue_wait_ms: Option<u64>,
    /// Media working memory (decode, render, flow) shared by all requests and jobs, MiB
    /// (default: half the machine's memory).
    pub media_memory_mib: Option<u64>,
    /// Largest video picture accepted, width × height (default 8192 × 4320): bigger videos
    /// are refused at upload with 422, and the decoder refuses bigger pictures mid-stream.
    pub max_source_pixels: Option<u64>,
    /// Largest rendered output side, pixels (default 8192).
    pub max_output_side: Option<u32>,
    /// Largest frame optical flow is computed on, width × height (default 4096 × 2160).
    pub max_flow_pixels: Option<u64>,
    /// Open client connections at once; more are answered 503 and closed (default 1024).
    pub max_connections: Option<usize>,
    /// Time a client has to send a request's headers, and the longest an idle keep-alive
    /// connection stays open, ms (default 30 s).
    pub header_timeout_ms: Option<u64>,
    /// Longest pause inside a request body, ms (default 30 s); then 408.
    pub body_idle_timeout_ms: Option<u64>,
    /// Slowest average upload rate accepted after the first 10 s, bytes/s (default 16384;
    /// 0 turns the check off); slower bodies are answered 408.
    pub body_min_rate: Option<u64>,
    /// Built-in sampler components: name -> component file (`frameflow:sampler/sampler` world).
    #[serde(default)]
    pub samplers: BTreeMap<String, String>,
    /// Wall-clock time a job component's background step may run, milliseconds (default
    /// 10 minutes; host calls such as decoding a chunk of clips count).
    pub job_step_deadline_ms: Option<u64>,
    /// This host's name as the owner of job leases (default: an id kept in the compile
    /// cache, stable across restarts with the same cache). Hosts sharing a store need
    /// distinct ids.
    pub host_id: Option<String>,
    /// API key -> tenant. Empty: no keys, every request is tenant `default`.
    #[serde(default)]
    pub api_keys: BTreeMap<String, String>,
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
        let p = Path::new(relative);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// A store URL from the manifest: relative `file://` directories resolve like paths.
    pub fn resolve_store(&self, url: &str) -> String {
        match url.strip_prefix("file://") {
            Some(dir) => format!("file://{}", self.resolve(dir).display()),
            None if !url.contains("://") => format!("file://{}", self.resolve(url).display()),
            None => url.to_string(),
        }
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
            "spin_manifest_version = 2\n[[trigger.http]]\nroute = \"/a/...\"\ncomponent = \"x\"\n[component.x]\nsource = \"x.wasm\"\n[frameflow]\nstore = \"file://st\"\n",
        )
        .unwrap();
        let m = Manifest::load(&path).unwrap();
        assert_eq!(m.resolve("x.wasm"), dir.join("x.wasm"));
        assert_eq!(m.resolve_store("file://st"), format!("file://{}", dir.join("st").display()));
        assert_eq!(m.resolve_store("s3://b/p"), "s3://b/p");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
