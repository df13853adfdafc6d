//! [`MediaRoot`]: the directory `open-in-media-root` serves (seed 001's frame server), and
//! the path policy that keeps a request inside it.

use std::path::{Component, Path, PathBuf};

/// A directory a route may read videos from by relative path.
#[derive(Debug, Clone)]
pub struct MediaRoot {
    root: Option<PathBuf>,
}

impl MediaRoot {
    /// `root`: the configured directory, if any (resolved once; a missing one serves nothing).
    pub fn new(root: Option<&Path>) -> MediaRoot {
        MediaRoot { root: root.and_then(|r| std::fs::canonicalize(r).ok()) }
    }

    /// Resolves a path relative to the media root, refusing anything that leaves it:
    /// absolute paths, `..`, and symlinks pointing outside. Blocks (stats the file).
    pub fn resolve(&self, relative: &str) -> Result<PathBuf, MediaRootError> {
        let root = self.root.as_ref().ok_or(MediaRootError::NoRoot)?;
        let rel = Path::new(relative);
        let plain = !relative.is_empty()
            && !relative.contains('\0')
            && !relative.contains('\\')
            && rel.components().all(|c| matches!(c, Component::Normal(_)));
        if !plain {
            return Err(MediaRootError::Invalid(relative.to_string()));
        }
        let joined = root.join(rel);
        let real = std::fs::canonicalize(&joined).map_err(|_| MediaRootError::NotFound(relative.to_string()))?;
        if !real.starts_with(root) {
            return Err(MediaRootError::Invalid(relative.to_string()));
        }
        if !real.is_file() {
            return Err(MediaRootError::NotFound(relative.to_string()));
        }
        Ok(real)
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MediaRootError {
    #[error("this server has no media root configured")]
    NoRoot,
    #[error("'{0}' is not a plain relative path inside the media root")]
    Invalid(String),
    #[error("no file '{0}' in the media root")]
    NotFound(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_root_refuses_path_tricks() {
        let dir = std::env::temp_dir().join(format!("frameflow-root-{}", std::process::id()));
        let outside = std::env::temp_dir().join(format!("frameflow-outside-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a.mp4"), b"x").unwrap();
        std::fs::write(&outside, b"secret").unwrap();
        let _ = std::fs::remove_file(dir.join("escape"));
        std::os::unix::fs::symlink(&outside, dir.join("escape")).unwrap();
        let root = MediaRoot::new(Some(&dir));
        assert!(root.resolve("sub/a.mp4").is_ok());
        for bad in ["../x", "sub/../../x", "/etc/passwd", "", "sub/./a.mp4/..", "a\\b"] {
            assert!(matches!(root.resolve(bad), Err(MediaRootError::Invalid(_))), "{bad:?}");
        }
        assert_eq!(root.resolve("escape"), Err(MediaRootError::Invalid("escape".into())));
        assert_eq!(root.resolve("nope.mp4"), Err(MediaRootError::NotFound("nope.mp4".into())));
        assert_eq!(MediaRoot::new(None).resolve("a"), Err(MediaRootError::NoRoot));
        std::fs::remove_dir_all(dir).unwrap();
        std::fs::remove_file(outside).unwrap();
    }
}
