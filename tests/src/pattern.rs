//! Generated test videos whose every frame shows its own index.
//!
//! A frame is a 4x4 grid of blocks: blocks 0..12 hold the 12 bits of the index (white = 1),
//! blocks 12..16 a fixed white/black/white/black check. Blocks are 80x60 pixels at 320x240,
//! far bigger than any codec's transform, so the pattern survives lossy compression.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const WIDTH: u32 = 320;
pub const HEIGHT: u32 = 240;
const GRID: u32 = 4;
const BITS: u32 = 12;

/// RGB24 pixels of pattern frame `index`.
pub fn pattern_frame(index: u32) -> Vec<u8> {
    let (bw, bh) = (WIDTH / GRID, HEIGHT / GRID);
    let mut data = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let block = (y / bh) * GRID + x / bw;
            let on = if block < BITS { index >> block & 1 == 1 } else { block % 2 == 0 };
            let v = if on { 230 } else { 20 };
            let o = ((y * WIDTH + x) * 3) as usize;
            data[o..o + 3].copy_from_slice(&[v, v, v]);
        }
    }
    data
}

/// Reads the index back from RGB24 pixels of any size (the grid scales with the frame).
/// Panics if the check blocks are wrong, i.e. the picture is not a pattern frame.
pub fn decode_pattern(rgb: &[u8], width: u32, height: u32) -> u32 {
    assert_eq!(rgb.len(), (width * height * 3) as usize, "rgb24 buffer size");
    let (bw, bh) = (width / GRID, height / GRID);
    let bit = |block: u32| -> bool {
        let (bx, by) = ((block % GRID) * bw, (block / GRID) * bh);
        let mut sum = 0u64;
        let mut n = 0u64;
        for y in by + bh / 4..by + 3 * bh / 4 {
            for x in bx + bw / 4..bx + 3 * bw / 4 {
                let o = ((y * width + x) * 3) as usize;
                sum += rgb[o] as u64 + rgb[o + 1] as u64 + rgb[o + 2] as u64;
                n += 3;
            }
        }
        sum / n.max(1) > 125
    };
    for block in BITS..GRID * GRID {
        assert_eq!(bit(block), block % 2 == 0, "check block {block} wrong: not a pattern frame");
    }
    (0..BITS).filter(|&b| bit(b)).map(|b| 1 << b).sum()
}

/// A generated pattern video and what it was made to be.
#[derive(Debug, Clone)]
pub struct PatternVideo {
    pub path: PathBuf,
    pub frames: u32,
    /// What the file exercises, for assertion messages.
    pub traits: &'static str,
    pub variable_frame_rate: bool,
    /// Seconds the first frame starts at (non-zero start).
    pub start_seconds: f64,
}

struct Spec {
    name: &'static str,
    frames: u32,
    traits: &'static str,
    args: &'static [&'static str],
    vfr: bool,
    start: f64,
}

const SPECS: &[Spec] = &[
    Spec {
        name: "h264_bframes_gop250.mp4",
        frames: 300,
        traits: "H.264 with B-frames, GOP 250, mp4",
        args: &["-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", "250", "-keyint_min", "250", "-sc_threshold", "0", "-pix_fmt", "yuv420p"],
        vfr: false,
        start: 0.0,
    },
    Spec {
        name: "h264_vfr.mkv",
        frames: 120,
        traits: "H.264 with B-frames, variable frame rate, mkv",
        args: &["-vf", "settb=1/1000,setpts=(N*40+mod(N*N\\,7)*9)/1000/TB", "-fps_mode", "passthrough", "-enc_time_base", "1/1000", "-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "50", "-pix_fmt", "yuv420p"],
        vfr: true,
        start: 0.0,
    },
    Spec {
        name: "h264_nonzero_start.ts",
        frames: 150,
        traits: "H.264 with B-frames in MPEG-TS, non-zero start",
        args: &["-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", "60", "-pix_fmt", "yuv420p", "-output_ts_offset", "10"],
        vfr: false,
        start: 10.0,
    },
    Spec {
        name: "vp8.webm",
        frames: 90,
        traits: "VP8 in WebM (altref frames)",
        args: &["-c:v", "libvpx", "-b:v", "1M", "-g", "40", "-auto-alt-ref", "1", "-lag-in-frames", "16"],
        vfr: false,
        start: 0.0,
    },
];

/// Every pattern video, generated once per target dir (atomically, so concurrent test
/// processes never see half a file).
pub fn pattern_videos() -> Vec<PatternVideo> {
    static GENERATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = GENERATING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = crate::scratch_dir("pattern-videos-v3");
    SPECS
        .iter()
        .map(|spec| {
            let path = dir.join(spec.name);
            if !path.exists() {
                generate(spec, &path);
            }
            PatternVideo {
                path,
                frames: spec.frames,
                traits: spec.traits,
                variable_frame_rate: spec.vfr,
                start_seconds: spec.start,
            }
        })
        .collect()
}

/// A 20 s 640×360 H.264 (B-frames, GOP 50) MP4 with an AAC audio track, as most real videos
/// have: packets of other streams are read (and must be released) on every decode.
pub fn video_with_audio() -> PathBuf {
    static GENERATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = GENERATING.lock().unwrap_or_else(|e| e.into_inner());
    let path = crate::scratch_dir("generated-v1").join("h264_aac_640x360.mp4");
    if !path.exists() {
        let tmp = path.with_extension(format!("tmp{}.mp4", std::process::id()));
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=20", "-f", "lavfi", "-i"])
            .args(["sine=frequency=440:sample_rate=48000:d=20", "-c:v", "libx264", "-preset", "veryfast", "-g", "50"])
            .args(["-bf", "2", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"])
            .arg(&tmp)
            .status()
            .expect("ffmpeg CLI must be installed (make test installs it)");
        assert!(status.success(), "generating a video with audio");
        std::fs::rename(&tmp, &path).expect("publish generated video");
    }
    path
}

/// The pattern video with this file name.
pub fn pattern_video(name: &str) -> PatternVideo {
    pattern_videos().into_iter().find(|v| v.path.file_name().unwrap() == name).expect("known pattern video")
}

fn generate(spec: &Spec, path: &Path) {
    let tmp = path.with_extension(format!("tmp{}.{}", std::process::id(), path.extension().unwrap().to_string_lossy()));
    let mut child = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", &format!("{WIDTH}x{HEIGHT}"), "-r", "25", "-i", "-"])
        .args(spec.args)
        .arg(&tmp)
        .stdin(Stdio::piped())
        .spawn()
        .expect("ffmpeg CLI must be installed (make test installs it)");
    {
        let mut stdin = child.stdin.take().unwrap();
        for i in 0..spec.frames {
            stdin.write_all(&pattern_frame(i)).expect("feed ffmpeg");
        }
    }
    assert!(child.wait().expect("ffmpeg").success(), "generating {}", spec.name);
    std::fs::rename(&tmp, path).expect("publish generated video");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_round_trips_without_compression() {
        for i in [0, 1, 2, 255, 1000, 4095] {
            assert_eq!(decode_pattern(&pattern_frame(i), WIDTH, HEIGHT), i);
        }
    }
}
