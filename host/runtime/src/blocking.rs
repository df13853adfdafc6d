//! [`blocking`]: CPU-bound or blocking host work (decode, encode, flow, compiling a
//! tenant's sampler, file-system lookups) runs on tokio's blocking pool, never on the
//! async reactor that drives every request.

/// Runs `work` on a blocking thread and waits for it without holding the reactor.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> wasmtime::Result<T> {
    Ok(tokio::task::spawn_blocking(work).await?)
}
