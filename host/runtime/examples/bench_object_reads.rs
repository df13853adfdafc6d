//! Reading a large video from the S3 store by ranges vs from the file store: bytes fetched
//! and time for probe + index, one middle frame (with the cached index, as a second request
//! finds it), and a 10-frame random batch. The S3 server is the test kit's (moto on loopback).
//!
//! `cargo run --release -p frameflow-runtime --example bench_object_reads -- VIDEO`

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use frameflow_media::{FrameIndex, OpenOptions, RenderOptions, Video};
use frameflow_runtime::object_media::{register, BYTES_FETCHED};
use frameflow_store::ObjectStorage;

fn fetched() -> u64 {
    BYTES_FETCHED.load(Ordering::Relaxed)
}

fn main() -> anyhow::Result<()> {
    let video = std::env::args().nth(1).expect("usage: bench_object_reads VIDEO");
    let size = std::fs::metadata(&video)?.len();
    let server = frameflow_testkit::s3::server().ok_or_else(|| anyhow::anyhow!("no S3 server (run scripts/setup.sh)"))?;
    let bucket = server.bucket("bench-reads");
    let env = server.env();
    let settings: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let scratch = frameflow_testkit::scratch_dir("bench-object-reads");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let s3 = Arc::new(ObjectStorage::open_with(&format!("s3://{bucket}/bench"), &scratch.join("dl"), &settings)?).tenant("default")?;
    let t = Instant::now();
    rt.block_on(async {
        let mut up = s3.upload("videos-in/big.mp4", u64::MAX)?;
        let bytes = std::fs::read(&video)?;
        for chunk in bytes.chunks(8 << 20) {
            up.write(chunk).await?;
        }
        up.finish().await?;
        anyhow::Ok(())
    })?;
    println!("uploaded {} MB to the loopback S3 server in {:.1} s", size / 1_000_000, t.elapsed().as_secs_f64());
    let name = rt.block_on(register(&s3, "videos-in/big.mp4"))?;

    // The media core runs on blocking threads in the server; here, on this thread, with the
    // tokio runtime entered for the ranged reads.
    let _guard = rt.enter();
    let run = |label: &str, path: &std::path::Path, count_bytes: bool| -> anyhow::Result<()> {
        let measure = |what: &str, f: &mut dyn FnMut() -> anyhow::Result<()>| -> anyhow::Result<()> {
            let before = fetched();
            let t = Instant::now();
            f()?;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            let bytes = fetched() - before;
            if count_bytes {
                println!("| {label} | {what} | {ms:.0} ms | {:.1} MB ({:.2}% of the object) |", bytes as f64 / 1e6, 100.0 * bytes as f64 / size as f64);
            } else {
                println!("| {label} | {what} | {ms:.0} ms | (local file) |");
            }
            Ok(())
        };
        let mut index_json = String::new();
        let mut frames = 0usize;
        measure("probe + index (packet scan)", &mut || {
            let v = Video::open(path)?;
            frames = v.index().len();
            index_json = v.index().to_json();
            Ok(())
        })?;
        let index = Arc::new(FrameIndex::from_json(&index_json)?);
        let options = || OpenOptions { index: Some(index.clone()), ..OpenOptions::default() };
        measure("one middle frame (cached index)", &mut || {
            let mut v = Video::open_with(path, options())?;
            v.frame(frames / 2, &RenderOptions::default())?;
            Ok(())
        })?;
        measure("10 random frames, one batch (cached index)", &mut || {
            let mut v = Video::open_with(path, options())?;
            let mut seed = 0x9e3779b97f4a7c15u64;
            let picks: Vec<usize> = (0..10)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed % frames as u64) as usize
                })
                .collect();
            v.frames(&picks, &RenderOptions::default())?;
            Ok(())
        })?;
        Ok(())
    };
    println!("| store | operation | time | fetched |");
    println!("|---|---|---:|---:|");
    run("S3 (ranged GETs)", &name, true)?;
    run("file", std::path::Path::new(&video), false)?;
    Ok(())
}
