//! The isolation boundary in process: real components (built by `frameflow-test-components`)
//! run through [`HttpComponent`] and the [`SamplerRegistry`] with small limits, and every way
//! a guest can misbehave — a loop, a trap, a memory hoard, a request over its budget, a
//! sampler reaching for a clock — ends as the typed failure the server maps to HTTP, with
//! the runtime still serving afterwards.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use frameflow_runtime::sampler_types::VideoInfo;
use frameflow_runtime::{GuestError, HandlerOutcome, HttpComponent, Runtime, RuntimeConfig, SandboxLimits, VideoPool};
use frameflow_store::{ObjectStorage, TenantStore};
use frameflow_testkit::pattern::{decode_pattern, pattern_video};
use http_body_util::{BodyExt, Empty};

fn scratch(name: &str) -> std::path::PathBuf {
    frameflow_testkit::scratch_dir(&format!("runtime-tests/{name}"))
}

fn runtime(limits: SandboxLimits, media_root: Option<&Path>) -> Runtime {
    let config = RuntimeConfig {
        cache_dir: frameflow_testkit::scratch_dir("component-cache"),
        limits,
        max_instances: 4,
        media_root: media_root.map(Path::to_path_buf),
        ..RuntimeConfig::default()
    };
    Runtime::new(config, Arc::new(VideoPool::new(None))).expect("runtime starts")
}

fn tenant(name: &str) -> TenantStore {
    let dir = scratch(name);
    let storage = Arc::new(ObjectStorage::open(&format!("file://{}", dir.join("store").display()), &dir.join("downloads")).expect("store opens"));
    storage.tenant("default").expect("tenant")
}

async fn get(component: &HttpComponent, tenant: &TenantStore, path: &str) -> HandlerOutcome {
    let body = Empty::<Bytes>::new().map_err(|never| -> wasmtime_wasi_http::Error { match never {} });
    let req = hyper::Request::get(format!("http://localhost{path}")).body(body).expect("request");
    component.handle(tenant.clone(), req).await
}

async fn body_of(outcome: HandlerOutcome) -> (u16, Vec<u8>) {
    let response = outcome.expect("the component answered");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.expect("the body streams").to_bytes().to_vec();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loops_traps_and_hoards_end_as_typed_failures_and_the_next_request_is_served() {
    let limits = SandboxLimits { deadline: Duration::from_millis(1500), memory_bytes: 64 << 20, ..SandboxLimits::default() };
    let runtime = runtime(limits, None);
    let hostile = runtime.load_http_component("hostile", &frameflow_test_components::hostile_handler()).expect("loads");
    assert!(hostile.job_worker().is_none(), "a plain wasi:http component runs no jobs");
    let tenant = tenant("hostile");

    assert_eq!(body_of(get(&hostile, &tenant, "/ok").await).await, (200, b"ok".to_vec()));

    let started = Instant::now();
    let looped = get(&hostile, &tenant, "/loop").await.expect_err("a loop never answers");
    assert!(matches!(looped, GuestError::Timeout { deadline, .. } if deadline == Duration::from_millis(1500)), "{looped}");
    assert!(started.elapsed() < Duration::from_secs(5), "stopped at its deadline, not later: {:?}", started.elapsed());

    let trapped = get(&hostile, &tenant, "/trap").await.expect_err("a trap never answers");
    assert!(matches!(trapped, GuestError::Trap { .. }), "{trapped}");

    let hoarded = get(&hostile, &tenant, "/alloc").await.expect_err("a hoard runs out of memory");
    assert!(matches!(hoarded, GuestError::OutOfMemory { limit, .. } if limit == 64 << 20), "{hoarded}");

    assert_eq!(body_of(get(&hostile, &tenant, "/ok").await).await, (200, b"ok".to_vec()), "the runtime still serves");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_its_budget_is_refused_before_any_decoding() {
    let video = pattern_video("vp8.webm");
    let root = video.path.parent().expect("pattern videos live in a directory");
    let tenant = tenant("budget");

    // Within the budget: the frame asked for, decoded by the host.
    let roomy = runtime(SandboxLimits::default(), Some(root));
    let frames = roomy.load_http_component("frames", &frameflow_test_components::frames()).expect("loads");
    let (status, png_bytes) = body_of(get(&frames, &tenant, "/frame/vp8.webm?index=7&format=png").await).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&png_bytes));
    let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes)).read_info().expect("a PNG");
    let mut rgb = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut rgb).expect("PNG pixels");
    assert_eq!(decode_pattern(&rgb[..info.buffer_size()], info.width, info.height), 7, "frame 7 is the one served");

    // No frame fits the budget: refused (503, the request's share is used up), no decode.
    let strict = runtime(SandboxLimits { max_frames: 0, ..SandboxLimits::default() }, Some(root));
    let frames = strict.load_http_component("frames", &frameflow_test_components::frames()).expect("loads");
    let (status, body) = body_of(get(&frames, &tenant, "/frame/vp8.webm?index=7").await).await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("budget of 0 frames"), "{text}");

    // An output over the host's size limit: 413 before decoding.
    let small = runtime(SandboxLimits { max_output_side: 64, ..SandboxLimits::default() }, Some(root));
    let frames = small.load_http_component("frames", &frameflow_test_components::frames()).expect("loads");
    let (status, body) = body_of(get(&frames, &tenant, "/frame/vp8.webm?index=7&width=128").await).await;
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sampler_is_pure_and_bounded() {
    let runtime = runtime(SandboxLimits::default(), None);
    let samplers = runtime.samplers();
    samplers.add_builtin("hostile", &frameflow_test_components::hostile_sampler()).expect("loads");
    samplers.add_builtin("impure", &frameflow_test_components::impure_sampler()).expect("loads");
    samplers.add_builtin("uniform", &frameflow_test_components::sampler("uniform")).expect("loads");
    let info = VideoInfo {
        codec: "h264".into(),
        width: 64,
        height: 48,
        rotation: 0,
        time_base_num: 1,
        time_base_den: 25,
        avg_fps: 25.0,
        start_pts: 0,
        start_seconds: 0.0,
        duration_seconds: 4.0,
        frame_count: 100,
        keyframes: vec![0],
    };
    let plan = |params: &'static str| {
        let info = info.clone();
        async move { samplers.plan_builtin("hostile", &info, params, 1).await }
    };
    let clock = samplers.plan_builtin("impure", &info, "{}", 1).await.expect_err("reading a clock stops a sampler");
    assert!(clock.message.contains("may not use clocks"), "{}", clock.message);
    let hoard = plan(r#"{"mode": "alloc"}"#).await.expect_err("a hoard stops a sampler");
    assert!(hoard.message.contains("memory limit"), "{}", hoard.message);
    let looped = plan(r#"{"mode": "loop"}"#).await.expect_err("a loop stops a sampler");
    assert!(looped.message.contains("deadline"), "{}", looped.message);
    assert_eq!(plan("{}").await.expect("a well-behaved plan").len(), 1);

    let clips = samplers.plan_builtin("uniform", &info, r#"{"num_segments": 4, "modality": "rgb"}"#, 7).await.expect("uniform plans");
    assert_eq!(clips.len(), 4, "TSN segments: one clip each");
    let again = samplers.plan_builtin("uniform", &info, r#"{"num_segments": 4, "modality": "rgb"}"#, 7).await.expect("uniform plans");
    assert_eq!(format!("{clips:?}"), format!("{again:?}"), "the same inputs give the same plan");
}

#[test]
fn one_upload_check_for_every_kind_of_tenant_component() {
    use frameflow_runtime::{CheckError, ComponentKind};
    let runtime = runtime(SandboxLimits::default(), None);
    let read = |p: std::path::PathBuf| std::fs::read(p).unwrap();
    let (template, jobs, frames) = (read(frameflow_test_components::sampler_template()), read(frameflow_test_components::jobs()), read(frameflow_test_components::frames()));
    runtime.check_component(ComponentKind::Sampler, &template).expect("the template is a sampler");
    // The jobs component exports the events handler (its built-in ingest): a valid event handler.
    runtime.check_component(ComponentKind::EventHandler, &jobs).expect("jobs exports frameflow:events/handler");
    let wrong = |kind, wasm: &[u8]| match runtime.check_component(kind, wasm) {
        Err(CheckError::WrongWorld(why)) => why,
        other => panic!("{kind:?}: expected a wrong world, got {other:?}"),
    };
    assert!(wrong(ComponentKind::EventHandler, &template).contains("frameflow:events/handler@0.1.0"));
    assert!(wrong(ComponentKind::EventHandler, &frames).contains("wasi:http/incoming-handler"), "it names what the component exports instead");
    assert!(wrong(ComponentKind::Sampler, &jobs).contains("frameflow:sampler/plan@0.1.0"));
    match runtime.check_component(ComponentKind::Sampler, &read(frameflow_test_components::impure_sampler())) {
        Err(CheckError::ForbiddenImports { imports, .. }) => assert!(imports.iter().any(|i| i.starts_with("wasi:clocks/")), "{imports:?}"),
        other => panic!("an impure sampler: {other:?}"),
    }
    assert!(matches!(runtime.check_component(ComponentKind::Sampler, &vec![0; (16 << 20) + 1]), Err(CheckError::TooLarge { .. })));
    assert!(matches!(runtime.check_component(ComponentKind::EventHandler, b"\0asm\x01\0\0\0"), Err(CheckError::NotAComponent(m)) if m.contains("core")));
}
