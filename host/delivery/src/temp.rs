//! [`TempFile`]: a scratch file for outputs whose muxer must seek back (an MP4's index), or
//! that are stored after they are written; removed when dropped, however the work ends.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A file in the system's temporary directory with a name no other process or call uses.
pub struct TempFile(PathBuf);

impl TempFile {
    /// A new name ending in `.{extension}` (the muxer reads nothing from it: created on write).
    pub fn new(extension: &str) -> TempFile {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        TempFile(std::env::temp_dir().join(format!("frameflow-{}-{n}.{extension}", std::process::id())))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Copies the file's bytes into `sink`, a buffer at a time.
    pub fn copy_to(&self, mut sink: impl Write) -> std::io::Result<u64> {
        let mut file = std::fs::File::open(&self.0)?;
        let copied = std::io::copy(&mut file, &mut sink)?;
        sink.flush()?;
        Ok(copied)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
