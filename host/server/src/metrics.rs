//! Prometheus metrics at `/metrics`: the process-wide recorder behind the `metrics` facade
//! (the media, store and runtime crates count with `metrics::counter!` and friends, without
//! knowing who exports), its histogram buckets and help texts, and the gauges read at
//! scrape time (instance slots, media memory).
//!
//! | metric | labels |
//! |---|---|
//! | `frameflow_http_requests_total`, `frameflow_http_request_duration_seconds` | route, method, status |
//! | `frameflow_frames_decoded_total`, `frameflow_frame_decode_seconds` | |
//! | `frameflow_packets_skipped_total` (non-reference pictures left out on the way to a frame) | |
//! | `frameflow_store_read_bytes_total`, `frameflow_store_written_bytes_total`, `frameflow_store_requests_total` | `op` (the last) |
//! | `frameflow_job_steps_total` | tenant, outcome |
//! | `frameflow_jobs_runnable` | tenant |
//! | `frameflow_chunk_takeovers_total` | |
//! | `frameflow_events_total` | outcome (received, ignored, duplicate, handled, dead_letter) |
//! | `frameflow_component_failures_total` | tenant, component, kind |
//! | `frameflow_queue_messages_total` | outcome (deleted, kept, dead_letter, malformed, returned) |
//! | `frameflow_work_messages_total` | outcome (sent, ran, done_already, held, failed, ...) |
//! | `frameflow_sns_messages_total` | outcome (verified, bad_signature, refused) |
//! | `frameflow_draining` (1 once SIGTERM started the drain) | |
//! | `frameflow_instances_in_use`, `frameflow_instances_max`, `frameflow_media_memory_free_bytes` | |

use std::sync::OnceLock;

use frameflow_runtime::Runtime;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Request latency buckets, seconds: a cached frame is milliseconds, a job submission or
/// upload can take many seconds.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Per-frame decode buckets, seconds.
const DECODE_BUCKETS: &[f64] = &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The recorder's handle, installing it on first use; `None` when another recorder was
/// installed first (then this process exports nothing of its own).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full("frameflow_http_request_duration_seconds".into()), LATENCY_BUCKETS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full("frameflow_frame_decode_seconds".into()), DECODE_BUCKETS))
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!("frameflow_http_requests_total", "HTTP requests answered, by route pattern, method and status");
    describe_histogram!("frameflow_http_request_duration_seconds", Unit::Seconds, "Time to answer an HTTP request (headers out)");
    describe_counter!("frameflow_frames_decoded_total", "Video frames decoded");
    describe_counter!("frameflow_packets_skipped_total", "Packets no other frame needs, left out on the way to a frame");
    describe_histogram!("frameflow_frame_decode_seconds", Unit::Seconds, "Decoder time per decoded frame (packets read and decoded)");
    describe_counter!("frameflow_store_read_bytes_total", Unit::Bytes, "Bytes read from the object store (gets and ranged reads)");
    describe_counter!("frameflow_store_written_bytes_total", Unit::Bytes, "Bytes written to the object store");
    describe_counter!("frameflow_queue_messages_total", "SQS messages by what became of them (deleted, kept, dead_letter, malformed, returned)");
    describe_counter!("frameflow_work_messages_total", "Job chunk work messages by outcome (sent, ran, done_already, held, failed)");
    describe_counter!("frameflow_sns_messages_total", "SNS messages on /v1/events/s3 by outcome (verified, bad_signature, refused)");
    describe_gauge!("frameflow_draining", "1 once the host drains for a shutdown");
    describe_counter!("frameflow_store_requests_total", "Requests to the object store, by operation (get, get_range, head, put, list, delete)");
    describe_counter!("frameflow_job_steps_total", "Job steps run by this host, by tenant and outcome (worked, idle, failed)");
    describe_gauge!("frameflow_jobs_runnable", "Unfinished jobs per tenant, as the scheduler last listed them");
    describe_counter!("frameflow_chunk_takeovers_total", "Job chunks this host took over after another holder's lease ran out");
    describe_counter!("frameflow_events_total", "Object events by outcome (received, ignored, duplicate, handled, retried, dead_letter)");
    describe_counter!("frameflow_component_failures_total", "Component runs that failed, by tenant, component and kind (timeout, out of memory, trap, ...)");
    describe_gauge!("frameflow_instances_in_use", "Component instance slots taken");
    describe_gauge!("frameflow_instances_max", "Component instance slots in all");
    describe_gauge!("frameflow_media_memory_free_bytes", Unit::Bytes, "Media working memory not reserved by decodes, renders or flows");
}

/// The text exposition of every metric, with the scrape-time gauges of `runtime` updated.
pub fn render(runtime: &Runtime) -> String {
    let Some(handle) = handle() else {
        return "# frameflow: another metrics recorder is installed in this process\n".into();
    };
    let admission = runtime.admission();
    let (in_use, max) = admission.instances();
    metrics::gauge!("frameflow_instances_in_use").set(in_use as f64);
    metrics::gauge!("frameflow_instances_max").set(max as f64);
    metrics::gauge!("frameflow_media_memory_free_bytes").set(admission.free_media_memory() as f64);
    handle.render()
}

/// Counts one answered request.
pub fn record_request(route: &str, method: &hyper::Method, status: u16, seconds: f64) {
    let labels = [("route", route.to_string()), ("method", method.as_str().to_string()), ("status", status.to_string())];
    metrics::counter!("frameflow_http_requests_total", &labels).increment(1);
    metrics::histogram!("frameflow_http_request_duration_seconds", &labels).record(seconds);
}

/// Keeps the histograms' memory bounded between scrapes.
pub async fn upkeep() {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        if let Some(handle) = handle() {
            handle.run_upkeep();
        }
    }
}

/// Serves `GET /metrics`, `/healthz` and `/readyz` (and nothing else) on its own listener,
/// without a key: for a scraper and the orchestrator's probes on an internal network. It
/// stays up while the host drains, so `/readyz` says 503 there until the process exits.
pub async fn serve(listener: tokio::net::TcpListener, http: std::sync::Arc<crate::triggers::HttpTrigger>) {
    use hyper_util::rt::TokioIo;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let http = http.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let http = http.clone();
                async move {
                    let response = match req.uri().path() {
                        "/metrics" => crate::triggers::http::metrics_reply(&http.runtime),
                        "/healthz" => crate::triggers::http::json_reply(200, &serde_json::json!({"status": "ok"})),
                        "/readyz" => http.ready().await,
                        _ => crate::triggers::http::json_error(404, "not_found", "this address serves /metrics, /healthz and /readyz only"),
                    };
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
