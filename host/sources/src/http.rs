//! [`HttpSource`]: a video on an HTTP(S) server, read with ranged GETs through the guarded
//! client, so FFmpeg demuxes it like a file (MP4 with its index at the end included)
//! without fetching it whole, and every connection (redirects too) passes the guard.
//!
//! A server that answers a `Range` with the whole body (200: Python's `http.server`, many
//! origin servers) is read as a stream instead, in order, which is all a task needs: a read
//! further on skips what lies between, a read back reconnects from the start.

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use frameflow_media::remote::RangeSource;

use crate::{OutboundGuard, SourceError};

/// Longest wait for one ranged read (for a stream: to connect, and for each piece of body).
const READ_TIMEOUT: Duration = Duration::from_secs(15);

pub struct HttpSource {
    client: reqwest::Client,
    url: url::Url,
    size: u64,
    runtime: tokio::runtime::Handle,
    /// `Some` for a server without byte ranges.
    stream: Option<Mutex<Stream>>,
}

/// The one response a range-less server's video is read from, and where in it the reader is.
struct Stream {
    response: Option<reqwest::Response>,
    /// The offset of `pending`'s first byte.
    position: u64,
    /// What the last chunk holds past what was read.
    pending: Bytes,
}

fn http_error(url: &url::Url, reason: impl std::fmt::Display) -> SourceError {
    SourceError::Http { url: url.to_string(), reason: reason.to_string() }
}

/// The guard's refusal inside a reqwest error, if that is what it is.
fn refusal(e: &reqwest::Error) -> Option<crate::GuardError> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(g) = s.downcast_ref::<crate::GuardError>() {
            return Some(g.clone());
        }
        source = s.source();
    }
    None
}

impl HttpSource {
    /// Checks `url` and learns the video's size from a one-byte ranged GET; a server that
    /// answers it with the whole video (200 and its length) is read as a stream.
    pub async fn open(guard: &OutboundGuard, url: &str) -> Result<HttpSource, SourceError> {
        let url = url::Url::parse(url).map_err(|_| SourceError::Unsupported(url.to_string()))?;
        guard.check_url(&url)?;
        let client = guard.http_client(READ_TIMEOUT);
        let response = client
            .get(url.clone())
            .header(reqwest::header::RANGE, "bytes=0-0")
            .send()
            .await
            .map_err(|e| match refusal(&e) {
                Some(g) => SourceError::Refused(g),
                None => http_error(&url, format!("cannot be fetched: {e}")),
            })?;
        let status = response.status();
        if status.as_u16() == 200 {
            let size = response.content_length().ok_or_else(|| http_error(&url, "the server serves neither byte ranges nor the video's length"))?;
            // Not read here: the probe's client gives a whole response 15 s.
            drop(response);
            tracing::info!(url = %url, size, "the server does not serve byte ranges: the video is read in order");
            let stream = Mutex::new(Stream { response: None, position: 0, pending: Bytes::new() });
            return Ok(HttpSource { client: guard.streaming_client(READ_TIMEOUT), url, size, runtime: tokio::runtime::Handle::current(), stream: Some(stream) });
        }
        if status.as_u16() != 206 {
            return Err(http_error(&url, format!("answered {status}")));
        }
        let size = response
            .headers()
            .get(reqwest::header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit('/').next())
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| http_error(&url, "the server gave no Content-Range size"))?;
        Ok(HttpSource { client, url, size, runtime: tokio::runtime::Handle::current(), stream: None })
    }

    /// Reads `buf` at `offset` from the stream: on from where it is, skipping to `offset`,
    /// or from a new connection when `offset` is behind it (or there is none yet).
    fn read_streamed(&self, stream: &Mutex<Stream>, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut s = stream.lock().expect("stream lock");
        if s.response.is_none() || offset < s.position {
            // Inside the runtime: the request's timers start when it is made.
            let response = self.runtime.block_on(async { self.client.get(self.url.clone()).send().await }).map_err(std::io::Error::other)?;
            if response.status().as_u16() != 200 {
                return Err(std::io::Error::other(format!("{} answered {} when read again from the start", self.url, response.status())));
            }
            *s = Stream { response: Some(response), position: 0, pending: Bytes::new() };
        }
        let mut filled = 0;
        while filled < buf.len() && offset + (filled as u64) < self.size {
            if s.pending.is_empty() {
                let response = s.response.as_mut().expect("connected above");
                let next = self.runtime.block_on(async { response.chunk().await }).map_err(std::io::Error::other)?;
                match next {
                    Some(chunk) => s.pending = chunk,
                    None => return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, format!("{} ended at byte {} of {}", self.url, s.position, self.size))),
                }
            }
            let at = offset + filled as u64;
            // Before `at`: passed over.
            let skip = (at - s.position).min(s.pending.len() as u64) as usize;
            let n = (s.pending.len() - skip).min(buf.len() - filled);
            buf[filled..filled + n].copy_from_slice(&s.pending[skip..skip + n]);
            s.pending = s.pending.slice(skip + n..);
            s.position += (skip + n) as u64;
            filled += n;
        }
        Ok(filled)
    }

    /// The name to register it under with the media core.
    pub fn media_name(&self) -> String {
        format!("http-source:{}", self.url)
    }
}

impl RangeSource for HttpSource {
    fn len(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(stream) = &self.stream {
            return self.read_streamed(stream, offset, buf);
        }
        // Called from the source's own thread, off the async runtime: waiting is allowed.
        frameflow_media::remote::read_range(self.size, offset, buf, |range| {
            self.runtime.block_on(async {
                let response = self
                    .client
                    .get(self.url.clone())
                    .header(reqwest::header::RANGE, format!("bytes={}-{}", range.start, range.end - 1))
                    .send()
                    .await
                    .map_err(std::io::Error::other)?;
                if response.status().as_u16() != 206 {
                    return Err(std::io::Error::other(format!("{} answered {} to a ranged read", self.url, response.status())));
                }
                response.bytes().await.map_err(std::io::Error::other)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A server that answers every GET with the whole of `body` (200, no `Accept-Ranges`),
    /// in small writes; and how many connections it took.
    fn plain_server(body: Vec<u8>) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v.mp4", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                counted.fetch_add(1, Ordering::Relaxed);
                let body = body.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                        line.clear();
                    }
                    let _ = write!(stream, "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                    for piece in body.chunks(1000) {
                        if stream.write_all(piece).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, connections)
    }

    #[test]
    fn a_server_without_ranges_is_read_in_order_skipping_ahead_and_reconnecting_back() {
        let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let (url, connections) = plain_server(body.clone());
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let guard = OutboundGuard::new(&["127.0.0.1".to_string()]).unwrap();
        let source = runtime.block_on(HttpSource::open(&guard, &url)).unwrap();
        assert_eq!(source.len(), 100_000);
        let read = |offset: u64, n: usize| {
            let mut buf = vec![0; n];
            let got = source.read_at(offset, &mut buf).unwrap();
            buf.truncate(got);
            buf
        };
        assert_eq!(read(0, 10), body[..10]);
        assert_eq!(read(10, 5000), body[10..5010], "on from where it is, across the server's writes");
        assert_eq!(read(90_000, 20_000), body[90_000..], "ahead: skipped to, and cut at the end");
        assert_eq!(connections.load(Ordering::Relaxed), 2, "the probe, then one stream");
        assert_eq!(read(50, 100), body[50..150], "back: from the start again");
        assert_eq!(connections.load(Ordering::Relaxed), 3);
        assert!(read(100_000, 10).is_empty());
    }
}
