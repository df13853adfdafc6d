//! Starting the real `frameflow serve` (cargo's `CARGO_BIN_EXE_frameflow`) for end-to-end
//! tests: the components from `frameflow-test-components`, a route manifest and a runtime
//! config written into a scratch directory, a free loopback port.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::frameflow_bin;

/// Routes for the jobs component and the built-in samplers, for
/// [`ServerSetup::extra_manifest`] (it ends with the `[frameflow.samplers]` table).
pub const JOBS_ROUTES: &str = "[[trigger.http]]\nroute = \"/v1/jobs/...\"\ncomponent = \"jobs\"\n\
    [[trigger.http]]\nroute = \"/v1/samplers/...\"\ncomponent = \"jobs\"\n\
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
}

impl Default for ServerSetup<'_> {
    fn default() -> Self {
        ServerSetup { extra_manifest: "", settings: "", media_root: None, args: &[] }
    }
}

impl ServerProcess {
    /// Starts a server with an empty store in `scratch/<name>` (wiped first). The compile
    /// cache is shared by all test servers.
    pub fn start(name: &str, setup: ServerSetup<'_>) -> ServerProcess {
        let dir = frameflow_testkit::scratch_dir(&format!("servers/{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cache = frameflow_testkit::scratch_dir("component-cache");
        ServerProcess::start_in(dir, &cache, setup)
    }

    pub fn start_in(dir: PathBuf, cache: &Path, setup: ServerSetup<'_>) -> ServerProcess {
        let components = frameflow_test_components::dir().display().to_string();
        let manifest = format!(
            "spin_manifest_version = 2\n\
             [[trigger.http]]\nroute = \"/v1/videos/...\"\ncomponent = \"frames\"\n\
             [[trigger.http]]\nroute = \"/frame/...\"\ncomponent = \"frames\"\n\
             [component.frames]\nsource = \"{}\"\n{}\n",
            frameflow_test_components::frames().display(),
            setup.extra_manifest.replace("{components}", &components),
        );
        let media_root = setup.media_root.map(|p| format!("media_root = \"{}\"\n", p.display())).unwrap_or_default();
        let runtime_config = format!(
            "store = \"file://{}\"\ncache_dir = \"{}\"\n{media_root}{}\n",
            dir.join("store").display(),
            cache.display(),
            setup.settings,
        );
        let manifest_path = dir.join("frameflow.toml");
        std::fs::write(&manifest_path, manifest).unwrap();
        // Found beside the manifest, as `frameflow serve` looks for it.
        std::fs::write(dir.join("runtime-config.toml"), runtime_config).unwrap();
        let stderr_log = dir.join("stderr.log");
        let mut child = Command::new(frameflow_bin())
            .args(["serve", "--config", manifest_path.to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .args(setup.args)
            .env("RUST_BACKTRACE", "0")
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
        ServerProcess { addr: addr.parse().expect("address"), child, dir, stderr_log }
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
