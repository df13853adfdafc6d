//! [`HttpTrigger`]: requests on an HTTP/1.1 listener, each handled by the component its
//! route is bound to. Per connection: a cap on open connections (503 and close beyond it)
//! and a header/idle timeout. Per request: the caller from its credentials (`auth`: 401
//! before anything else when credentials are needed, 403 without the route's scope), the
//! tenant's request rate (429), the system key's `/v1/admin` routes, the route, the body received in
//! full under the upload limit and rate rules (`body_spool.rs`), then the component; every
//! failure becomes a JSON error (`{"error": {"code", "message"}}`), and every 503 says
//! when to come back (`Retry-After`). When the host drains, the listener closes, `/readyz`
//! answers 503, and each connection ends after the request it is serving.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use frameflow_runtime::{GuestError, ResponseBody};
use frameflow_store::ObjectStorage;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::app::BoundRoute;
use crate::auth::{Auth, Principal, TenantLimits};
use crate::admin::MAX_ADMIN_BODY;
use crate::body_spool::{spool, BodyLimits};
use crate::config::ConnectionLimits;
use crate::drain::Drain;
use crate::rate_limit::RateLimiter;
use crate::routes::Router;
use crate::triggers::objects::MAX_NOTIFICATION_BYTES;
use crate::triggers::{JobWake, ObjectTrigger};

/// Why a request body could not be read to its end (the connection broke, ...): one
/// concrete type, so the body limits' `Into<Box<dyn Error>>` bounds resolve.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BodyError(Box<dyn std::error::Error + Send + Sync>);

impl BodyError {
    pub fn new(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> BodyError {
        BodyError(e.into())
    }
}

/// A request body as the trigger takes it: hyper's from a connection, or the whole body a
/// function runtime was handed (`Server::http_request`), boxed to one type.
pub type RequestBody = http_body_util::combinators::BoxBody<Bytes, BodyError>;

/// Seconds a client is told to wait after a 503.
const RETRY_AFTER_SECONDS: &str = "1";

/// The HTTP trigger: routes bound to components, the store, keys and limits, and the
/// listener it serves once bound.
pub struct HttpTrigger {
    pub(crate) router: Router<BoundRoute>,
    pub(crate) storage: Arc<ObjectStorage>,
    pub(crate) auth: Arc<Auth>,
    pub(crate) body_limits: BodyLimits,
    pub(crate) connections: ConnectionLimits,
    /// Woken after a request that may have created or stopped a job.
    pub(crate) jobs: JobWake,
    /// Where `/v1/events/...` go: S3 notifications in, the dead-letter list out.
    pub(crate) events: Arc<ObjectTrigger>,
    pub(crate) listener: Mutex<Option<TcpListener>>,
    /// Each tenant's request rate on this host.
    pub(crate) rate: RateLimiter,
    /// Limits of tenants whose record sets none.
    pub(crate) tenant_defaults: TenantLimits,
    /// Each tenant's bytes in the store, for `max_stored_bytes`.
    pub(crate) stored: crate::quota::StoredBytes,
    /// For the scrape-time gauges of `/metrics`.
    pub(crate) runtime: frameflow_runtime::Runtime,
    /// Analysis tasks: seed 004's `/task/*` and `/v1/tasks`.
    pub(crate) tasks: Arc<frameflow_tasks::TaskManager>,
    /// Detections and seed 002's analytics routes, the media proxy.
    pub(crate) analytics: Arc<frameflow_analytics::Analytics>,
    /// The host's drain: `/readyz` fails and connections close once it starts.
    pub(crate) drain: Drain,
    /// SNS deliveries to `/v1/events/s3`: signatures and subscription confirmations.
    pub(crate) sns: Arc<crate::triggers::sns::Sns>,
}

pub(crate) fn json_error(status: u16, code: &str, message: &str) -> Response<ResponseBody> {
    let mut response = json_reply(status, &crate::problem::body(status, code, message));
    if status == 408 {
        // The rest of a body we stopped reading would be taken for the next request.
        response.headers_mut().insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("close"));
    }
    response
}

impl HttpTrigger {
    /// Gives the trigger the socket it serves when run.
    pub fn listen_on(&self, listener: TcpListener) {
        *self.listener.lock().expect("listener lock") = Some(listener);
    }

    /// The caller, allowed to call this route; else the 401/403/503 that says why not.
    async fn principal_of(&self, req: &Request<RequestBody>) -> Result<Principal, Response<ResponseBody>> {
        let principal = self.auth.authenticate(req.headers()).await.map_err(|e| {
            let (status, code) = e.status();
            let mut response = json_error(status, code, &e.to_string());
            if status == 401 {
                response.headers_mut().insert(hyper::header::WWW_AUTHENTICATE, hyper::header::HeaderValue::from_static("Bearer"));
            }
            response
        })?;
        principal.scope.allows(req.method(), req.uri().path()).map_err(|why| json_error(403, "forbidden", &why))?;
        Ok(principal)
    }

    /// Handles one request; never fails (errors are responses). Runs in a `request` span
    /// (method, path, tenant, component, instantiate time) and logs its status and time at
    /// debug level.
    pub async fn handle(&self, req: Request<RequestBody>) -> Response<ResponseBody> {
        use tracing::Instrument;
        let (video, job) = ids_in_path(req.uri().path());
        let span = tracing::info_span!(
            "request",
            method = %req.method(),
            path = %req.uri().path(),
            tenant = tracing::field::Empty,
            video = tracing::field::Empty,
            job = tracing::field::Empty,
            component = tracing::field::Empty,
            instantiate_ms = tracing::field::Empty,
        );
        if let Some(video) = video {
            span.record("video", video);
        }
        if let Some(job) = job {
            span.record("job", job);
        }
        let started = std::time::Instant::now();
        let (method, route) = (req.method().clone(), self.route_label(req.uri().path()));
        let mut response = self.answer(req).instrument(span.clone()).await;
        if response.status() == hyper::StatusCode::SERVICE_UNAVAILABLE && !response.headers().contains_key(hyper::header::RETRY_AFTER) {
            response.headers_mut().insert(hyper::header::RETRY_AFTER, hyper::header::HeaderValue::from_static(RETRY_AFTER_SECONDS));
        }
        let seconds = started.elapsed().as_secs_f64();
        crate::metrics::record_request(route, &method, response.status().as_u16(), seconds);
        span.in_scope(|| tracing::info!(status = response.status().as_u16(), ms = seconds * 1e3, "answered"));
        response
    }

    async fn answer(&self, req: Request<RequestBody>) -> Response<ResponseBody> {
        let path = req.uri().path().to_string();
        // Health probes carry no key (Kubernetes' liveness and readiness checks).
        match path.as_str() {
            "/healthz" => return json_reply(200, &serde_json::json!({"status": "ok"})),
            "/readyz" => return self.ready().await,
            _ => {}
        }
        // The key first: without one, nobody learns which routes exist.
        let principal = match self.principal_of(&req).await {
            Ok(p) => p,
            Err(response) => return response,
        };
        if path == "/metrics" {
            return self.metrics(&principal);
        }
        if let Some(rest) = path.strip_prefix("/v1/admin/") {
            return self.admin_route(req, rest).await;
        }
        if path == "/api/v1/media-proxy" {
            // The system key's (or anyone's when no credentials are in use).
            let system = !self.auth.required() || principal.scope == crate::auth::Scope::System;
            let store = match self.storage.tenant(principal.tenant.as_deref().unwrap_or("default")) {
                Ok(t) => t,
                Err(e) => return json_error(500, "store_error", &e.to_string()),
            };
            let (method, query) = (req.method().to_string(), req.uri().query().unwrap_or("").to_string());
            return analytics_reply(self.analytics.route(&store, &method, &path, &query, system).await);
        }
        let Some(tenant) = principal.tenant.clone() else {
            // The system key on a notification: it may speak for any tenant.
            return self.events_route(req, "s3", None).await;
        };
        tracing::Span::current().record("tenant", tenant.as_str());
        let limits = self.auth.limits_of(&tenant).await;
        let per_second = limits.requests_per_second.or(self.tenant_defaults.requests_per_second);
        if let Some(Err(wait)) = per_second.map(|rps| self.rate.take(&tenant, rps)) {
            let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
            let mut response = json_error(429, "too_many_requests", &format!("tenant '{tenant}' is over its {} requests per second", per_second.unwrap_or(0.0)));
            response.headers_mut().insert(hyper::header::RETRY_AFTER, hyper::header::HeaderValue::from(seconds));
            return response;
        }
        if let Some(rest) = path.strip_prefix("/v1/events/") {
            return self.events_route(req, rest, Some(&tenant)).await;
        }
        if frameflow_tasks::api::owns(&path) {
            return self.tasks_route(req, &tenant).await;
        }
        if frameflow_analytics::owns_request(&path, req.uri().query().unwrap_or("")) {
            return self.analytics_route(req, &tenant).await;
        }
        let Some(BoundRoute { component, max_body_bytes }) = self.router.route(&path).cloned() else {
            return json_error(404, "not_found", &format!("no route for {path}"));
        };
        tracing::Span::current().record("component", component.name());
        let limit = max_body_bytes.map_or(self.body_limits.max_bytes, |m| m.min(self.body_limits.max_bytes));
        let declared = req
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            return json_error(
                413,
                "too_large",
                &format!("the request body of {} bytes is over the upload limit of {limit} bytes", declared.unwrap_or(0)),
            );
        }
        let tenant_store = match self.storage.tenant(&tenant) {
            Ok(t) => t,
            Err(e) => return json_error(500, "store_error", &e.to_string()),
        };
        let brings_bytes = req.method() == hyper::Method::POST || req.method() == hyper::Method::PUT;
        let max_stored = limits.max_stored_bytes.or(self.tenant_defaults.max_stored_bytes);
        if let (true, Some(max)) = (brings_bytes && declared != Some(0), max_stored) {
            match self.stored.usage(&tenant_store).await {
                Ok(used) if used.saturating_add(declared.unwrap_or(0)) > max => {
                    return json_error(
                        507,
                        "insufficient_storage",
                        &format!("tenant '{tenant}' keeps {used} bytes in the store; its limit is {max}: delete videos or job results first"),
                    );
                }
                Ok(_) => {}
                Err(e) => return json_error(503, "store_unavailable", &format!("the tenant's stored bytes cannot be counted now: {e}")),
            }
        }
        // The whole body arrives before the component gets a slot and its deadline starts.
        let (parts, body) = req.into_parts();
        let route_limits = BodyLimits { max_bytes: limit, ..self.body_limits.clone() };
        let body = match spool(body, &route_limits).await {
            Ok(b) => b,
            Err(e) => {
                let (status, code) = e.status();
                return json_error(status, code, &e.to_string());
            }
        };
        if brings_bytes && max_stored.is_some() {
            self.stored.add(&tenant, hyper::body::Body::size_hint(&body).exact().unwrap_or(0));
        }
        let req = Request::from_parts(parts, body);
        let changes_state = req.method() != hyper::Method::GET && req.method() != hyper::Method::HEAD;
        match component.handle(tenant_store, req).await {
            Ok(response) => {
                if changes_state && component.job_worker().is_some() {
                    // A job may have been created or stopped: let the job trigger look now.
                    self.jobs.wake();
                }
                response
            }
            Err(failure) => {
                failure.record(&tenant);
                let status = guest_error_status(&failure);
                tracing::warn!(status, code = failure.code(), "{failure}");
                json_error(status, failure.code(), &failure.to_string())
            }
        }
    }
}

impl HttpTrigger {
    /// `GET /readyz`: 200 when the store answers a listing within 2 s, else 503 saying why;
    /// 503 as soon as the host drains (take it out of the load balancer).
    pub(crate) async fn ready(&self) -> Response<ResponseBody> {
        if self.drain.is_draining() {
            return json_error(503, "draining", "this host is shutting down: it finishes the work in flight and takes none");
        }
        let listed = async {
            let store = self.storage.tenant("default").map_err(|e| e.to_string())?;
            store.list("", None, 1).await.map_err(|e| e.to_string())
        };
        match tokio::time::timeout(Duration::from_secs(2), listed).await {
            Ok(Ok(_)) => json_reply(200, &serde_json::json!({"status": "ready", "store": self.storage.url()})),
            Ok(Err(e)) => json_error(503, "store_unavailable", &format!("the store does not answer: {e}")),
            Err(_) => json_error(503, "store_unavailable", "the store did not answer within 2 s"),
        }
    }

    /// The host's own event routes: `POST /v1/events/s3` (an S3 event notification; 202
    /// with what was accepted and ignored), `GET /v1/events/failed` (the caller's dead
    /// letters), `POST /v1/events/failed/{id}/retry`.
    async fn events_route(&self, req: Request<RequestBody>, rest: &str, tenant: Option<&str>) -> Response<ResponseBody> {
        let method = req.method().clone();
        let store = match self.storage.tenant(tenant.unwrap_or("default")) {
            Ok(t) => t,
            Err(e) => return json_error(500, "store_error", &e.to_string()),
        };
        let segments: Vec<&str> = rest.split('/').collect();
        match (method.as_str(), segments.as_slice()) {
            ("POST", ["s3"]) => {
                let limited = http_body_util::Limited::new(req.into_body(), MAX_NOTIFICATION_BYTES);
                let body = match limited.collect().await {
                    Ok(b) => b.to_bytes(),
                    Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
                        return json_error(413, "too_large", &format!("a notification is at most {MAX_NOTIFICATION_BYTES} bytes"));
                    }
                    Err(e) => return json_error(400, "bad_request", &format!("the body could not be read: {e}")),
                };
                // With credentials, a tenant's key speaks for its own tenant only.
                let caller = if self.auth.required() { tenant } else { None };
                self.notification(&body, caller).await
            }
            ("GET", ["failed"]) => match self.events.failed(&store).await {
                Ok(list) => json_reply(200, &list),
                Err(e) => json_error(503, "store_unavailable", &e.to_string()),
            },
            ("POST", ["failed", id, "retry"]) => match self.events.retry(&store, id).await {
                Ok(Some(Ok(done))) => json_reply(200, &serde_json::json!({"retried": id, "result": done})),
                Ok(Some(Err(error))) => json_reply(200, &serde_json::json!({"retried": id, "error": error})),
                Ok(None) => json_error(404, "not_found", &format!("no failed event '{id}'")),
                Err(e) => json_error(503, "store_unavailable", &e.to_string()),
            },
            _ => json_error(404, "not_found", &format!("no route for /v1/events/{rest}")),
        }
    }
}

impl HttpTrigger {
    /// A notification body on `POST /v1/events/s3`: S3 events are queued (202 with what was
    /// accepted and ignored), S3's test event acknowledged (200), an SNS message verified
    /// (403 when its signature fails) and then confirmed, unwrapped or logged.
    async fn notification(&self, body: &[u8], caller: Option<&str>) -> Response<ResponseBody> {
        use crate::triggers::notification::{open, Envelope};
        use crate::triggers::sns::SnsError;
        let queue = |envelope: Result<Envelope, String>| match envelope {
            Ok(Envelope::Records(event)) => match self.events.records(event, caller) {
                Ok(intake) => json_reply(202, &serde_json::to_value(&intake).expect("intake serializes")),
                Err(message) => json_error(400, "bad_request", &message),
            },
            Ok(Envelope::TestEvent { bucket }) => {
                tracing::info!(%bucket, "S3 test event: the bucket's notifications reach this host");
                json_reply(200, &serde_json::json!({"test_event": true, "bucket": bucket}))
            }
            // Only reached for an SNS message's own `Message`: top-level ones are taken below.
            Ok(Envelope::Sns(_)) => json_error(400, "bad_request", "an SNS message inside an SNS message"),
            Err(message) => json_error(400, "bad_request", &message),
        };
        let message = match open(body) {
            Ok(Envelope::Sns(message)) => message,
            other => return queue(other),
        };
        let refused = |e: SnsError| {
            let status = match e {
                SnsError::Invalid(_) => 400,
                SnsError::Signature(_) => 403,
                SnsError::Confirm(_) => 502,
            };
            metrics::counter!("frameflow_sns_messages_total", "outcome" => if status == 403 { "bad_signature" } else { "refused" }).increment(1);
            tracing::warn!(status, topic = %message.topic_arn, "SNS message refused: {e}");
            json_error(status, if status == 403 { "forbidden" } else { "bad_request" }, &e.to_string())
        };
        if let Err(e) = self.sns.verify(&message).await {
            return refused(e);
        }
        metrics::counter!("frameflow_sns_messages_total", "outcome" => "verified").increment(1);
        match message.kind.as_str() {
            "Notification" => queue(open(message.message.as_bytes())),
            "SubscriptionConfirmation" => match self.sns.confirm(&message).await {
                Ok(()) => {
                    tracing::info!(topic = %message.topic_arn, "SNS subscription confirmed");
                    json_reply(200, &serde_json::json!({"confirmed": message.topic_arn}))
                }
                Err(e) => refused(e),
            },
            _ => {
                tracing::info!(topic = %message.topic_arn, "SNS subscription ended (UnsubscribeConfirmation)");
                json_reply(200, &serde_json::json!({"unsubscribed": message.topic_arn}))
            }
        }
    }

    /// The route a path is counted under in the metrics: the host's own routes, the
    /// manifest's route pattern, or `unmatched` (a bounded set of labels).
    fn route_label(&self, path: &str) -> &str {
        match path {
            "/healthz" => "/healthz",
            "/readyz" => "/readyz",
            "/metrics" => "/metrics",
            p if p.starts_with("/v1/admin/") => "/v1/admin/...",
            p if p.starts_with("/v1/events/") => "/v1/events/...",
            p if p.starts_with("/task/") => "/task/...",
            "/api/v1/media-proxy" => "/api/v1/media-proxy",
            p if p.starts_with("/v1/tasks") => "/v1/tasks/...",
            p => self.router.matched(p).map(|(pattern, _)| pattern.as_str()).unwrap_or("unmatched"),
        }
    }

    /// `GET /metrics`: the Prometheus text; with credentials in use, for the system key
    /// only (it names tenants). `metrics_listen` serves it apart, without a key.
    fn metrics(&self, principal: &Principal) -> Response<ResponseBody> {
        if self.auth.required() && principal.scope != crate::auth::Scope::System {
            return json_error(403, "forbidden", "/metrics needs the system key (or scrape the metrics_listen address)");
        }
        metrics_reply(&self.runtime)
    }

    /// The task routes (`/task/*`, `/v1/tasks…`): the body read whole (at most
    /// [`frameflow_tasks::api::MAX_TASK_BODY`]), answered by the task manager.
    async fn tasks_route(&self, req: Request<RequestBody>, tenant: &str) -> Response<ResponseBody> {
        use frameflow_tasks::api::{TaskReply, MAX_TASK_BODY};
        let (method, path, query) = (req.method().to_string(), req.uri().path().to_string(), req.uri().query().unwrap_or("").to_string());
        let store = match self.storage.tenant(tenant) {
            Ok(t) => t,
            Err(e) => return json_error(500, "store_error", &e.to_string()),
        };
        let body = match http_body_util::Limited::new(req.into_body(), MAX_TASK_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return json_error(413, "too_large", &format!("task requests are at most {MAX_TASK_BODY} bytes")),
        };
        match frameflow_tasks::api::route(&self.tasks, &store, &method, &path, &query, &body).await {
            Some(TaskReply::Json(status, value)) => {
                // Seed 004's errors are in its own shape, not problem details.
                let mut response = json_reply(status, &value);
                response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
                response
            }
            Some(TaskReply::NoContent) => Response::builder()
                .status(204)
                .body(Full::new(Bytes::new()).map_err(|never| match never {}).boxed_unsync())
                .expect("a 204 builds"),
            Some(TaskReply::Problem { status, code, detail, param }) => {
                let mut value = crate::problem::body(status, code, &detail);
                if let Some(param) = param {
                    value["param"] = serde_json::json!(param);
                }
                json_reply(status, &value)
            }
            None => json_error(404, "not_found", &format!("no route for {path}")),
        }
    }

    /// Detections and seed 002's analytics routes: a `PUT` of detections is received whole
    /// (the upload limit, spooled to disk when large) and parsed off the reactor.
    async fn analytics_route(&self, req: Request<RequestBody>, tenant: &str) -> Response<ResponseBody> {
        let (method, path, query) = (req.method().to_string(), req.uri().path().to_string(), req.uri().query().unwrap_or("").to_string());
        let store = match self.storage.tenant(tenant) {
            Ok(t) => t,
            Err(e) => return json_error(500, "store_error", &e.to_string()),
        };
        if method == "PUT" {
            let id = path.trim_matches('/').split('/').nth(2).unwrap_or("").to_string();
            let declared = req.headers().get(hyper::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|n| n > self.body_limits.max_bytes) {
                return json_error(413, "too_large", &format!("the request body is over the upload limit of {} bytes", self.body_limits.max_bytes));
            }
            let body = match spool(req.into_body(), &self.body_limits).await {
                Ok(b) => b,
                Err(e) => {
                    let (status, code) = e.status();
                    return json_error(status, code, &e.to_string());
                }
            };
            return analytics_reply(self.analytics.put_detections(&store, &id, body.into_reader().await).await);
        }
        analytics_reply(self.analytics.route(&store, &method, &path, &query, false).await)
    }

    /// `/v1/admin/…` for the system key (the scope was checked): the body read whole, at
    /// most [`MAX_ADMIN_BODY`] bytes.
    async fn admin_route(&self, req: Request<RequestBody>, rest: &str) -> Response<ResponseBody> {
        let method = req.method().clone();
        let body = match http_body_util::Limited::new(req.into_body(), MAX_ADMIN_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return json_error(413, "too_large", &format!("admin requests are at most {MAX_ADMIN_BODY} bytes")),
        };
        let (status, value) = crate::admin::route(self.auth.directory(), &method, rest, &body).await;
        json_reply(status, &value)
    }
}

/// An analytics answer as a response (problems in the one problem format; seed 002's
/// routes add `"success": false`).
fn analytics_reply(reply: frameflow_analytics::Reply) -> Response<ResponseBody> {
    use frameflow_analytics::Reply;
    match reply {
        Reply::Json(status, value) => json_reply(status, &value),
        Reply::Bytes { content_type, bytes, cache } => {
            let mut builder = Response::builder().status(200).header("content-type", content_type);
            if cache {
                builder = builder.header("cache-control", "public, max-age=86400");
            }
            builder.body(Full::new(Bytes::from(bytes)).map_err(|never| match never {}).boxed_unsync()).expect("media responses build")
        }
        Reply::Problem { status, code, detail, seed } => {
            let mut value = crate::problem::body(status, code, &detail);
            if seed {
                value["success"] = serde_json::json!(false);
            }
            json_reply(status, &value)
        }
        Reply::Stream { content_type, body } => Response::builder()
            .status(200)
            .header("content-type", content_type)
            .body(ChannelBody(body).boxed_unsync())
            .expect("streamed responses build"),
    }
}

/// A response body fed by a channel; an error from the producer breaks the response.
struct ChannelBody(tokio::sync::mpsc::Receiver<Result<Bytes, String>>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        self.0.poll_recv(cx).map(|next| {
            next.map(|chunk| match chunk {
                Ok(bytes) => Ok(hyper::body::Frame::data(bytes)),
                Err(why) => {
                    tracing::warn!("a streamed response broke off: {why}");
                    Err(wasmtime_wasi_http::Error::ConnectionTerminated)
                }
            })
        })
    }
}

/// The video and job ids a path names (`/v1/videos/{id}…`, `/v1/jobs/{id}…`), for the
/// request span.
fn ids_in_path(path: &str) -> (Option<&str>, Option<&str>) {
    let id_after = |prefix: &str| path.strip_prefix(prefix).and_then(|rest| rest.split('/').next()).filter(|id| !id.is_empty() && id.len() <= 64);
    (id_after("/v1/videos/"), id_after("/v1/jobs/"))
}

/// The metrics text as a response.
pub(crate) fn metrics_reply(runtime: &frameflow_runtime::Runtime) -> Response<ResponseBody> {
    Response::builder()
        .status(200)
        .header("content-type", "text/plain; version=0.0.4")
        .body(Full::new(Bytes::from(crate::metrics::render(runtime))).map_err(|never| match never {}).boxed_unsync())
        .expect("static response parts are valid")
}

/// A JSON answer; an error status's body is a problem (`crate::problem`), typed as one.
pub(crate) fn json_reply(status: u16, value: &serde_json::Value) -> Response<ResponseBody> {
    let body = serde_json::to_vec(value).expect("JSON values serialize");
    let content_type = if status >= 400 { crate::problem::PROBLEM_JSON } else { "application/json" };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed_unsync())
        .expect("static response parts are valid")
}

impl super::Trigger for HttpTrigger {
    fn kind(&self) -> &'static str {
        "http"
    }

    /// Serves the bound listener until the process is stopped.
    fn run(self: Arc<Self>) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> {
        Box::pin(async move {
            let listener = self.listener.lock().expect("listener lock").take();
            let listener = listener.ok_or_else(|| anyhow::anyhow!("the HTTP trigger was run without a listener"))?;
            accept_loop(self, listener).await
        })
    }
}

async fn accept_loop(server: Arc<HttpTrigger>, listener: TcpListener) -> anyhow::Result<()> {
    let limits = server.connections.clone();
    let open = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let drain = server.drain.clone();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = drain.started() => break,
        };
        let (stream, _) = match accepted {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait and keep serving.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(connection) = open.clone().try_acquire_owned() else {
            tokio::spawn(refuse_connection(stream, limits.max_connections));
            continue;
        };
        let server = server.clone();
        let header_timeout = limits.header_timeout;
        let (drain, working) = (drain.clone(), drain.working());
        tokio::spawn(async move {
            let (_connection, _working) = (connection, working);
            let service = hyper::service::service_fn(move |req| {
                let server = server.clone();
                async move {
                    let req = req.map(|body: hyper::body::Incoming| body.map_err(BodyError::new).boxed());
                    Ok::<_, std::convert::Infallible>(server.handle(req).await)
                }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .timer(hyper_util::rt::TokioTimer::new())
                // Also closes keep-alive connections that stay idle this long: hyper
                // starts the timer as soon as it waits for the next request's head.
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = drain.started() => {
                    // The request being served is answered (`connection: close`); an idle
                    // keep-alive connection closes now.
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.as_mut().await;
                }
            }
        });
    }
    // No new connections from here: the socket closes, so clients and load balancers
    // see the host gone rather than a queue that is never served.
    drop(listener);
    Ok(())
}

/// The HTTP status for a component that gave no answer: its time or the host's capacity
/// ran out (503, worth retrying), the request was unusable (400), or it failed (500).
fn guest_error_status(error: &GuestError) -> u16 {
    match error {
        GuestError::Timeout { .. } | GuestError::Busy { .. } => 503,
        GuestError::Rejected { .. } => 400,
        GuestError::OutOfMemory { .. } | GuestError::Trap { .. } | GuestError::NoResponse { .. } | GuestError::Failed { .. } => 500,
    }
}

/// Answers a connection over the limit with a 503 and closes it, without reading the request.
async fn refuse_connection(mut stream: tokio::net::TcpStream, max: usize) {
    use tokio::io::AsyncWriteExt;
    let body = crate::problem::body(503, "busy", &format!("the server has its maximum of {max} open connections; retry shortly")).to_string();
    let reply = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: {}\r\nretry-after: {RETRY_AFTER_SECONDS}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        crate::problem::PROBLEM_JSON,
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(reply.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
