//! [`RuntimeSettings`]: the runtime config file — where and how this host runs the
//! application (store, cache, media root, API keys, limits, host id), kept apart from the
//! route manifest as Spin keeps its runtime config apart from `spin.toml`.
//!
//! ```toml
//! store = "file://../data/store"   # or s3://BUCKET/PREFIX
//! cache_dir = "../data/.cache"
//! deadline_ms = 30000
//! [api_keys]
//! "secret-key" = "alice"
//! ```
//! Relative paths are relative to the file's directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The runtime config file: where and how this host runs the application. The command
/// line overrides `store`, `media_root` and `upload_limit_bytes`.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RuntimeSettings {
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
    /// Most frames one re-encoded clip or animated preview holds (default 1800); more: 413.
    pub max_clip_frames: Option<u64>,
    /// Clips and previews encoded at once on this host (default: one per core); more: 429.
    pub max_concurrent_encodes: Option<usize>,
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
    /// Wall-clock time a job component's background step may run, milliseconds (default
    /// 10 minutes; host calls such as decoding a chunk of clips count).
    pub job_step_deadline_ms: Option<u64>,
    /// How long a job's lease lasts without renewal, milliseconds (default 120 000, at
    /// least 1 000): every step renews it; when a host dies holding one, another host
    /// takes the job over after this long.
    pub job_lease_ms: Option<u64>,
    /// List the object triggers' prefixes this often for new or changed objects,
    /// milliseconds (default 0: off), for S3-compatible servers that cannot send
    /// notifications. A first poll turns every object already there into an event once.
    pub event_poll_ms: Option<u64>,
    /// This host's name as the owner of job leases (else `FRAMEFLOW_HOST_ID`, e.g. a pod's
    /// name, else an id kept in the compile cache, stable across restarts with the same
    /// cache). Hosts sharing a store need distinct ids.
    pub host_id: Option<String>,
    /// The system key, which manages tenants and their keys through `/v1/admin` (else
    /// `FRAMEFLOW_ADMIN_KEY`); at least 16 characters.
    pub admin_key: Option<String>,
    /// The secret Bearer JWTs (HS256) are signed with (else `FRAMEFLOW_JWT_SECRET`).
    pub jwt_secret: Option<String>,
    /// Requests per second a tenant may make on each host (default: no limit); beyond it
    /// 429 with `Retry-After`. A tenant's record (`/v1/admin`) may set its own.
    pub tenant_requests_per_second: Option<f64>,
    /// Jobs of one tenant worked on at once (default: no limit); later ones wait their
    /// turn. A tenant's record may set its own.
    pub tenant_max_running_jobs: Option<u32>,
    /// Bytes a tenant may keep in the store (default: no limit). A request that would
    /// bring more (an upload, a new job) is answered 507; deleting frees room. Counted from
    /// a listing at most every 30 s per host, plus what the host accepted since.
    pub tenant_max_stored_bytes: Option<u64>,
    /// Also serve `/metrics` here, without a key (for a scraper on an internal network),
    /// e.g. `0.0.0.0:9464`. On the main address `/metrics` needs the system key when
    /// credentials are in use.
    pub metrics_listen: Option<String>,
    /// Hosts frameflow may connect to for users though they are internal (stream sources,
    /// report webhooks): names, addresses and CIDR blocks, e.g. `["127.0.0.1",
    /// "cam.example.org", "10.0.0.0/8"]`. Loopback, private, link-local (cloud metadata)
    /// and multicast addresses are refused otherwise, after DNS and on every redirect.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Analysis tasks running at once on this host (default 32); more: 429.
    pub max_tasks: Option<usize>,
    /// How long a live source may send nothing before it counts as dropped, ms (default 5000).
    pub source_timeout_ms: Option<u64>,
    /// Reconnects in a row before a task's source fails (default 5; waits 1, 2, 4 ... 30 s).
    pub source_max_reconnects: Option<u32>,
    /// How long an analysis task's lease lasts without renewal, ms (default 15 000, at least
    /// 1 000): hosts sharing a store run each task once; when one dies, another takes its
    /// tasks over this long after, from their checkpoints.
    pub task_lease_ms: Option<u64>,
    /// The length of the fixed windows seed 002's `/chunks` cuts a video into, seconds
    /// (default 60).
    pub chunk_seconds: Option<f64>,
    /// The Haar cascade the face analyzer uses (default: Debian opencv-data's frontal face).
    pub face_cascade: Option<String>,
    /// After SIGTERM (or Ctrl-C), how long the host waits for requests, job steps, event
    /// deliveries and tasks in flight before it exits, ms (default 25 000). It stops taking
    /// work at once; keep it under the orchestrator's grace period (Kubernetes'
    /// `terminationGracePeriodSeconds` minus its `preStop` pause).
    pub shutdown_grace_ms: Option<u64>,
    /// Check the signature of SNS messages posted to `/v1/events/s3` against the
    /// certificate at their `SigningCertURL` (default true). Unsigned or badly signed
    /// messages are refused with 403.
    pub sns_verify_signatures: Option<bool>,
    /// Hosts whose `SigningCertURL` and `SubscribeURL` frameflow fetches for SNS messages,
    /// `*` matching within a name (default `["sns.*.amazonaws.com"]`); HTTPS only, except
    /// for an entry written with `http://` (a stand-in on a private network). The fetch
    /// also goes through `allowed_hosts`' checks.
    #[serde(default)]
    pub sns_hosts: Vec<String>,
    /// API key -> tenant (scope `tenant`). With no keys, no system key and no JWT secret,
    /// every request is tenant `default`.
    #[serde(default)]
    pub api_keys: BTreeMap<String, String>,
    /// The directory relative paths are resolved against: the file's own.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

impl RuntimeSettings {
    /// Reads a runtime config file.
    pub fn load(path: &Path) -> anyhow::Result<RuntimeSettings> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read runtime config {}", path.display()))?;
        let mut settings: RuntimeSettings = toml::from_str(&text).with_context(|| format!("invalid runtime config {}", path.display()))?;
        settings.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(settings)
    }

    /// The runtime config for a manifest: `explicit` when given, else `runtime-config.toml`
    /// beside the manifest when there is one, else every default (relative to the working
    /// directory).
    pub fn for_manifest(manifest: &Path, explicit: Option<&Path>) -> anyhow::Result<RuntimeSettings> {
        if let Some(path) = explicit {
            return RuntimeSettings::load(path);
        }
        let beside = manifest.parent().unwrap_or(Path::new(".")).join("runtime-config.toml");
        if beside.is_file() {
            return RuntimeSettings::load(&beside);
        }
        Ok(RuntimeSettings::default())
    }

    /// A path from the file, resolved against its directory.
    pub fn resolve(&self, relative: &str) -> PathBuf {
        crate::manifest::resolve_against(&self.base_dir, relative)
    }

    /// A store URL from the file: relative `file://` directories resolve like paths.
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
    fn paths_resolve_against_the_files_directory() {
        let dir = std::env::temp_dir().join(format!("frameflow-runtime-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("runtime-config.toml");
        std::fs::write(&path, "store = \"file://st\"\nmax_instances = 3\n").unwrap();
        let settings = RuntimeSettings::for_manifest(&dir.join("frameflow.toml"), None).unwrap();
        assert_eq!(settings.max_instances, Some(3));
        assert_eq!(settings.resolve_store("file://st"), format!("file://{}", dir.join("st").display()));
        assert_eq!(settings.resolve_store("s3://b/p"), "s3://b/p");
        std::fs::write(&path, "stroe = \"x\"\n").unwrap();
        let err = format!("{:#}", RuntimeSettings::load(&path).unwrap_err());
        assert!(err.contains("unknown field `stroe`"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
