//! `frameflow serve`: loads the manifest and runs the HTTP server on a tokio runtime.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Result;
use frameflow_server::{Manifest, Server, ServerOptions};

pub fn serve(config: &Path, listen: SocketAddr, options: ServerOptions) -> Result<()> {
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
