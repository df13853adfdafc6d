//! [`HttpSource`]: a video on an HTTP(S) server, read with ranged GETs through the guarded
//! client, so FFmpeg demuxes it like a file (MP4 with its index at the end included)
//! without fetching it whole, and every connection (redirects too) passes the guard.

use std::time::Duration;

use frameflow_media::remote::RangeSource;

use crate::{OutboundGuard, SourceError};

/// Longest wait for one ranged read.
const READ_TIMEOUT: Duration = Duration::from_secs(15);

pub struct HttpSource {
    client: reqwest::Client,
    url: url::Url,
    size: u64,
    runtime: tokio::runtime::Handle,
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
    /// Checks `url` and learns the video's size from a one-byte ranged GET (a server that
    /// does not serve ranges is refused: frameflow would have to download the whole video).
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
        if status.as_u16() != 206 {
            return Err(http_error(
                &url,
                if status.is_success() { "the server does not serve byte ranges".to_string() } else { format!("answered {status}") },
            ));
        }
        let size = response
            .headers()
            .get(reqwest::header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit('/').next())
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| http_error(&url, "the server gave no Content-Range size"))?;
        Ok(HttpSource { client, url, size, runtime: tokio::runtime::Handle::current() })
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
