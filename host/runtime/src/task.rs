//! [`AbortOnDrop`]: a spawned component run that stops when nobody waits for it any more
//! (the client went away, the deadline passed), unless it was let go on purpose.

/// A spawned task that is aborted when this handle is dropped, unless detached first.
pub(crate) struct AbortOnDrop<T>(Option<tokio::task::JoinHandle<T>>);

impl<T> AbortOnDrop<T> {
    pub fn new(handle: tokio::task::JoinHandle<T>) -> Self {
        AbortOnDrop(Some(handle))
    }

    /// Lets the task run on by itself.
    pub fn detach(mut self) {
        self.0.take();
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
        }
    }
}

impl<T> std::future::Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        match self.0.as_mut() {
            Some(handle) => std::pin::Pin::new(handle).poll(cx),
            None => std::task::Poll::Pending,
        }
    }
}
