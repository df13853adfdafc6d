//! Memory held by the media core over many decodes. Its own test binary: resident memory is
//! a property of the whole process, so no other test may run beside it.

use frameflow_media::{RenderOptions, Video};
use rand::{Rng, SeedableRng};

/// Resident set size of this process, bytes (Linux `/proc/self/statm`).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("statm resident field");
    pages * 4096
}

/// Thousands of random frames of a file with an audio track: every seek reads audio
/// packets too, and each must be released. Before the fix this grew ~50 KB a frame
/// (~100 MB over this loop); after warm-up the process must stay flat.
#[test]
fn random_frames_of_a_file_with_audio_hold_no_memory() {
    let path = frameflow_testkit::pattern::video_with_audio();
    let mut video = Video::open(&path).expect("open generated video");
    let count = video.frame_count();
    assert!(count >= 400, "expected a 20 s video, got {count} frames");
    let options = RenderOptions::default();
    let mut rng = rand::rngs::StdRng::seed_from_u64(22);
    let mut decode = |n: usize| {
        for _ in 0..n {
            let i = rng.gen_range(0..count);
            let frame = video.frame(i, &options).expect("decode frame");
            assert_eq!(frame.id.index, i);
        }
    };
    decode(300);
    let warm = rss_bytes();
    decode(2000);
    let after = rss_bytes();
    let grown = after.saturating_sub(warm);
    eprintln!("rss after warm-up {} MiB, after 2000 more random frames {} MiB", warm >> 20, after >> 20);
    assert!(grown < 16 << 20, "resident memory grew by {} MiB over 2000 random frames (a leak)", grown >> 20);
}
