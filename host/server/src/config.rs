//! [`ServerConfig`]: every server setting resolved once, in one place — the runtime config
//! file ([`RuntimeSettings`]), the command-line overrides ([`ServerOptions`]) and the defaults.

use std::collections::BTreeMap;

use anyhow::Context;
use std::path::PathBuf;
use std::time::Duration;

use frameflow_runtime::{RuntimeConfig, SandboxLimits};

use crate::auth::TenantLimits;
use crate::body_spool::BodyLimits;
use crate::runtime_config::RuntimeSettings;

/// Command-line overrides of the runtime config.
#[derive(Debug, Default, Clone)]
pub struct ServerOptions {
    pub store: Option<String>,
    pub media_root: Option<PathBuf>,
    pub upload_limit_bytes: Option<u64>,
}

/// A job's lease without renewal: 2 minutes. Every step renews it and a step is one chunk
/// (8 clips by default: seconds of work), so a live host never loses it; a host that died
/// is replaced within 2 minutes, and a step that outlives its lease (a very large chunk) is
/// only repeated, never duplicated, since each step's writes are idempotent.
const DEFAULT_JOB_LEASE_MS: u64 = 120_000;

/// Default source picture limit: 8192 × 4320 (DCI 8K).
const DEFAULT_MAX_SOURCE_PIXELS: u64 = 8192 * 4320;
/// The store when neither the manifest nor the command line names one (relative to the
/// working directory), as the README says.
const DEFAULT_STORE: &str = "file://data/store";
/// Compiled components and spooled bodies when the manifest names no `cache_dir`
/// (relative to the working directory, like the default store).
const DEFAULT_CACHE_DIR: &str = "data/.cache";

/// How connections are admitted and kept.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    /// Headers must arrive within this; an idle keep-alive connection closes after it.
    pub header_timeout: Duration,
}

/// Everything the server runs with.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub store_url: String,
    pub cache_dir: PathBuf,
    pub runtime: RuntimeConfig,
    pub max_source_pixels: u64,
    pub body: BodyLimits,
    pub connections: ConnectionLimits,
    pub job_step_deadline: Duration,
    /// How long a job's lease lasts without renewal; another host takes a job then.
    pub job_lease: Duration,
    /// How often the object trigger lists its prefixes (off when `None`).
    pub event_poll: Option<Duration>,
    /// The owner name of job leases; `None`: the runtime's own id.
    pub host_id: Option<String>,
    /// API key → tenant (scope `tenant`), from the runtime config.
    pub api_keys: BTreeMap<String, String>,
    /// The system key (`admin_key`, else `FRAMEFLOW_ADMIN_KEY`): manages tenants and keys.
    pub admin_key: Option<String>,
    /// The secret HS256 JWTs are signed with (`jwt_secret`, else `FRAMEFLOW_JWT_SECRET`).
    pub jwt_secret: Option<String>,
    /// Limits of tenants whose record sets none (`tenant_requests_per_second`,
    /// `tenant_max_running_jobs`, `tenant_max_stored_bytes`; unset: unlimited).
    pub tenant_defaults: TenantLimits,
    /// A second address serving only `/metrics`, without a key.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// The outbound-request guard (`allowed_hosts`).
    pub guard: frameflow_sources::OutboundGuard,
    /// Seed 002's chunk length, seconds (`chunk_seconds`).
    pub chunk_seconds: f64,
    /// Analysis tasks (`max_tasks`, `source_timeout_ms`, `source_max_reconnects`,
    /// `face_cascade`; the type map comes from the manifest).
    pub tasks: frameflow_tasks::TaskSettings,
    /// How long a drain waits for work in flight after SIGTERM (`shutdown_grace_ms`).
    pub shutdown_grace: Duration,
    /// SNS messages on `/v1/events/s3` (`sns_verify_signatures`, `sns_hosts`).
    pub sns: crate::triggers::sns::SnsSettings,
}

impl ServerConfig {
    pub fn resolve(settings: &RuntimeSettings, options: &ServerOptions) -> anyhow::Result<ServerConfig> {
        let store_url = match (&options.store, &settings.store) {
            (Some(url), _) => url.clone(),
            (None, Some(url)) => settings.resolve_store(url),
            (None, None) => DEFAULT_STORE.to_string(),
        };
        let cache_dir = settings.cache_dir.as_deref().map(|d| settings.resolve(d)).unwrap_or_else(|| PathBuf::from(DEFAULT_CACHE_DIR));
        let media_root = options.media_root.clone().or_else(|| settings.media_root.as_deref().map(|r| settings.resolve(r)));
        let defaults = SandboxLimits::default();
        let upload_limit = options.upload_limit_bytes.or(settings.upload_limit_bytes).unwrap_or(defaults.upload_bytes);
        let limits = SandboxLimits {
            upload_bytes: upload_limit,
            memory_bytes: settings.memory_limit_mib.map(|mib| mib << 20).unwrap_or(defaults.memory_bytes),
            deadline: settings.deadline_ms.map(Duration::from_millis).unwrap_or(defaults.deadline),
            max_output_side: settings.max_output_side.unwrap_or(defaults.max_output_side),
            max_flow_pixels: settings.max_flow_pixels.unwrap_or(defaults.max_flow_pixels),
            max_clip_frames: settings.max_clip_frames.unwrap_or(defaults.max_clip_frames),
            ..defaults
        };
        let runtime_defaults = RuntimeConfig::default();
        let runtime = RuntimeConfig {
            cache_dir: cache_dir.join("components"),
            limits,
            max_instances: settings.max_instances.unwrap_or(runtime_defaults.max_instances),
            queue_wait: settings.queue_wait_ms.map(Duration::from_millis).unwrap_or(runtime_defaults.queue_wait),
            media_memory_bytes: settings.media_memory_mib.map(|m| m << 20).unwrap_or(runtime_defaults.media_memory_bytes),
            media_root,
            max_concurrent_encodes: settings.max_concurrent_encodes.unwrap_or(runtime_defaults.max_concurrent_encodes),
        };
        let body = BodyLimits {
            max_bytes: upload_limit,
            idle_timeout: Duration::from_millis(settings.body_idle_timeout_ms.unwrap_or(30_000)),
            min_rate: settings.body_min_rate.unwrap_or(16 << 10),
            rate_grace: Duration::from_secs(10),
            dir: cache_dir.join("spool"),
        };
        let connections = ConnectionLimits {
            max_connections: settings.max_connections.unwrap_or_else(default_max_connections).max(1),
            header_timeout: Duration::from_millis(settings.header_timeout_ms.unwrap_or(30_000).max(1)),
        };
        let host_id = match settings.host_id.clone().or_else(|| std::env::var("FRAMEFLOW_HOST_ID").ok()).as_ref() {
            Some(id) if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) => Some(id.clone()),
            Some(id) => anyhow::bail!("host_id '{id}' must be 1..=64 letters, digits, '-', '_' or '.'"),
            None => None,
        };
        Ok(ServerConfig {
            store_url,
            cache_dir,
            runtime,
            max_source_pixels: settings.max_source_pixels.unwrap_or(DEFAULT_MAX_SOURCE_PIXELS),
            body,
            connections,
            job_step_deadline: Duration::from_millis(settings.job_step_deadline_ms.unwrap_or(600_000)),
            job_lease: Duration::from_millis(settings.job_lease_ms.unwrap_or(DEFAULT_JOB_LEASE_MS).max(1000)),
            event_poll: settings.event_poll_ms.filter(|&ms| ms > 0).map(|ms| Duration::from_millis(ms.max(100))),
            host_id,
            api_keys: settings.api_keys.clone(),
            admin_key: secret(&settings.admin_key, "FRAMEFLOW_ADMIN_KEY")?,
            jwt_secret: secret(&settings.jwt_secret, "FRAMEFLOW_JWT_SECRET")?,
            guard: frameflow_sources::OutboundGuard::new(&settings.allowed_hosts).map_err(anyhow::Error::msg)?,
            chunk_seconds: settings.chunk_seconds.filter(|s| s.is_finite() && *s > 0.0).unwrap_or(frameflow_analytics::api::CHUNK_SECONDS),
            tasks: {
                let d = frameflow_tasks::TaskSettings::default();
                frameflow_tasks::TaskSettings {
                    max_tasks: settings.max_tasks.unwrap_or(d.max_tasks).max(1),
                    io_timeout: settings.source_timeout_ms.map(Duration::from_millis).unwrap_or(d.io_timeout),
                    max_reconnects: settings.source_max_reconnects.unwrap_or(d.max_reconnects),
                    face_cascade: settings.face_cascade.as_deref().map(|p| settings.resolve(p).display().to_string()).unwrap_or(d.face_cascade),
                    lease: settings.task_lease_ms.map(|ms| Duration::from_millis(ms.max(1000))).unwrap_or(d.lease),
                    ..d
                }
            },
            metrics_listen: match &settings.metrics_listen {
                Some(addr) => Some(addr.parse().with_context(|| format!("metrics_listen '{addr}' is not an address such as 0.0.0.0:9464"))?),
                None => None,
            },
            shutdown_grace: settings.shutdown_grace_ms.map(Duration::from_millis).unwrap_or(crate::drain::DEFAULT_GRACE),
            sns: crate::triggers::sns::SnsSettings::new(settings.sns_verify_signatures, &settings.sns_hosts).map_err(anyhow::Error::msg)?,
            tenant_defaults: TenantLimits {
                requests_per_second: settings.tenant_requests_per_second.filter(|r| *r > 0.0),
                max_running_jobs: settings.tenant_max_running_jobs.filter(|n| *n > 0),
                max_stored_bytes: settings.tenant_max_stored_bytes.filter(|n| *n > 0),
            },
        })
    }
}

/// A secret from the config, else the environment; refused when too short to be one.
fn secret(setting: &Option<String>, env: &str) -> anyhow::Result<Option<String>> {
    let value = setting.clone().or_else(|| std::env::var(env).ok()).filter(|v| !v.is_empty());
    match value {
        Some(v) if v.len() < 16 => anyhow::bail!("{env} (or its runtime config setting) must be at least 16 characters"),
        other => Ok(other),
    }
}

/// 1024 open connections, or fewer when the process may open fewer files: the cap must
/// bite before `accept` runs out of descriptors (256 are kept for the store, spooled
/// bodies and the runtime). The soft limit is read from `/proc/self/limits`.
fn default_max_connections() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits").ok().and_then(|text| {
        text.lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l.split_whitespace().nth(3))
            .and_then(|v| v.parse::<usize>().ok())
    });
    match soft {
        Some(files) => 1024.min(files.saturating_sub(256)).max(16),
        None => 1024,
    }
}
