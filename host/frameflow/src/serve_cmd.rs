//! `frameflow serve`: loads the manifest and runs the HTTP server on a tokio runtime.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Result;
use frameflow_server::{Manifest, Server, ServerOptions};

pub fn serve(config: &Path, listen: SocketAddr, options: ServerOptions) -> Result<()> {
    init_logging();
    let manifest = Manifest::load(config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let server = Server::load(&manifest, &options)?;
        let serving = frameflow_server::serve(server, listen, |addr| {
            // Tests and scripts read this line to learn the port.
            println!("frameflow: listening on http://{addr}");
        });
        tokio::select! {
            result = serving => result,
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })
}

/// Log lines on stderr through `tracing`: `FRAMEFLOW_LOG` picks the filter (`info` by
/// default; `debug` adds a line per request with its status and time).
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("FRAMEFLOW_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false).try_init();
}
