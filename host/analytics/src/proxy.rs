//! Seed 002's `/api/v1/media-proxy?url=`: an external image or video fetched for the caller
//! through the outbound guard (no loopback, private, link-local or multicast address unless
//! `allowed_hosts` says so, checked after DNS and on every redirect), at most
//! [`MAX_PROXY_BYTES`] and [`PROXY_TIMEOUT`], and only `image/*` and `video/*` answers
//! passed on.

use std::time::Duration;

use frameflow_sources::OutboundGuard;

/// Largest body passed on.
pub const MAX_PROXY_BYTES: u64 = 25 << 20;
/// Longest wait for the whole answer.
pub const PROXY_TIMEOUT: Duration = Duration::from_secs(15);

/// What the proxy answers.
#[derive(Debug)]
pub enum Proxied {
    Media { content_type: String, bytes: Vec<u8> },
    /// An error: status, stable code, message.
    Refused(u16, &'static str, String),
}

/// Fetches `url` with `client` (the guard's).
pub async fn fetch(guard: &OutboundGuard, client: &reqwest::Client, url: &str) -> Proxied {
    let parsed = match url::Url::parse(url) {
        Ok(u) => u,
        Err(_) => return Proxied::Refused(400, "bad_request", format!("'{url}' is not a URL")),
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Proxied::Refused(400, "bad_request", format!("only http and https URLs are fetched, not {}:", parsed.scheme()));
    }
    if let Err(e) = guard.check_url(&parsed) {
        return Proxied::Refused(400, "refused_address", e.to_string());
    }
    let refusal = |e: &reqwest::Error| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(s) = source {
            if let Some(g) = s.downcast_ref::<frameflow_sources::GuardError>() {
                return Some(g.to_string());
            }
            source = s.source();
        }
        None
    };
    let fetched = tokio::time::timeout(PROXY_TIMEOUT, async {
        let mut response = client.get(parsed.clone()).send().await?;
        let status = response.status();
        let content_type = response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        if !status.is_success() {
            return Ok(Proxied::Refused(502, "upstream_error", format!("{url} answered {status}")));
        }
        let media = content_type.starts_with("image/") || content_type.starts_with("video/");
        if !media {
            return Ok(Proxied::Refused(415, "unsupported_media_type", format!("{url} is '{content_type}'; only images and videos are proxied")));
        }
        if response.content_length().is_some_and(|n| n > MAX_PROXY_BYTES) {
            return Ok(Proxied::Refused(413, "too_large", format!("{url} is over the proxy's {MAX_PROXY_BYTES} bytes")));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > MAX_PROXY_BYTES {
                return Ok(Proxied::Refused(413, "too_large", format!("{url} is over the proxy's {MAX_PROXY_BYTES} bytes")));
            }
        }
        Ok::<_, reqwest::Error>(Proxied::Media { content_type, bytes })
    })
    .await;
    match fetched {
        Err(_) => Proxied::Refused(504, "upstream_timeout", format!("{url} did not answer within {PROXY_TIMEOUT:?}")),
        Ok(Ok(p)) => p,
        Ok(Err(e)) => match refusal(&e) {
            Some(why) => Proxied::Refused(400, "refused_address", why),
            None => Proxied::Refused(502, "upstream_error", format!("{url} could not be fetched: {e}")),
        },
    }
}
