//! Component path vs in-process: the same random frames (decode + JPEG encode), once through
//! the frames component (`HttpComponent::handle`, no TCP) and once by calling the media
//! core directly, interleaved so both see the same machine state. Also reports the
//! component instantiation time per request (from the `Server-Timing` header).
//!
//! `cargo run --release -p frameflow-server --example bench_component -- VIDEO FRAMES_WASM [N]`

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use frameflow_media::{ImageFormat, RenderOptions};
use frameflow_runtime::{Runtime, RuntimeConfig, VideoPool};
use frameflow_store::{ObjectStorage, WriteMode};
use http_body_util::{BodyExt, Empty};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (video, wasm) = (&args[1], &args[2]);
    let n: usize = args.get(3).map(|s| s.parse().unwrap()).unwrap_or(50);
    let dir = std::env::temp_dir().join(format!("frameflow-bench-component-{}", std::process::id()));
    let storage = Arc::new(ObjectStorage::open(&format!("file://{}", dir.join("store").display()), &dir.join("dl"))?);
    let tenant = storage.tenant("bench")?;
    tenant.put("v/clip.mp4", std::fs::read(video)?.into(), WriteMode::Overwrite).await?;
    let record = serde_json::json!({"id": "00000000000000aa", "key": "v/clip.mp4", "name": "clip.mp4", "size": 0, "uploaded": false});
    tenant.put("videos/00000000000000aa/video.json", serde_json::to_vec(&record)?.into(), WriteMode::Overwrite).await?;

    let pool = Arc::new(VideoPool::new(None));
    let runtime = Runtime::new(RuntimeConfig { cache_dir: dir.join("cache"), ..RuntimeConfig::default() }, pool.clone())?;
    let component = runtime.load_http_component("frames", std::path::Path::new(wasm))?;
    // In-process: its own pool, so neither path reuses the other's decoder.
    let direct_pool = VideoPool::new(None);
    let local = tenant.local_path("v/clip.mp4").await?;
    let (direct, _) = direct_pool.open(&local, None)?;
    let count = direct.index().len();

    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut indices = Vec::new();
    for _ in 0..n {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        indices.push((seed % count as u64) as usize);
    }

    let call = |index: usize| {
        let req = hyper::Request::get(format!("http://localhost/v1/videos/00000000000000aa/frame?index={index}"))
            .body(Empty::<Bytes>::new().map_err(|e| -> wasmtime_wasi_http::Error { match e {} }))
            .unwrap();
        let tenant = tenant.clone();
        let component = &component;
        async move {
            let response = component.handle(tenant, req).await?;
            let timing = response.headers().get("server-timing").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let instantiate_ms: f64 = timing.split("dur=").nth(1).and_then(|d| d.parse().ok()).unwrap_or(f64::NAN);
            let body = response.into_body().collect().await.map_err(|e| anyhow::anyhow!("{e:?}"))?.to_bytes();
            anyhow::Ok((body, instantiate_ms))
        }
    };
    // Warm both paths (open, index, compile) before timing.
    call(0).await?;
    direct.with_video(None, |v| v.frame(0, &RenderOptions::default()))?;

    let (mut via_component, mut in_process, mut instantiate) = (Vec::new(), Vec::new(), Vec::new());
    for &index in &indices {
        let t = Instant::now();
        let (body, inst) = call(index).await?;
        via_component.push(t.elapsed().as_secs_f64() * 1e3);
        instantiate.push(inst);

        let t = Instant::now();
        let direct = direct.clone();
        let jpeg = tokio::task::spawn_blocking(move || {
            direct.with_video(None, |v| v.frame(index, &RenderOptions::default()))?.encode(ImageFormat::Jpeg, 90)
        })
        .await??;
        in_process.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(body.len(), jpeg.len(), "frame {index}: both paths encode the same JPEG");
        assert!(body[..] == jpeg[..], "frame {index}: JPEG bytes differ");
    }
    let total_c: f64 = via_component.iter().sum();
    let total_d: f64 = in_process.iter().sum();
    println!("video {video}: {count} frames, {n} random frames, JPEG q90, identical bytes on both paths");
    println!("component path: median {:.2} ms  p90 {:.2} ms  total {:.0} ms", median(&mut via_component), percentile(&mut via_component, 0.9), total_c);
    println!("in-process:     median {:.2} ms  p90 {:.2} ms  total {:.0} ms", median(&mut in_process), percentile(&mut in_process, 0.9), total_d);
    println!("ratio component/in-process (total): {:.3}", total_c / total_d);
    println!("instantiation per request: median {:.3} ms  p90 {:.3} ms", median(&mut instantiate), percentile(&mut instantiate, 0.9));
    std::fs::remove_dir_all(dir).ok();
    Ok(())
}
