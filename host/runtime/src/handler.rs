//! [`HttpComponent`]: one request through a component's `wasi:http/incoming-handler`.
//!
//! Each request gets a fresh store (made by `Sandboxes`) instantiated from the component's
//! `InstancePre`. The guest runs until it has answered or its deadline passes; a guest that
//! traps, loops or runs out of memory becomes a [`GuestError`] (the server picks the HTTP
//! status), and nothing outlives the request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use frameflow_store::TenantStore;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::WasiHttpView;

use crate::guest_error::GuestError;
use crate::job_worker::JobWorker;
use crate::sandbox::{Sandbox, Sandboxes};
use crate::task::AbortOnDrop;

/// The body of a component's response, streamed from the guest.
pub type ResponseBody = wasmtime_wasi_http::p2::body::HyperOutgoingBody;

pub type HandlerOutcome = Result<hyper::Response<ResponseBody>, GuestError>;

pub struct HttpComponent {
    name: String,
    pre: ProxyPre<Sandbox>,
    worker: Option<Arc<JobWorker>>,
    sandboxes: Arc<Sandboxes>,
    from_cache: bool,
}

impl HttpComponent {
    pub(crate) fn new(name: &str, pre: ProxyPre<Sandbox>, worker: Option<JobWorker>, sandboxes: Arc<Sandboxes>, from_cache: bool) -> HttpComponent {
        HttpComponent { name: name.to_string(), pre, worker: worker.map(Arc::new), sandboxes, from_cache }
    }

    /// The component's background job worker, when it exports `frameflow:jobs/worker`.
    pub fn job_worker(&self) -> Option<&Arc<JobWorker>> {
        self.worker.as_ref()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the machine code came from the compile cache rather than a fresh compile.
    pub fn loaded_from_cache(&self) -> bool {
        self.from_cache
    }

    fn failed(&self, reason: impl std::fmt::Display) -> GuestError {
        GuestError::Failed { component: self.name.clone(), reason: reason.to_string() }
    }

    fn no_response(&self, reason: impl std::fmt::Display) -> GuestError {
        GuestError::NoResponse { component: self.name.clone(), reason: reason.to_string() }
    }

    fn classify(&self, err: wasmtime::Error, memory_refused: bool, deadline: std::time::Duration) -> GuestError {
        GuestError::classify(&self.name, err, memory_refused, self.sandboxes.limits.memory_bytes, deadline)
    }

    /// Runs the component on `req` for `tenant`. The response carries a `Server-Timing`
    /// header with the instantiation time.
    pub async fn handle<B>(&self, tenant: TenantStore, req: hyper::Request<B>) -> HandlerOutcome
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let limits = &self.sandboxes.limits;
        // Waiting in line is bounded on its own; the deadline covers the component's work.
        let permit = match self.sandboxes.admit(self.sandboxes.queue_wait.min(limits.deadline)).await {
            Ok(p) => p,
            Err(refusal) => return Err(GuestError::Busy { component: self.name.clone(), reason: refusal.to_string() }),
        };
        let deadline_at = Instant::now() + limits.deadline;

        let mut store = self.sandboxes.store(tenant, deadline_at);

        let (sender, receiver) = tokio::sync::oneshot::channel();
        let prepared = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)
            .and_then(|req| Ok((req, store.data_mut().http().new_response_outparam(sender)?)));
        let (req, out) = match prepared {
            Ok(p) => p,
            Err(e) => return Err(GuestError::Rejected { component: self.name.clone(), reason: format!("{e:#}") }),
        };

        let instantiate_ns = Arc::new(AtomicU64::new(0));
        let instantiate_clock = instantiate_ns.clone();
        let pre = self.pre.clone();
        // Aborted (dropping the store, which cancels its host work) if this future is
        // dropped before the component has answered: the client went away.
        let mut task = AbortOnDrop::new(tokio::spawn(async move {
            let _permit = permit;
            let ran = async {
                let t = Instant::now();
                let proxy = pre.instantiate_async(&mut store).await?;
                instantiate_clock.store(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
                proxy.wasi_http_incoming_handler().call_handle(&mut store, req, out).await
            }
            .await;
            (ran, store.data().memory_refused())
        }));

        // The guest answers through the outparam; if it never does, the task says why.
        let grace = std::time::Duration::from_millis(500);
        let answered = tokio::time::timeout_at((deadline_at + grace).into(), receiver).await;
        match answered {
            Ok(Ok(Ok(mut response))) => {
                let ms = instantiate_ns.load(Ordering::Relaxed) as f64 / 1e6;
                // The caller's request span has the field (the server's does).
                tracing::Span::current().record("instantiate_ms", ms);
                if let Ok(v) = hyper::header::HeaderValue::from_str(&format!("instantiate;dur={ms:.3}")) {
                    response.headers_mut().append("server-timing", v);
                }
                // The guest still streams the body: the task must outlive this call.
                task.detach();
                Ok(response)
            }
            Ok(Ok(Err(code))) => Err(self.no_response(format!("answered with an error: {code:?}"))),
            Ok(Err(_)) => match (&mut task).await {
                Ok((Ok(()), _)) => Err(self.no_response("returned without a response")),
                Ok((Err(e), memory_refused)) => Err(self.classify(e, memory_refused, limits.deadline)),
                Err(join) => Err(self.failed(format!("crashed: {join}"))),
            },
            Err(_) => Err(GuestError::Timeout { component: self.name.clone(), deadline: limits.deadline }),
        }
    }
}
