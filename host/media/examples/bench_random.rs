//! Benchmark: 10 random frames (exact, RGB24) per call from one video, as a user of
//! torchcodec's `get_frames_at` would ask for them. Prints one JSON line:
//! the first call (open + packet index + decode) and the median/p90 of repeated calls on
//! the same open video (decoder reused), each with new random indices.
//!
//! `cargo run --release -p frameflow-media --example bench_random -- VIDEO [CALLS] [FRAMES]`

use std::time::Instant;

use frameflow_media::{RenderOptions, Video};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: bench_random VIDEO [CALLS] [FRAMES]");
    let calls: usize = args.next().map(|s| s.parse().expect("CALLS")).unwrap_or(20);
    let per_call: usize = args.next().map(|s| s.parse().expect("FRAMES")).unwrap_or(10);
    let mut seed: u64 = 0x9E3779B97F4A7C15;
    let mut pick = |n: usize| -> Vec<usize> {
        (0..per_call)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed % n as u64) as usize
            })
            .collect()
    };
    let opts = RenderOptions::default();

    let t0 = Instant::now();
    let mut video = Video::open(&path).expect("open video");
    let opened = t0.elapsed();
    let n = video.frame_count();
    let first = video.frames(&pick(n), &opts).expect("decode");
    assert_eq!(first.len(), per_call);
    let first_call = t0.elapsed();

    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        let wanted = pick(n);
        let t = Instant::now();
        let frames = video.frames(&wanted, &opts).expect("decode");
        times.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(frames.len(), per_call);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let p90 = times[(times.len() * 9 / 10).min(times.len() - 1)];
    println!(
        "{{\"video\":{:?},\"frames\":{n},\"per_call\":{per_call},\"open_and_index_ms\":{:.1},\"first_call_ms\":{:.1},\"repeated_median_ms\":{median:.1},\"repeated_p90_ms\":{p90:.1},\"calls\":{calls}}}",
        path,
        opened.as_secs_f64() * 1e3,
        first_call.as_secs_f64() * 1e3,
    );
}
