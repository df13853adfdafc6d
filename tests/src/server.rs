//! Starting the real `frameflow serve` for end-to-end tests: the components built once per
//! test process, a manifest written into a scratch directory, a free loopback port.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::{frameflow_bin, workspace_root};

/// `components/dist/`, after building the components (once per test process).
pub fn components_dir() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = workspace_root();
            let status = Command::new(root.join("scripts/build-components.sh"))
                .stdout(Stdio::null())
                .status()
                .expect("run scripts/build-components.sh");
            assert!(status.success(), "building the components failed");
            root.join("components/dist")
        })
        .clone()
}

/// Routes for the jobs component, for [`ServerSetup::extra_manifest`].
pub const JOBS_ROUTES: &str = "[[trigger.http]]\nroute = \"/v1/jobs/...\"\ncomponent = \"jobs\"\n\
    [[trigger.http]]\nroute = \"/v1/samplers/...\"\ncomponent = \"jobs\"\n\
    [[trigger.http]]\nroute = \"/frame\"\ncomponent = \"jobs\"\n\
    [[trigger.http]]\nroute = \"/flow\"\ncomponent = \"jobs\"\n\
    [component.jobs]\nsource = \"{components}/frameflow_jobs.wasm\"\n";

/// The built-in samplers, for the end of [`ServerSetup::settings`].
pub const BUILTIN_SAMPLERS: &str = "[frameflow.samplers]\n\
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
    /// Extra `[[trigger.http]]`/`[component.*]` TOML beyond the frames component's routes.
    pub extra_manifest: &'a str,
    /// Extra lines for the `[frameflow]` table (`{components}` is replaced too).
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
        let dir = crate::scratch_dir(&format!("servers/{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cache = crate::scratch_dir("component-cache");
        ServerProcess::start_in(dir, &cache, setup)
    }

    pub fn start_in(dir: PathBuf, cache: &Path, setup: ServerSetup<'_>) -> ServerProcess {
        let components = components_dir();
        let media_root = setup.media_root.map(|p| format!("media_root = \"{}\"\n", p.display())).unwrap_or_default();
        let manifest = format!(
            "spin_manifest_version = 2\n\
             [[trigger.http]]\nroute = \"/v1/videos/...\"\ncomponent = \"frames\"\n\
             [[trigger.http]]\nroute = \"/frame/...\"\ncomponent = \"frames\"\n\
             [component.frames]\nsource = \"{}\"\n{}\n\
             [frameflow]\nstore = \"file://{}\"\ncache_dir = \"{}\"\n{media_root}{}\n",
            components.join("frameflow_frames.wasm").display(),
            setup.extra_manifest.replace("{components}", &components.display().to_string()),
            dir.join("store").display(),
            cache.display(),
            setup.settings.replace("{components}", &components.display().to_string()),
        );
        let manifest_path = dir.join("frameflow.toml");
        std::fs::write(&manifest_path, manifest).unwrap();
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
