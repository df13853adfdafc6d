//! Starting the real `frameflow serve` (cargo's `CARGO_BIN_EXE_frameflow`) for end-to-end
//! tests: the components from `frameflow-test-components`, a route manifest and a runtime
//! config written into a scratch directory, a free loopback port, and a store on either
//! backend ([`Backend`]: a `file://` directory, or a bucket of the test kit's S3 server) with
//! a [`StoreView`] to look into it from outside the server. [`on_both_stores!`] runs a test
//! body once per backend.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::ObjectStore;

use crate::frameflow_bin;

/// Where a test server keeps its objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `file://` under the server's scratch directory (the embedded default).
    File,
    /// `s3://BUCKET/deployment` on the test kit's S3 server (moto on loopback).
    S3,
}

/// Runs each named test body (`fn name(backend: Backend)`) on both stores, as tests
/// `name::file` and `name::s3` (the latter says `SKIP` when no S3 server is installed).
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn file() {
                super::$name($crate::server::Backend::File)
            }
            #[test]
            fn s3() {
                if frameflow_testkit::s3::server().is_some() {
                    super::$name($crate::server::Backend::S3)
                }
            }
        }
    )*};
}

/// A test server's store seen from outside the server: its files, or its bucket's objects.
/// Keys are relative to the store root (`tenants/default/...`).
pub enum StoreView {
    File(PathBuf),
    S3 { objects: Arc<dyn ObjectStore>, runtime: tokio::runtime::Runtime },
}

impl StoreView {
    fn open(backend: Backend, dir: &Path) -> (StoreView, String, Vec<(&'static str, String)>) {
        match backend {
            Backend::File => {
                let root = dir.join("store");
                let url = format!("file://{}", root.display());
                (StoreView::File(root), url, vec![])
            }
            Backend::S3 => {
                let server = frameflow_testkit::s3::server().expect("the S3 server (on_both_stores! checks)");
                // One bucket per server directory, so a restarted server finds its store.
                let marker = dir.join("bucket");
                let bucket = match std::fs::read_to_string(&marker) {
                    Ok(b) => b,
                    Err(_) => {
                        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("server");
                        let b = server.bucket(name);
                        std::fs::write(&marker, &b).unwrap();
                        b
                    }
                };
                let env = server.env();
                let mut builder = object_store::aws::AmazonS3Builder::new().with_bucket_name(&bucket);
                for (k, v) in &env {
                    builder = builder.with_config(k.to_ascii_lowercase().parse().unwrap(), v);
                }
                let s3: Arc<dyn ObjectStore> = Arc::new(builder.build().expect("S3 client"));
                let objects = Arc::new(object_store::prefix::PrefixStore::new(s3, "deployment"));
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                (StoreView::S3 { objects, runtime }, format!("s3://{bucket}/deployment"), env)
            }
        }
    }

    /// The object's bytes, if it exists.
    pub fn read(&self, key: &str) -> Option<Vec<u8>> {
        match self {
            StoreView::File(root) => std::fs::read(root.join(key)).ok(),
            StoreView::S3 { objects, runtime } => runtime.block_on(async {
                let got = objects.get(&object_store::path::Path::from(key)).await.ok()?;
                Some(got.bytes().await.ok()?.to_vec())
            }),
        }
    }

    pub fn exists(&self, key: &str) -> bool {
        self.read(key).is_some()
    }

    /// Puts an object in place, as a tenant's own tools would (not through frameflow).
    pub fn write(&self, key: &str, bytes: &[u8]) {
        match self {
            StoreView::File(root) => {
                let path = root.join(key);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, bytes).unwrap();
            }
            StoreView::S3 { objects, runtime } => {
                runtime.block_on(objects.put(&object_store::path::Path::from(key), bytes.to_vec().into())).expect("S3 put");
            }
        }
    }

    /// Every key under `prefix` (a folder, `""` for all), relative to it.
    pub fn keys(&self, prefix: &str) -> BTreeSet<String> {
        let prefix = prefix.trim_end_matches('/');
        match self {
            StoreView::File(root) => {
                let dir = root.join(prefix);
                let mut out = BTreeSet::new();
                let mut stack = vec![dir.clone()];
                while let Some(d) = stack.pop() {
                    for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                        if e.path().is_dir() {
                            stack.push(e.path());
                        } else {
                            out.insert(e.path().strip_prefix(&dir).unwrap().display().to_string());
                        }
                    }
                }
                out
            }
            StoreView::S3 { objects, runtime } => runtime.block_on(async {
                let under = (!prefix.is_empty()).then(|| object_store::path::Path::from(prefix));
                let listed: Vec<_> = objects.list(under.as_ref()).try_collect().await.expect("S3 list");
                listed
                    .into_iter()
                    .map(|m| {
                        let key = m.location.to_string();
                        key.strip_prefix(prefix).unwrap_or(&key).trim_start_matches('/').to_string()
                    })
                    .collect()
            }),
        }
    }
}

/// Routes for the jobs component and the built-in samplers, for
/// [`ServerSetup::extra_manifest`] (it ends with the `[frameflow.samplers]` table).
pub const JOBS_ROUTES: &str = "[[trigger.http]]\nroute = \"/v1/jobs/...\"\ncomponent = \"jobs\"\n\
    [[trigger.http]]\nroute = \"/v1/samplers/...\"\ncomponent = \"jobs\"\nmax_body_bytes = 16777216\n\
    [[trigger.http]]\nroute = \"/v1/event-handlers/...\"\ncomponent = \"jobs\"\nmax_body_bytes = 16777216\n\
    [[trigger.http]]\nroute = \"/v1/analyzers/...\"\ncomponent = \"jobs\"\nmax_body_bytes = 16777216\n\
    [[trigger.http]]\nroute = \"/frame\"\ncomponent = \"jobs\"\n\
    [[trigger.http]]\nroute = \"/flow\"\ncomponent = \"jobs\"\n\
    [component.jobs]\nsource = \"{components}/frameflow_jobs.wasm\"\n\
    [frameflow.samplers]\n\
    random-clip = \"{components}/frameflow_sampler_random_clip.wasm\"\n\
    uniform = \"{components}/frameflow_sampler_uniform.wasm\"\n\
    regular-clip = \"{components}/frameflow_sampler_regular_clip.wasm\"\n";

/// A running `frameflow serve`; killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    stderr_log: PathBuf,
    store: StoreView,
}

/// What the test server is started with.
pub struct ServerSetup<'a> {
    /// Extra `[[trigger.http]]`/`[component.*]` TOML beyond the frames component's routes
    /// (`{components}` is replaced by the test components' directory).
    pub extra_manifest: &'a str,
    /// Extra lines for the runtime config (limits, `[api_keys]`).
    pub settings: &'a str,
    pub media_root: Option<&'a Path>,
    pub args: &'a [&'a str],
    pub backend: Backend,
    /// Extra environment for the server process (after the store's own).
    pub env: &'a [(String, String)],
}

impl Default for ServerSetup<'_> {
    fn default() -> Self {
        ServerSetup { extra_manifest: "", settings: "", media_root: None, args: &[], backend: Backend::File, env: &[] }
    }
}

impl ServerProcess {
    /// Starts a server with an empty store in `scratch/<name>` (wiped first). The compile
    /// cache is shared by all test servers.
    pub fn start(name: &str, setup: ServerSetup<'_>) -> ServerProcess {
        let suffix = if setup.backend == Backend::S3 { "-s3" } else { "" };
        let dir = frameflow_testkit::scratch_dir(&format!("servers/{name}{suffix}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cache = frameflow_testkit::scratch_dir("component-cache");
        ServerProcess::start_in(dir, &cache, setup)
    }

    /// Starts a second host on `other`'s bucket (S3 only: hosts share a store through its
    /// conditional writes, which a local directory cannot give two processes).
    pub fn start_sharing(name: &str, other: &ServerProcess, setup: ServerSetup<'_>) -> ServerProcess {
        assert_eq!(setup.backend, Backend::S3, "hosts share an S3 bucket");
        let dir = frameflow_testkit::scratch_dir(&format!("servers/{name}-s3"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(other.dir.join("bucket"), dir.join("bucket")).expect("the other host's bucket");
        ServerProcess::start_in(dir, &frameflow_testkit::scratch_dir("component-cache"), setup)
    }

    pub fn start_in(dir: PathBuf, cache: &Path, setup: ServerSetup<'_>) -> ServerProcess {
        let components = frameflow_test_components::dir().display().to_string();
        let manifest = format!(
            "spin_manifest_version = 2\n\
             [[trigger.http]]\nroute = \"/v1/videos/...\"\ncomponent = \"frames\"\n\
             [[trigger.http]]\nroute = \"/frame/...\"\ncomponent = \"frames\"\n\
             [[trigger.http]]\nroute = \"/api/v1/file/...\"\ncomponent = \"frames\"\n\
             [component.frames]\nsource = \"{}\"\n{}\n",
            frameflow_test_components::frames().display(),
            setup.extra_manifest.replace("{components}", &components),
        );
        let media_root = setup.media_root.map(|p| format!("media_root = \"{}\"\n", p.display())).unwrap_or_default();
        let (store, store_url, store_env) = StoreView::open(setup.backend, &dir);
        let runtime_config = format!("store = \"{store_url}\"\ncache_dir = \"{}\"\n{media_root}{}\n", cache.display(), setup.settings);
        let manifest_path = dir.join("frameflow.toml");
        std::fs::write(&manifest_path, manifest).unwrap();
        // Found beside the manifest, as `frameflow serve` looks for it.
        std::fs::write(dir.join("runtime-config.toml"), runtime_config).unwrap();
        let stderr_log = dir.join("stderr.log");
        let mut child = Command::new(frameflow_bin())
            .args(["serve", "--config", manifest_path.to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .args(setup.args)
            .env("RUST_BACKTRACE", "0")
            .envs(store_env)
            .envs(setup.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_log).unwrap())
            .spawn()
            .expect("start frameflow serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let Some(addr) = line.trim().strip_prefix("frameflow: listening on http://") else {
            let _ = child.kill();
            panic!("server did not start: {line:?}; stderr: {}", std::fs::read_to_string(&stderr_log).unwrap_or_default());
        };
        ServerProcess { addr: addr.parse().expect("address"), child, dir, stderr_log, store }
    }

    /// The server's store, from outside.
    pub fn store(&self) -> &StoreView {
        &self.store
    }

    /// The probe address (`metrics_listen`, e.g. on port 0) the server says it bound: no
    /// port picked by the test and freed for the server, which a parallel test could take.
    pub fn probe_addr(&self) -> SocketAddr {
        let log = self.stderr();
        let marker = "metrics and probes at http://";
        let at = log.find(marker).unwrap_or_else(|| panic!("no probe address in the log: {log}"));
        let rest = &log[at + marker.len()..];
        rest[..rest.find('/').expect("a URL path")].parse().expect("a socket address")
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }

    /// Kills the process at once (SIGKILL): no shutdown code runs.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM (as Kubernetes stops a pod) and waits up to `within` for the process
    /// to exit; its exit status, or `None` if it was still running (then it is killed).
    pub fn terminate(&mut self, within: std::time::Duration) -> Option<std::process::ExitStatus> {
        self.signal_term();
        self.wait_exit(within)
    }

    /// Sends SIGTERM without waiting.
    pub fn signal_term(&self) {
        let sent = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
    }

    /// Waits up to `within` for the process to exit (killed, and `None`, if it does not).
    pub fn wait_exit(&mut self, within: std::time::Duration) -> Option<std::process::ExitStatus> {
        let until = std::time::Instant::now() + within;
        while std::time::Instant::now() < until {
            if let Some(status) = self.child.try_wait().expect("poll server") {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        self.kill();
        None
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().expect("poll server").is_none()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
