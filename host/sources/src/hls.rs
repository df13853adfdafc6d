//! [`HlsReader`]: an HLS stream (a media playlist of MPEG-TS segments, VOD or live; a
//! master playlist's highest-bandwidth variant) read through the guarded client as one
//! continuous MPEG-TS byte stream, which FFmpeg demuxes like a file read in order. Every
//! playlist and segment request goes through the outbound guard (FFmpeg's own HLS demuxer
//! would fetch segments, and follow their redirects, outside it). A live playlist is read
//! again every half target duration for new segments. Encrypted segments and fMP4
//! segments (`#EXT-X-MAP`) are refused with a clear error.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{OutboundGuard, SourceError};

/// Longest wait for one playlist or segment.
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest playlist read.
const MAX_PLAYLIST: usize = 4 << 20;
/// Largest segment read.
const MAX_SEGMENT: usize = 256 << 20;

/// What a playlist says.
#[derive(Debug, Default, PartialEq)]
pub struct Playlist {
    /// A master playlist's variants: bandwidth and URL.
    pub variants: Vec<(u64, url::Url)>,
    /// A media playlist's segments, in order, with their sequence numbers.
    pub segments: Vec<(u64, url::Url)>,
    pub target_duration: f64,
    /// `#EXT-X-ENDLIST`: a VOD (or a finished live) playlist.
    pub ended: bool,
}

/// Reads a playlist (`base` resolves relative URIs).
pub fn parse_playlist(text: &str, base: &url::Url) -> Result<Playlist, String> {
    if !text.trim_start().starts_with("#EXTM3U") {
        return Err("not an HLS playlist (no #EXTM3U)".into());
    }
    let mut p = Playlist { target_duration: 6.0, ..Playlist::default() };
    let mut sequence = 0u64;
    let mut pending_variant: Option<u64> = None;
    let mut pending_segment = false;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            sequence = v.parse().map_err(|_| format!("bad media sequence '{v}'"))?;
        } else if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            p.target_duration = v.parse::<f64>().ok().filter(|d| *d > 0.0 && *d < 3600.0).unwrap_or(6.0);
        } else if line == "#EXT-X-ENDLIST" {
            p.ended = true;
        } else if line.starts_with("#EXT-X-MAP") {
            return Err("fragmented-MP4 HLS segments (#EXT-X-MAP) are not read; MPEG-TS segments are".into());
        } else if let Some(attrs) = line.strip_prefix("#EXT-X-KEY:") {
            if !attrs.contains("METHOD=NONE") {
                return Err("encrypted HLS segments are not read".into());
            }
        } else if let Some(attrs) = line.strip_prefix("#EXT-X-STREAM-INF:") {
            let bandwidth = attrs.split(',').find_map(|a| a.trim().strip_prefix("BANDWIDTH=")).and_then(|b| b.parse().ok()).unwrap_or(0);
            pending_variant = Some(bandwidth);
        } else if line.starts_with("#EXTINF:") {
            pending_segment = true;
        } else if !line.starts_with('#') {
            let uri = base.join(line).map_err(|_| format!("bad URI '{line}' in the playlist"))?;
            if let Some(bandwidth) = pending_variant.take() {
                p.variants.push((bandwidth, uri));
            } else if std::mem::take(&mut pending_segment) {
                p.segments.push((sequence, uri));
                sequence += 1;
            }
        }
    }
    Ok(p)
}

/// One HLS stream as bytes.
pub struct HlsReader {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
    playlist: url::Url,
    queue: VecDeque<(u64, url::Url)>,
    /// The next segment sequence number to read.
    next: u64,
    ended: bool,
    target_duration: f64,
    last_refresh: Instant,
    buffer: bytes::Bytes,
    at: usize,
    stop: Arc<AtomicBool>,
}

fn io_error(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl HlsReader {
    /// Opens the stream at `url` (a master playlist goes to its highest-bandwidth variant).
    /// Blocks: call it on the source's thread. `stop` ends a wait for live segments.
    pub fn open(guard: &OutboundGuard, runtime: tokio::runtime::Handle, url: &str, stop: Arc<AtomicBool>) -> Result<HlsReader, SourceError> {
        let mut playlist = url::Url::parse(url).map_err(|_| SourceError::Unsupported(url.to_string()))?;
        guard.check_url(&playlist)?;
        let client = guard.http_client(FETCH_TIMEOUT);
        let mut reader = HlsReader {
            client,
            runtime,
            playlist: playlist.clone(),
            queue: VecDeque::new(),
            next: 0,
            ended: false,
            target_duration: 6.0,
            last_refresh: Instant::now(),
            buffer: bytes::Bytes::new(),
            at: 0,
            stop,
        };
        // A client error (404, 403) or a file that is not a playlist will not change on a retry.
        let failed = |at: &url::Url, e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidData => SourceError::Open(e.to_string()),
            _ => SourceError::Http { url: at.to_string(), reason: e.to_string() },
        };
        let mut parsed = reader.fetch_playlist(&playlist).map_err(|e| failed(&playlist, e))?;
        if let Some((_, best)) = parsed.variants.iter().max_by_key(|(b, _)| *b).cloned() {
            playlist = best;
            parsed = reader.fetch_playlist(&playlist).map_err(|e| failed(&playlist, e))?;
        }
        if parsed.segments.is_empty() && parsed.ended {
            return Err(SourceError::Http { url: url.to_string(), reason: "the playlist has no segments".into() });
        }
        reader.playlist = playlist;
        reader.next = parsed.segments.first().map_or(0, |(s, _)| *s);
        reader.enqueue(parsed);
        Ok(reader)
    }

    /// Whether the playlist is live (no end yet).
    pub fn live(&self) -> bool {
        !self.ended
    }

    fn get(&self, url: &url::Url, limit: usize) -> std::io::Result<bytes::Bytes> {
        self.runtime.block_on(async {
            let mut response = self.client.get(url.clone()).send().await.map_err(io_error)?;
            if response.status().is_client_error() {
                // Not there, or not for us: asking again will not help.
                return Err(std::io::Error::new(std::io::ErrorKind::NotFound, format!("{url} answered {}", response.status())));
            }
            if !response.status().is_success() {
                return Err(io_error(format!("{url} answered {}", response.status())));
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(io_error)? {
                body.extend_from_slice(&chunk);
                if body.len() > limit {
                    return Err(io_error(format!("{url} is over {limit} bytes")));
                }
            }
            Ok(bytes::Bytes::from(body))
        })
    }

    fn fetch_playlist(&self, url: &url::Url) -> std::io::Result<Playlist> {
        let text = self.get(url, MAX_PLAYLIST)?;
        parse_playlist(&String::from_utf8_lossy(&text), url).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{url}: {e}")))
    }

    /// Queues the segments not read yet.
    fn enqueue(&mut self, parsed: Playlist) {
        self.ended = parsed.ended;
        self.target_duration = parsed.target_duration;
        let known = self.queue.back().map_or(self.next, |(s, _)| s + 1);
        self.queue.extend(parsed.segments.into_iter().filter(|(s, _)| *s >= known));
        self.last_refresh = Instant::now();
    }
}

impl Read for HlsReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.at < self.buffer.len() {
                let n = buf.len().min(self.buffer.len() - self.at);
                buf[..n].copy_from_slice(&self.buffer[self.at..self.at + n]);
                self.at += n;
                return Ok(n);
            }
            if let Some((sequence, url)) = self.queue.pop_front() {
                self.buffer = self.get(&url, MAX_SEGMENT)?;
                self.at = 0;
                self.next = sequence + 1;
                continue;
            }
            if self.ended {
                return Ok(0);
            }
            // Live: wait for the playlist to grow.
            let wait = Duration::from_secs_f64(self.target_duration / 2.0).saturating_sub(self.last_refresh.elapsed());
            let until = Instant::now() + wait;
            while Instant::now() < until {
                if self.stop.load(Ordering::Relaxed) {
                    return Err(std::io::Error::new(std::io::ErrorKind::Interrupted, "stopped"));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let playlist = self.playlist.clone();
            let parsed = self.fetch_playlist(&playlist)?;
            self.enqueue(parsed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlists_read_as_written() {
        let base = url::Url::parse("http://cam.example.org/live/index.m3u8").unwrap();
        let media = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:4.0,\nseg7.ts\n#EXTINF:4.0,\nhttp://cdn.example.org/seg8.ts\n";
        let p = parse_playlist(media, &base).unwrap();
        assert_eq!(p.segments.iter().map(|(s, u)| (*s, u.as_str().to_string())).collect::<Vec<_>>(), vec![
            (7, "http://cam.example.org/live/seg7.ts".to_string()),
            (8, "http://cdn.example.org/seg8.ts".to_string())
        ]);
        assert_eq!((p.target_duration, p.ended), (4.0, false));
        let master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\nlow.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2400000\nhigh.m3u8\n";
        let p = parse_playlist(master, &base).unwrap();
        assert_eq!(p.variants.iter().max_by_key(|(b, _)| *b).unwrap().1.as_str(), "http://cam.example.org/live/high.m3u8");
        assert!(parse_playlist("#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n", &base).is_err());
        assert!(parse_playlist("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\"\n", &base).is_err());
        assert!(parse_playlist("<html>", &base).is_err());
        assert!(parse_playlist("#EXTM3U\n#EXTINF:1,\nseg.ts\n#EXT-X-ENDLIST\n", &base).unwrap().ended);
    }
}
