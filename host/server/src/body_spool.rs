//! [`spool`]: a request body received in full before any component runs.
//!
//! A component holds an instance slot and runs against a deadline; a client that sends
//! its body slowly must cost neither. So the listener first receives the body here —
//! small bodies into memory, larger ones into an unlinked temporary file — enforcing the
//! upload limit (413), an idle timeout and a minimum average rate (408), and only then
//! takes a slot and hands the component a [`SpooledBody`] that reads back at disk speed.

use std::io::SeekFrom;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncSeekExt, AsyncWriteExt, ReadBuf};

/// Bodies up to this size stay in memory.
const IN_MEMORY: usize = 256 << 10;
/// Chunk size when a spooled file is read back.
const READ_CHUNK: usize = 256 << 10;
/// How often a stalled body is looked at.
const TICK: Duration = Duration::from_millis(500);

/// How a body must arrive.
#[derive(Clone, Debug)]
pub struct BodyLimits {
    /// Largest body, bytes (the upload limit).
    pub max_bytes: u64,
    /// Longest wait for the next bytes.
    pub idle_timeout: Duration,
    /// Slowest average rate accepted once `rate_grace` has passed, bytes a second (0: none).
    pub min_rate: u64,
    pub rate_grace: Duration,
    /// Where bodies over [`IN_MEMORY`] are spooled.
    pub dir: PathBuf,
}

/// Why a body was not received.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("the request body is over the upload limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("no request body bytes arrived for {0:?}")]
    Idle(Duration),
    #[error("the request body arrived at {rate} bytes/s on average, below the minimum of {min} bytes/s")]
    TooSlow { rate: u64, min: u64 },
    #[error("the request body could not be read: {0}")]
    Broken(String),
    #[error("spooling the request body: {0}")]
    Io(#[from] std::io::Error),
}

impl SpoolError {
    /// The HTTP status and stable code for the error reply.
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            SpoolError::TooLarge { .. } => (413, "too_large"),
            SpoolError::Idle(_) | SpoolError::TooSlow { .. } => (408, "request_timeout"),
            SpoolError::Broken(_) => (400, "bad_request"),
            SpoolError::Io(_) => (500, "spool_error"),
        }
    }
}

/// Where received bytes go: memory first, a file once they outgrow it.
enum Sink {
    Memory(Vec<u8>),
    File(tokio::fs::File),
}

/// Receives all of `body` under `limits`.
pub async fn spool<B>(mut body: B, limits: &BodyLimits) -> Result<SpooledBody, SpoolError>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    if body.is_end_stream() {
        return Ok(SpooledBody::memory(Bytes::new()));
    }
    let started = Instant::now();
    let mut last_data = started;
    let mut received: u64 = 0;
    let mut sink = Sink::Memory(Vec::new());
    loop {
        let frame = match tokio::time::timeout(TICK, body.frame()).await {
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(SpoolError::Broken(e.to_string())),
            Ok(Some(Ok(frame))) => Some(frame),
            Err(_) => None,
        };
        let now = Instant::now();
        if let Some(data) = frame.and_then(|f| f.into_data().ok()) {
            received += data.len() as u64;
            if received > limits.max_bytes {
                return Err(SpoolError::TooLarge { limit: limits.max_bytes });
            }
            if !data.is_empty() {
                last_data = now;
            }
            sink = write(sink, &data, &limits.dir).await?;
        }
        if now - last_data >= limits.idle_timeout {
            return Err(SpoolError::Idle(limits.idle_timeout));
        }
        let elapsed = now - started;
        if limits.min_rate > 0 && elapsed > limits.rate_grace {
            let rate = (received as f64 / elapsed.as_secs_f64()) as u64;
            if rate < limits.min_rate {
                return Err(SpoolError::TooSlow { rate, min: limits.min_rate });
            }
        }
    }
    Ok(match sink {
        Sink::Memory(bytes) => SpooledBody::memory(Bytes::from(bytes)),
        Sink::File(mut file) => {
            file.flush().await?;
            file.seek(SeekFrom::Start(0)).await?;
            SpooledBody { source: Source::File(file), remaining: received }
        }
    })
}

async fn write(sink: Sink, data: &[u8], dir: &std::path::Path) -> Result<Sink, SpoolError> {
    Ok(match sink {
        Sink::Memory(mut bytes) if bytes.len() + data.len() <= IN_MEMORY => {
            bytes.extend_from_slice(data);
            Sink::Memory(bytes)
        }
        Sink::Memory(bytes) => {
            let mut file = temp_file(dir).await?;
            file.write_all(&bytes).await?;
            file.write_all(data).await?;
            Sink::File(file)
        }
        Sink::File(mut file) => {
            file.write_all(data).await?;
            Sink::File(file)
        }
    })
}

/// A new file in `dir`, already unlinked: it vanishes with its handle, even on a crash.
async fn temp_file(dir: &std::path::Path) -> std::io::Result<tokio::fs::File> {
    tokio::fs::create_dir_all(dir).await?;
    // Unique within the process by a counter, across processes by the pid.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("body-{}-{n}", std::process::id()));
    let file = tokio::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path).await?;
    tokio::fs::remove_file(&path).await?;
    Ok(file)
}

enum Source {
    Memory(Option<Bytes>),
    File(tokio::fs::File),
}

/// A fully received request body, read back for the component.
pub struct SpooledBody {
    source: Source,
    remaining: u64,
}

impl SpooledBody {
    /// The body as a blocking reader, for host work that parses it off the reactor.
    pub async fn into_reader(self) -> Box<dyn std::io::Read + Send> {
        match self.source {
            Source::Memory(bytes) => Box::new(std::io::Cursor::new(bytes.unwrap_or_default())),
            Source::File(file) => Box::new(file.into_std().await),
        }
    }

    fn memory(bytes: Bytes) -> SpooledBody {
        let remaining = bytes.len() as u64;
        SpooledBody { source: Source::Memory(Some(bytes).filter(|b| !b.is_empty())), remaining }
    }

    /// Bytes left to read.
    #[cfg(test)]
    fn len(&self) -> u64 {
        self.remaining
    }
}

impl Body for SpooledBody {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match &mut this.source {
            Source::Memory(bytes) => {
                this.remaining = 0;
                Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b))))
            }
            Source::File(file) => {
                if this.remaining == 0 {
                    return Poll::Ready(None);
                }
                let mut buf = vec![0u8; READ_CHUNK.min(this.remaining as usize)];
                let mut read = ReadBuf::new(&mut buf);
                match Pin::new(file).poll_read(cx, &mut read) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Err(_)) => Poll::Ready(Some(Err(wasmtime_wasi_http::Error::ConnectionTerminated))),
                    Poll::Ready(Ok(())) => {
                        let n = read.filled().len();
                        if n == 0 {
                            this.remaining = 0;
                            return Poll::Ready(None);
                        }
                        this.remaining -= n as u64;
                        buf.truncate(n);
                        Poll::Ready(Some(Ok(Frame::data(Bytes::from(buf)))))
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Full, StreamBody};

    fn limits(dir: &str) -> BodyLimits {
        BodyLimits {
            max_bytes: 1 << 20,
            idle_timeout: Duration::from_millis(700),
            min_rate: 0,
            rate_grace: Duration::from_secs(10),
            dir: std::env::temp_dir().join(format!("frameflow-spool-{dir}-{}", std::process::id())),
        }
    }

    async fn read_back(body: SpooledBody) -> Vec<u8> {
        body.collect().await.map_err(|_| ()).expect("spooled bodies read back").to_bytes().to_vec()
    }

    #[tokio::test]
    async fn small_and_large_bodies_read_back_whole() {
        let small = spool(Full::new(Bytes::from_static(b"{\"key\": 1}")), &limits("a")).await.unwrap();
        assert_eq!(read_back(small).await, b"{\"key\": 1}");
        // Over the in-memory size, in many frames: goes through a file.
        let data: Vec<u8> = (0..(IN_MEMORY * 3)).map(|i| (i % 251) as u8).collect();
        let chunks: Vec<Result<Frame<Bytes>, std::convert::Infallible>> =
            data.chunks(10_000).map(|c| Ok(Frame::data(Bytes::copy_from_slice(c)))).collect();
        let body = spool(StreamBody::new(futures_stream(chunks)), &limits("b")).await.unwrap();
        assert_eq!(body.len(), data.len() as u64);
        assert_eq!(read_back(body).await, data);
        // The spool directory keeps nothing: files are unlinked when created.
        assert_eq!(std::fs::read_dir(limits("b").dir).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn over_the_limit_and_stalled_bodies_are_refused() {
        let big = Full::new(Bytes::from(vec![0u8; (1 << 20) + 1]));
        assert!(matches!(spool(big, &limits("c")).await, Err(SpoolError::TooLarge { limit: 1048576 })));
        // A body that sends a little and then nothing.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::convert::Infallible>>(1);
        tx.send(Ok(Frame::data(Bytes::from_static(b"abc")))).await.unwrap();
        let stalled = StreamBody::new(tokio_stream(rx));
        let started = Instant::now();
        let err = spool(stalled, &limits("d")).await.err().unwrap();
        assert!(matches!(err, SpoolError::Idle(_)), "{err}");
        assert_eq!(err.status().0, 408);
        assert!(started.elapsed() < Duration::from_secs(3));
        drop(tx); // held open until here: the body stalled, it did not end
    }

    #[tokio::test]
    async fn a_trickle_below_the_minimum_rate_is_refused() {
        let mut l = limits("e");
        l.min_rate = 1000;
        l.rate_grace = Duration::from_millis(600);
        l.idle_timeout = Duration::from_secs(30);
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::convert::Infallible>>(1);
        tokio::spawn(async move {
            for _ in 0..100 {
                if tx.send(Ok(Frame::data(Bytes::from_static(b"x")))).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let err = spool(StreamBody::new(tokio_stream(rx)), &l).await.err().unwrap();
        assert!(matches!(err, SpoolError::TooSlow { min: 1000, .. }), "{err}");
    }

    fn futures_stream<T: Unpin>(items: Vec<T>) -> impl futures_core::Stream<Item = T> + Unpin {
        struct Iter<T>(std::vec::IntoIter<T>);
        impl<T: Unpin> futures_core::Stream for Iter<T> {
            type Item = T;
            fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<T>> {
                Poll::Ready(self.0.next())
            }
        }
        Iter(items.into_iter())
    }

    fn tokio_stream<T>(rx: tokio::sync::mpsc::Receiver<T>) -> impl futures_core::Stream<Item = T> + Unpin {
        struct Rx<T>(tokio::sync::mpsc::Receiver<T>);
        impl<T> futures_core::Stream for Rx<T> {
            type Item = T;
            fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
                self.0.poll_recv(cx)
            }
        }
        Rx(rx)
    }
}
