//! `frameflow-lambda`: frameflow as an AWS Lambda function, on the `lambda_runtime` crate.
//! It loads the same application as `frameflow serve` — the route manifest
//! (`FRAMEFLOW_CONFIG`, default `/var/task/frameflow.toml`), its components and the runtime
//! config beside it (or `FRAMEFLOW_RUNTIME_CONFIG`) — once per execution environment, so
//! compiled components and open decoders are kept across warm invocations, and is handed
//! one event per invocation:
//!
//! - an `S3Event` (the bucket's object trigger): its records go through the
//!   `[[trigger.object]]` rules and are handled before the invocation returns (an error
//!   makes Lambda retry the event; a handled record is not handled twice);
//! - an `SqsEvent` (an SQS trigger on the queue the bucket notifies): each message body
//!   (an S3 event, an SNS envelope, S3's test event) handled as `[[trigger.queue]]` would,
//!   with partial batch failures (`SqsBatchResponse`) so only failed messages come back.
//!
//! - an HTTP request from a function URL or an API Gateway HTTP API (payload format 2.0):
//!   answered by the same routes, credentials and components as the server's listener
//!   (binary bodies base64-encoded, as the format asks).
//!
//! After events, the job steps they created run until none is left or the invocation's time
//! is nearly up (another invocation, or a `frameflow serve` host, takes the rest over from
//! the store). The store must be S3; the compile cache defaults to `/tmp/frameflow`.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use base64::Engine;
use frameflow_server::triggers::notification::{open, Envelope};
use frameflow_server::{Manifest, RuntimeSettings, Server, ServerOptions};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

/// Time kept back at the end of an invocation for the answer.
const MARGIN: Duration = Duration::from_secs(3);

/// The application, loaded for this execution environment.
fn load() -> anyhow::Result<Server> {
    let manifest_path = PathBuf::from(std::env::var("FRAMEFLOW_CONFIG").unwrap_or_else(|_| "/var/task/frameflow.toml".into()));
    let manifest = Manifest::load(&manifest_path)?;
    let explicit = std::env::var_os("FRAMEFLOW_RUNTIME_CONFIG").map(PathBuf::from);
    let mut settings = RuntimeSettings::for_manifest(&manifest_path, explicit.as_deref())?;
    let store = settings.store.clone().or_else(|| std::env::var("FRAMEFLOW_STORE").ok()).context("a Lambda function needs an S3 store: set `store = \"s3://BUCKET/PREFIX\"` in the runtime config (or FRAMEFLOW_STORE)")?;
    if !store.starts_with("s3://") {
        anyhow::bail!("a Lambda function's store is S3 (s3://BUCKET/PREFIX), not '{store}': its disk is gone after the invocation");
    }
    settings.store = Some(store);
    if settings.cache_dir.is_none() {
        // The only writable place in a Lambda; it lasts as long as the execution environment.
        settings.cache_dir = Some("/tmp/frameflow".into());
    }
    Server::load(&manifest, &settings, &ServerOptions::default())
}

/// When this invocation must have answered, as an `Instant`. Lambda's deadline is
/// milliseconds since the epoch; an emulator may send the time left instead (cargo-lambda's
/// sends its timeout, e.g. 600000): a value before 2001 is read as that.
fn until(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let left_ms = if deadline_ms < 1_000_000_000_000 { deadline_ms } else { deadline_ms.saturating_sub(now_ms) };
    Instant::now() + Duration::from_millis(left_ms).saturating_sub(MARGIN)
}

/// A function URL / HTTP API request (payload format 2.0) as the HTTP trigger takes it.
fn http_request(event: ApiGatewayV2httpRequest) -> Result<hyper::Request<bytes::Bytes>, Error> {
    let path = event.raw_path.filter(|p| !p.is_empty()).unwrap_or_else(|| "/".into());
    let uri = match event.raw_query_string.filter(|q| !q.is_empty()) {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let body = match event.body {
        None => bytes::Bytes::new(),
        Some(text) if event.is_base64_encoded => base64::engine::general_purpose::STANDARD.decode(text.as_bytes()).map_err(|e| format!("the body is not base64: {e}"))?.into(),
        Some(text) => text.into(),
    };
    let mut request = hyper::Request::builder().method(event.request_context.http.method).uri(uri).body(body)?;
    *request.headers_mut() = event.headers;
    if let Some(cookies) = event.cookies.filter(|c| !c.is_empty()) {
        request.headers_mut().insert(hyper::header::COOKIE, cookies.join("; ").parse()?);
    }
    Ok(request)
}

/// The HTTP trigger's answer in payload format 2.0: text as it is, anything else base64.
fn http_response(response: hyper::Response<bytes::Bytes>) -> ApiGatewayV2httpResponse {
    let (parts, bytes) = response.into_parts();
    let content_type = parts.headers.get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let textual = content_type.starts_with("text/") || content_type.contains("json") || content_type.contains("xml");
    let (body, is_base64_encoded) = match String::from_utf8(bytes.to_vec()) {
        _ if bytes.is_empty() => (None, false),
        Ok(text) if textual => (Some(Body::Text(text)), false),
        _ => (Some(Body::Binary(bytes.to_vec())), true),
    };
    ApiGatewayV2httpResponse { status_code: parts.status.as_u16() as i64, headers: parts.headers, body, is_base64_encoded, ..Default::default() }
}

async fn invocation(server: &Server, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let source = if event.payload["requestContext"]["http"].is_object() { "http" } else { event.payload["Records"][0]["eventSource"].as_str().unwrap_or("unknown") };
    let span = tracing::info_span!("invocation", request = %event.context.request_id, source = %source);
    use tracing::Instrument;
    handle(server, event).instrument(span).await
}

async fn handle(server: &Server, event: LambdaEvent<Value>) -> Result<Value, Error> {
    if event.payload["requestContext"]["http"].is_object() {
        let request: ApiGatewayV2httpRequest = serde_json::from_value(event.payload).map_err(|e| format!("not an HTTP API (2.0) request: {e}"))?;
        let answer = server.http_request(http_request(request)?).await;
        return Ok(serde_json::to_value(http_response(answer))?);
    }
    let until = until(event.context.deadline);
    let source = event.payload["Records"][0]["eventSource"].as_str().unwrap_or_default().to_string();
    let answer = match source.as_str() {
        "aws:sqs" => {
            let batch: SqsEvent = serde_json::from_value(event.payload).map_err(|e| format!("not an SQS event: {e}"))?;
            let mut failures = Vec::new();
            for record in batch.records {
                let id = record.message_id.unwrap_or_default();
                if let Err(why) = server.queue_message(record.body.as_deref().unwrap_or_default()).await {
                    tracing::warn!(message = %id, "message failed; it comes back to the queue: {why}");
                    failures.push(BatchItemFailure { item_identifier: id });
                }
            }
            serde_json::to_value(SqsBatchResponse { batch_item_failures: failures })?
        }
        // S3's own shape (and its test event) through the same lenient parse as the server's.
        _ => match open(&serde_json::to_vec(&event.payload)?)? {
            Envelope::Records(records) => json!({"delivered": server.object_event(records).await?}),
            Envelope::TestEvent { bucket } => json!({"test_event": true, "bucket": bucket}),
            Envelope::Sns(_) => return Err("an SNS message: subscribe the function to the topic with an SQS queue between, or use the HTTP endpoint".into()),
        },
    };
    let left = until.saturating_duration_since(Instant::now());
    let steps = server.run_jobs(until).await;
    tracing::info!(job_steps = steps, left_ms = left.as_millis() as u64, "invocation's job steps run");
    let mut answer = answer;
    if let Value::Object(fields) = &mut answer {
        fields.insert("job_steps".into(), json!(steps));
    }
    Ok(answer)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FRAMEFLOW_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false).init();
    let server = load().map_err(|e| format!("{e:#}"))?;
    let server = &server;
    lambda_runtime::run(service_fn(move |event| invocation(server, event))).await
}
