//! `frameflow serve`: loads the route manifest and the runtime config, and runs the
//! server's triggers (HTTP, jobs, object events, tasks) on a tokio runtime until SIGTERM or
//! Ctrl-C, which drain it.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Result;
use frameflow_cli::cli::LogFormat;
use frameflow_server::{Manifest, RuntimeSettings, Server, ServerOptions};

pub fn serve(config: &Path, runtime_config: Option<&Path>, listen: SocketAddr, options: ServerOptions, log_format: LogFormat) -> Result<()> {
    init_logging(log_format);
    let manifest = Manifest::load(config)?;
    let settings = RuntimeSettings::for_manifest(config, runtime_config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let served = runtime.block_on(async move {
        let server = Server::load(&manifest, &settings, &options)?;
        let ready = |addr| {
            // Tests and scripts read this line to learn the port.
            println!("frameflow: listening on http://{addr}");
        };
        // SIGTERM (Kubernetes) or Ctrl-C drains the server; then it exits 0.
        frameflow_server::serve(server, listen, ready, frameflow_server::drain::stop_signal()).await
    });
    // Blocking work the grace left running (a decode past its deadline) does not hold the
    // exit: its leases run out and another host does it again.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    served
}

/// Log lines on stderr through `tracing`: `FRAMEFLOW_LOG`, else `RUST_LOG`, picks the filter
/// (`info` by default: a line per request with its status, time, tenant and ids), as text
/// or JSON.
fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("FRAMEFLOW_LOG").or_else(|_| EnvFilter::try_from_default_env()).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(true).try_init(),
    };
}
