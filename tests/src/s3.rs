//! A real S3-compatible server for the tests: `moto_server` (the `moto[server]` PyPI
//! package, installed by `scripts/setup.sh` into `~/.cache/frameflow-tools/venv`, or
//! wherever `FRAMEFLOW_S3_SERVER` points), started once per test process on a free loopback
//! port and shared by every test, each of which takes a bucket of its own. It honours
//! conditional writes (`If-None-Match: *`, `If-Match`), which job leases depend on;
//! `host/store/tests/s3.rs` proves it through the store.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The running server (killed when the test process ends).
pub struct S3Server {
    pub endpoint: String,
    addr: std::net::SocketAddr,
    _child: ChildGuard,
}

struct ChildGuard(Child);

impl ChildGuard {
    /// Asks the watching shell to stop (it stops the server on its way out), then waits.
    fn stop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `moto_server` executable: `FRAMEFLOW_S3_SERVER`, else the one `scripts/setup.sh`
/// installs.
pub fn server_program() -> PathBuf {
    match std::env::var_os("FRAMEFLOW_S3_SERVER") {
        Some(p) => PathBuf::from(p),
        None => crate::python_tool("moto_server"),
    }
}

/// The shared server, started on first use; `None` (with a `SKIP:` line on stderr) when
/// no S3 server is installed on this machine.
pub fn server() -> Option<&'static S3Server> {
    static SERVER: OnceLock<Option<S3Server>> = OnceLock::new();
    SERVER.get_or_init(|| S3Server::start_private()).as_ref()
}

/// A free loopback port.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

impl S3Server {
    /// A server of one's own (for a test that stops and restarts it); `None` when no S3
    /// server is installed.
    pub fn start_private() -> Option<S3Server> {
        let program = server_program();
        if !program.exists() {
            eprintln!("SKIP: no S3 server at {} (run scripts/setup.sh, or set FRAMEFLOW_S3_SERVER)", program.display());
            return None;
        }
        Some(S3Server::launch(&program, free_port()))
    }

    fn launch(program: &std::path::Path, port: u16) -> S3Server {
        let log = crate::scratch_dir("s3-server").join(format!("moto-{}-{port}.log", std::process::id()));
        // The server must not outlive the test process (statics are never dropped): a
        // shell watches this process and stops the server when it is gone.
        let watch = format!(
            "\"$0\" -H 127.0.0.1 -p {port} & server=$!; trap 'kill $server 2>/dev/null' EXIT; trap 'exit 0' TERM INT; \
             while kill -0 {} 2>/dev/null && kill -0 $server 2>/dev/null; do sleep 1; done",
            std::process::id()
        );
        let child = Command::new("bash")
            .args(["-c", &watch])
            .arg(program)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("server log"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let server = S3Server { endpoint: format!("http://{addr}"), addr, _child: ChildGuard(child) };
        let started = Instant::now();
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "the S3 server did not start; see {}", log.display());
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// Stops the server (its objects are gone: moto keeps them in memory).
    pub fn stop(&mut self) {
        self._child.stop();
        let started = Instant::now();
        while std::net::TcpStream::connect(self.addr).is_ok() && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.stop();
        *self = S3Server::launch(&server_program(), self.addr.port());
    }

    /// The environment a client (the store, a `frameflow serve` process) needs for it.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "frameflow-test".into()),
            ("AWS_SECRET_ACCESS_KEY", "frameflow-test".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// A fresh, empty bucket for one test (S3 names: lowercase, digits, '-').
    pub fn bucket(&self, name: &str) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        let clean: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
        let bucket = format!("ff-{}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed), clean);
        let bucket: String = bucket.chars().take(63).collect::<String>().trim_end_matches('-').to_string();
        // moto accepts unsigned bucket creation; anything else goes through signed clients.
        let created = crate::http_client::request(self.addr, "PUT", &format!("/{bucket}"), &[], crate::http_client::Body::None);
        assert_eq!(created.status, 200, "creating bucket {bucket}: {}", String::from_utf8_lossy(&created.body));
        bucket
    }
}
