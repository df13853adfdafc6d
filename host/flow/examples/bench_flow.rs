//! Benchmark: optical-flow frame pairs per second for each algorithm on two greyscale
//! images, the same OpenCV calls `scripts/bench_flow.py` makes through opencv-python.
//! Prints one JSON line per algorithm.
//!
//! `cargo run --release -p frameflow-flow --example bench_flow -- A.png B.png [SECONDS]`

use std::time::{Duration, Instant};

use frameflow_flow::{Algorithm, FlowEngine, GrayImage};

fn main() {
    let mut args = std::env::args().skip(1);
    let a = args.next().expect("usage: bench_flow A B [SECONDS]");
    let b = args.next().expect("usage: bench_flow A B [SECONDS]");
    let budget = Duration::from_secs_f64(args.next().map(|s| s.parse().expect("SECONDS")).unwrap_or(3.0));
    let prev = GrayImage::read(a.as_ref()).expect("read A");
    let next = GrayImage::read(b.as_ref()).expect("read B");
    for algorithm in Algorithm::ALL {
        let engine = FlowEngine::new(algorithm);
        engine.compute(&prev, &next).expect("warm-up");
        let start = Instant::now();
        let mut pairs = 0u32;
        while start.elapsed() < budget || pairs < 3 {
            engine.compute(&prev, &next).expect("flow");
            pairs += 1;
        }
        let rate = pairs as f64 / start.elapsed().as_secs_f64();
        println!(
            "{{\"tool\":\"frameflow\",\"algorithm\":\"{}\",\"size\":\"{}x{}\",\"pairs_per_s\":{rate:.2},\"pairs\":{pairs}}}",
            algorithm.name(),
            prev.width,
            prev.height
        );
    }
}
