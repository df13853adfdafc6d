//! Videos that are not files: objects read with ranged requests (S3), opened by FFmpeg
//! through a custom I/O context instead of being downloaded first.
//!
//! A store implements [`RangeSource`] for one object version and [`register`]s it under a
//! name that is not a file path (e.g. `s3://bucket/key#etag`); every part of the media core
//! that opens a path — probing, indexing, pooled decoders, reopening — then reads that
//! object through a [`RangeReader`]: a `Read + Seek` with one read-ahead window (from
//! [`READ_AHEAD`], growing while reads are sequential up to [`MAX_READ_AHEAD`], so memory
//! stays bounded whatever the object's size), handed to ffmpeg-next's `StreamIo`.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Bytes fetched per request past what FFmpeg asked for: demuxers read in small pieces.
/// A read that continues the last window doubles the next one, up to [`MAX_READ_AHEAD`]
/// (a packet scan or a GOP decode reads on and on; each request costs a round trip); a
/// jump starts again from this.
pub const READ_AHEAD: usize = 1 << 20;
/// The largest read-ahead window: the memory one open input holds at most.
pub const MAX_READ_AHEAD: usize = 16 << 20;
/// Objects registered at once; the oldest are forgotten beyond (an open video keeps its own
/// reference, so forgetting only means the next open registers again).
const MAX_SOURCES: usize = 4096;

/// One object version, readable at any offset. Implementations block (they run on the
/// media core's blocking threads).
pub trait RangeSource: Send + Sync {
    /// The object's size in bytes.
    fn len(&self) -> u64;
    /// Reads up to `buf.len()` bytes at `offset` (fewer only at the end of the object).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize>;
}

/// A [`RangeSource::read_at`] from a fetch of a byte range: the range clamped to the
/// object's `len`, the bytes fetched copied into `buf` (0 at the end).
pub fn read_range<B: AsRef<[u8]>>(len: u64, offset: u64, buf: &mut [u8], fetch: impl FnOnce(std::ops::Range<u64>) -> std::io::Result<B>) -> std::io::Result<usize> {
    let end = (offset + buf.len() as u64).min(len);
    if offset >= end {
        return Ok(0);
    }
    let bytes = fetch(offset..end)?;
    let bytes = bytes.as_ref();
    let n = bytes.len().min(buf.len());
    buf[..n].copy_from_slice(&bytes[..n]);
    Ok(n)
}

fn sources() -> &'static Mutex<HashMap<PathBuf, Arc<dyn RangeSource>>> {
    static SOURCES: OnceLock<Mutex<HashMap<PathBuf, Arc<dyn RangeSource>>>> = OnceLock::new();
    SOURCES.get_or_init(Default::default)
}

/// Makes `name` (not a file path) open `source` wherever the media core opens a path.
pub fn register(name: impl Into<PathBuf>, source: Arc<dyn RangeSource>) {
    let mut sources = sources().lock().expect("remote sources lock");
    if sources.len() >= MAX_SOURCES {
        if let Some(k) = sources.keys().next().cloned() {
            sources.remove(&k);
        }
    }
    sources.insert(name.into(), source);
}

/// The size of what `path` names: a registered object's length, else the file's.
pub fn size_of(path: &Path) -> Option<u64> {
    match source(path) {
        Some(s) => Some(s.len()),
        None => std::fs::metadata(path).ok().map(|m| m.len()),
    }
}

fn failures() -> &'static Mutex<HashMap<PathBuf, String>> {
    static FAILURES: OnceLock<Mutex<HashMap<PathBuf, String>>> = OnceLock::new();
    FAILURES.get_or_init(Default::default)
}

/// Why the last read of the object registered as `name` failed, if it did: a demuxer
/// error after it is the store's fault, not the video's.
pub fn failure(name: &Path) -> Option<String> {
    failures().lock().expect("remote failures lock").get(name).cloned()
}

fn note(name: &Path, outcome: Result<(), &std::io::Error>) {
    let mut failures = failures().lock().expect("remote failures lock");
    match outcome {
        Ok(()) => {
            failures.remove(name);
        }
        Err(e) => {
            failures.insert(name.to_path_buf(), e.to_string());
        }
    }
}

/// The source registered under `name`, if any.
pub fn source(name: &Path) -> Option<Arc<dyn RangeSource>> {
    sources().lock().expect("remote sources lock").get(name).cloned()
}

/// A [`RangeSource`] as a `Read + Seek` stream with one read-ahead window.
pub struct RangeReader {
    source: Arc<dyn RangeSource>,
    /// The name it was opened by, under which failures are noted.
    name: PathBuf,
    position: u64,
    window: Vec<u8>,
    window_start: u64,
    /// The size of the next window fetched.
    ahead: usize,
}

impl RangeReader {
    pub fn new(source: Arc<dyn RangeSource>, name: &Path) -> RangeReader {
        RangeReader { source, name: name.to_path_buf(), position: 0, window: Vec::new(), window_start: 0, ahead: READ_AHEAD }
    }
}

impl Read for RangeReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let len = self.source.len();
        if self.position >= len || buf.is_empty() {
            return Ok(0);
        }
        let in_window = self.position >= self.window_start && self.position < self.window_start + self.window.len() as u64;
        if !in_window {
            let sequential = !self.window.is_empty() && self.position == self.window_start + self.window.len() as u64;
            self.ahead = if sequential { (self.ahead * 2).min(MAX_READ_AHEAD) } else { READ_AHEAD };
            let want = (buf.len().max(self.ahead) as u64).min(len - self.position) as usize;
            self.window.resize(want, 0);
            let mut filled = 0;
            while filled < want {
                let read = self.source.read_at(self.position + filled as u64, &mut self.window[filled..]);
                note(&self.name, read.as_ref().map(|_| ()));
                let n = read?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            self.window.truncate(filled);
            self.window_start = self.position;
            if filled == 0 {
                return Ok(0);
            }
        }
        let from = (self.position - self.window_start) as usize;
        let n = buf.len().min(self.window.len() - from);
        buf[..n].copy_from_slice(&self.window[from..from + n]);
        self.position += n as u64;
        Ok(n)
    }
}

impl Seek for RangeReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let len = self.source.len() as i128;
        let target = match to {
            SeekFrom::Start(n) => n as i128,
            SeekFrom::End(d) => len + d as i128,
            SeekFrom::Current(d) => self.position as i128 + d as i128,
        };
        if target < 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start of the object"));
        }
        self.position = target as u64;
        Ok(self.position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    struct Bytes(Vec<u8>, AtomicU64);

    impl RangeSource for Bytes {
        fn len(&self) -> u64 {
            self.0.len() as u64
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
            self.1.fetch_add(1, Ordering::Relaxed);
            let start = (offset as usize).min(self.0.len());
            let n = buf.len().min(self.0.len() - start);
            buf[..n].copy_from_slice(&self.0[start..start + n]);
            Ok(n)
        }
    }

    #[test]
    fn reads_and_seeks_like_a_file_with_few_requests() {
        let data: Vec<u8> = (0..(3 * READ_AHEAD + 10)).map(|i| (i % 253) as u8).collect();
        // Small reads, as a demuxer makes them: windows of 1, 2 then 4 MiB cover 3 MiB.
        let mut small = RangeReader::new(Arc::new(Bytes(data.clone(), AtomicU64::new(0))), Path::new("mem"));
        let mut chunk = [0u8; 4096];
        let mut seen = Vec::new();
        loop {
            let n = small.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(seen, data);
        assert_eq!(small.window.len(), data.len() - 3 * READ_AHEAD, "the last window holds the rest");
        let source = Arc::new(Bytes(data.clone(), AtomicU64::new(0)));
        let mut r = RangeReader::new(source.clone(), Path::new("mem"));
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all, data);
        assert!(source.1.load(Ordering::Relaxed) <= 4, "one request per window at most");
        r.seek(SeekFrom::Start(READ_AHEAD as u64 + 5)).unwrap();
        let mut four = [0u8; 4];
        r.read_exact(&mut four).unwrap();
        assert_eq!(&four[..], &data[READ_AHEAD + 5..READ_AHEAD + 9]);
        assert_eq!(r.seek(SeekFrom::End(-2)).unwrap(), data.len() as u64 - 2);
        assert!(r.seek(SeekFrom::Current(-(data.len() as i64))).is_err());
        register("s3://test/object#1", source.clone());
        assert!(super::source(Path::new("s3://test/object#1")).is_some());
        assert!(super::source(Path::new("/not/registered")).is_none());
    }
}
