//! The shared media corpus (real videos, reference frames, optical-flow ground truth).
//! One setting finds it: `FRAMEFLOW_MEDIA`, default `../shared/media` beside the repo.
//! Tests that need it call [`corpus_dir`] and skip, saying so, when it is absent.

use std::path::PathBuf;

pub const CORPUS_ENV: &str = "FRAMEFLOW_MEDIA";

/// The corpus directory, or `None` (after printing why the caller skips) when absent.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os(CORPUS_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("..").join("shared").join("media"));
    if dir.join("videos").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: media corpus not found at {} (set {CORPUS_ENV} to the folder holding videos/ and reference_frames/)",
            dir.display()
        );
        None
    }
}

/// One row of `reference_frames/ffmpeg5.1_derived/*.frames.csv`.
#[derive(Debug, Clone)]
pub struct ReferenceFrame {
    pub n: usize,
    pub key_frame: bool,
    /// `None` where ffprobe printed N/A.
    pub pts: Option<i64>,
    pub md5_raw_planes: String,
}

/// A video of the corpus with its per-frame reference rows.
#[derive(Debug, Clone)]
pub struct ReferenceStream {
    pub video: PathBuf,
    /// Absolute stream index when the CSV names one (`.streamN`), else the default stream.
    pub stream: Option<usize>,
    pub frames: Vec<ReferenceFrame>,
    pub csv_name: String,
}

/// Every `*.frames.csv` with its video.
pub fn reference_streams(corpus: &std::path::Path) -> Vec<ReferenceStream> {
    let dir = corpus.join("reference_frames").join("ffmpeg5.1_derived");
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir).expect("reference dir").flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(base) = name.strip_suffix(".frames.csv") else { continue };
        let (video, stream) = match base.rsplit_once(".stream") {
            Some((v, s)) if s.parse::<usize>().is_ok() => (v.to_string(), Some(s.parse().unwrap())),
            _ => (base.to_string(), None),
        };
        let text = std::fs::read_to_string(entry.path()).expect("read csv");
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().expect("csv header").split(',').collect();
        let col = |n: &str| header.iter().position(|h| *h == n).unwrap_or_else(|| panic!("column {n} in {name}"));
        let (cn, ck, cp, cm) = (col("n"), col("key_frame"), col("pts"), col("md5_raw_planes"));
        let frames = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                ReferenceFrame {
                    n: f[cn].parse().expect("n"),
                    key_frame: f[ck] == "1",
                    pts: f[cp].parse().ok(),
                    md5_raw_planes: f[cm].to_string(),
                }
            })
            .collect();
        out.push(ReferenceStream { video: corpus.join("videos").join(video), stream, frames, csv_name: name });
    }
    out
}
