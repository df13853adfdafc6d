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
