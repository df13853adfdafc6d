//! Reference pixels: the FFmpeg CLI on this machine, and torchcodec's `.pt` tensors.

use std::io::Read;
use std::path::Path;
use std::process::Command;

/// `ffmpeg -i V [-map 0:S] -vf "select=eq(n\,N),format=rgb24[,extra]" -f rawvideo -`: the
/// exact frame the product promises to match.
pub fn ffmpeg_rgb24(video: &Path, stream: Option<usize>, index: usize, extra_filters: &str) -> Vec<u8> {
    let mut filter = format!("select=eq(n\\,{index}),format=rgb24");
    if !extra_filters.is_empty() {
        filter.push(',');
        filter.push_str(extra_filters);
    }
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-i"]).arg(video);
    if let Some(s) = stream {
        cmd.args(["-map", &format!("0:{s}")]);
    }
    cmd.args(["-vf", &filter, "-fps_mode", "passthrough", "-frames:v", "1", "-f", "rawvideo", "-"]);
    let out = cmd.output().expect("run ffmpeg CLI");
    assert!(out.status.success(), "ffmpeg failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// The raw tensor bytes of a torch `.pt` file (an uncompressed zip whose `*/data/0` member
/// holds the HWC bytes; see the corpus MANIFEST).
pub fn read_pt_tensor(path: &Path) -> Vec<u8> {
    let file = std::fs::File::open(path).expect("open .pt");
    let mut zip = zip::ZipArchive::new(file).expect(".pt is a zip");
    let name = (0..zip.len())
        .map(|i| zip.by_index(i).expect("zip entry").name().to_string())
        .find(|n| n.ends_with("/data/0"))
        .expect("tensor data member");
    let mut data = Vec::new();
    zip.by_name(&name).expect("data member").read_to_end(&mut data).expect("read tensor");
    data
}
