//! Videos read through a registered [`RangeSource`] (as object stores serve them) decode to
//! exactly the frames of the same file, and random access reads a fraction of the bytes.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use frameflow_media::remote::{register, RangeSource};
use frameflow_media::{RenderOptions, Video};
use frameflow_testkit::pattern::{decode_pattern, pattern_videos};

/// A file served by ranged reads, counting the bytes read.
struct CountingFile {
    bytes: Vec<u8>,
    read: AtomicU64,
}

impl RangeSource for CountingFile {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let start = (offset as usize).min(self.bytes.len());
        let n = buf.len().min(self.bytes.len() - start);
        buf[..n].copy_from_slice(&self.bytes[start..start + n]);
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[test]
fn registered_objects_decode_exactly_like_their_files() {
    for pv in pattern_videos() {
        let source = Arc::new(CountingFile { bytes: std::fs::read(&pv.path).unwrap(), read: AtomicU64::new(0) });
        let name = format!("s3://test-bucket/{}#v1", pv.path.file_name().unwrap().to_string_lossy());
        register(name.clone(), source.clone());
        let mut remote = Video::open(Path::new(&name)).unwrap_or_else(|e| panic!("{}: {e}", pv.traits));
        let mut file = Video::open(&pv.path).unwrap();
        assert_eq!(remote.info().frame_count, file.info().frame_count, "{}", pv.traits);
        assert!(remote.index().to_json() == file.index().to_json(), "{}: the same packet index", pv.traits);
        let options = RenderOptions::default();
        for i in [0, pv.frames as usize / 2, pv.frames as usize - 1, 3] {
            let a = remote.frame(i, &options).unwrap();
            let b = file.frame(i, &options).unwrap();
            assert_eq!(a.image.data, b.image.data, "{}: frame {i}", pv.traits);
            assert_eq!(decode_pattern(&a.image.data, a.image.width, a.image.height), i as u32);
        }
    }
}

/// A store that fails part-way through an object.
struct FailsAfter {
    bytes: Vec<u8>,
    limit: u64,
}

impl RangeSource for FailsAfter {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        if offset + buf.len() as u64 > self.limit {
            return Err(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "the store went away"));
        }
        let start = offset as usize;
        let n = buf.len().min(self.bytes.len() - start);
        buf[..n].copy_from_slice(&self.bytes[start..start + n]);
        Ok(n)
    }
}

#[test]
fn a_store_failing_mid_decode_is_the_stores_fault_not_the_videos() {
    let pv = pattern_videos().into_iter().find(|v| v.path.extension().is_some_and(|e| e == "mp4")).unwrap();
    let bytes = std::fs::read(&pv.path).unwrap();
    let index = Arc::new(Video::open(&pv.path).unwrap().index().clone());
    let name = format!("s3://test-bucket/failing-{}#v1", std::process::id());
    let half = bytes.len() as u64 / 2;
    register(name.clone(), Arc::new(FailsAfter { bytes, limit: half }));
    let opened = Video::open_with(Path::new(&name), frameflow_media::OpenOptions { index: Some(index), ..Default::default() });
    let err = match opened {
        Err(e) => e,
        Ok(mut v) => v.frame(pv.frames as usize - 1, &RenderOptions::default()).expect_err("the end of the object cannot be read"),
    };
    assert!(matches!(err, frameflow_media::MediaError::SourceUnavailable { .. }), "{err}");
    assert!(err.to_string().contains("the store went away"), "{err}");
}
