//! [`blocking`]: CPU-bound or blocking host work (decode, encode, flow, compiling a
//! tenant's sampler, file-system lookups) runs on tokio's blocking pool, never on the
//! async reactor that drives every request.

/// Runs `work` on a blocking thread and waits for it without holding the reactor. The
/// caller's span goes with it, so what the work records (a decoder team, a failed decode)
/// carries the request's tenant, video and job.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> wasmtime::Result<T> {
    let span = tracing::Span::current();
    Ok(tokio::task::spawn_blocking(move || span.in_scope(work)).await?)
}
