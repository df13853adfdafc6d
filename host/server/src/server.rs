//! [`Server`]: the application loaded for this host — settings resolved, store opened,
//! runtime started, components bound — and its triggers; [`serve`] runs them.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use frameflow_runtime::{Runtime, VideoPool};
use frameflow_store::ObjectStorage;

use crate::app::App;
use crate::auth::{Auth, TenantDirectory};
use crate::config::{ServerConfig, ServerOptions};
use crate::drain::Drain;
use crate::manifest::Manifest;
use crate::runtime_config::RuntimeSettings;
use crate::triggers::{run_all, HttpTrigger, JobWake, JobsTrigger, ObjectTrigger, QueueTrigger, TasksTrigger, Trigger};

/// A loaded application and the triggers that start its work.
pub struct Server {
    /// Where `/metrics` is also served, without a key (`metrics_listen`).
    metrics_listen: Option<SocketAddr>,
    http: Arc<HttpTrigger>,
    jobs: Arc<JobsTrigger>,
    objects: Arc<ObjectTrigger>,
    queues: Arc<QueueTrigger>,
    tasks: Arc<TasksTrigger>,
    drain: Drain,
}

impl Server {
    /// Resolves the settings, opens the store, loads the manifest's components (compiling
    /// or from the cache), binds them to their routes and sets up the triggers.
    pub fn load(manifest: &Manifest, settings: &RuntimeSettings, options: &ServerOptions) -> anyhow::Result<Server> {
        let config = ServerConfig::resolve(settings, options)?;
        let drain = Drain::new(config.shutdown_grace);
        let storage = Arc::new(
            ObjectStorage::open(&config.store_url, &config.cache_dir.join("downloads"))
                .with_context(|| format!("opening store {}", config.store_url))?,
        );
        let pool = VideoPool::new(Some(config.max_source_pixels));
        let runtime = Runtime::new(config.runtime.clone(), Arc::new(pool))?;
        let mut app = App::load(manifest, &runtime)?;
        let mut task_settings = config.tasks.clone();
        for (code, analyzer) in &manifest.frameflow.analyzer_types {
            let code: i64 = code.parse().with_context(|| format!("[frameflow.analyzer_types]: '{code}' is not an algorithm type number"))?;
            task_settings.analyzer_types.insert(code, analyzer.clone());
        }
        task_settings.host_id = config.host_id.clone().unwrap_or_else(|| runtime.host_id());
        let task_lease = task_settings.lease;
        let tasks = frameflow_tasks::TaskManager::new(runtime.clone(), config.guard.clone(), task_settings);
        let directory = Arc::new(TenantDirectory::new(storage.system()));
        let auth = Arc::new(Auth::new(&config.api_keys, config.admin_key.as_deref(), config.jwt_secret.as_deref(), directory));
        let polling = config.event_poll.map(|every| crate::triggers::objects::Polling { every, auth: auth.clone() });
        let wake = JobWake::default();
        let objects = ObjectTrigger::new(std::mem::take(&mut app.object_rules), storage.clone(), polling, drain.clone(), wake.clone());
        let host_id = config.host_id.clone().unwrap_or_else(|| runtime.host_id());
        let work = crate::triggers::queue::WorkQueue::default();
        let jobs = Arc::new(JobsTrigger {
            workers: app.job_workers(),
            storage: storage.clone(),
            auth: auth.clone(),
            owner: host_id,
            step_deadline: config.job_step_deadline,
            lease: config.job_lease,
            wake: wake.clone(),
            tenant_defaults: config.tenant_defaults.clone(),
            last_stepped: Default::default(),
            drain: drain.clone(),
            work: work.clone(),
        });
        let queues = QueueTrigger::new(&manifest.trigger.queue, objects.clone(), jobs.clone(), work, drain.clone());
        let (storage_for_tasks, auth_for_tasks) = (storage.clone(), auth.clone());
        let http = HttpTrigger {
            router: app.router,
            storage,
            auth,
            body_limits: config.body,
            connections: config.connections,
            jobs: wake,
            events: objects.clone(),
            listener: Default::default(),
            rate: Default::default(),
            tenant_defaults: config.tenant_defaults.clone(),
            runtime: runtime.clone(),
            stored: Default::default(),
            tasks: tasks.clone(),
            analytics: Arc::new(frameflow_analytics::Analytics::new(runtime.clone(), &config.cache_dir, config.guard.clone(), config.chunk_seconds)),
            drain: drain.clone(),
            sns: Arc::new(crate::triggers::sns::Sns::new(config.sns.clone(), &config.guard)),
        };
        let tasks = Arc::new(TasksTrigger { manager: tasks, storage: storage_for_tasks, auth: auth_for_tasks, every: task_lease / 2, drain: drain.clone() });
        crate::metrics::handle();
        Ok(Server { metrics_listen: config.metrics_listen, http: Arc::new(http), jobs, objects, queues, tasks, drain })
    }
}

/// Serves `server` on `listen` until `stop` resolves (the process's SIGTERM or Ctrl-C:
/// [`crate::drain::stop_signal`]), then drains (see [`crate::drain`]) and returns `Ok`.
/// `ready` is called with the bound address (port 0 picks a free port) before any work
/// starts.
pub async fn serve(server: Server, listen: SocketAddr, ready: impl FnOnce(SocketAddr), stop: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    tokio::spawn(crate::metrics::upkeep());
    // The probe address first: once `ready` says the host listens, both answer.
    if let Some(addr) = server.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} for metrics"))?;
        // The bound address (port 0 picks a free one): scripts and tests read this line.
        let addr = listener.local_addr()?;
        tracing::info!(%addr, "metrics and probes at http://{addr}/metrics, /healthz, /readyz");
        tokio::spawn(crate::metrics::serve(listener, server.http.clone()));
    }
    ready(listener.local_addr()?);
    server.http.listen_on(listener);
    let drain = server.drain.clone();
    tokio::spawn(async move {
        stop.await;
        drain.start();
    });
    let triggers: Vec<Arc<dyn Trigger>> = vec![server.http, server.jobs, server.objects, server.queues, server.tasks];
    run_all(triggers, &server.drain).await
}

/// One invocation's worth of work, for a function runtime that loads the same application
/// (manifest, components, runtime config) and is handed events instead of serving them:
/// `frameflow-lambda` (`host/lambda`).
impl Server {
    /// The records of an S3 event delivered through the object triggers, waiting for their
    /// effect: how many deliveries ran, or why one failed (the caller retries the event;
    /// a second delivery of one already handled finds its marker and does nothing).
    pub async fn object_event(&self, event: aws_lambda_events::s3::S3Event) -> Result<u64, String> {
        let (events, ignored) = self.objects.located(event, None)?;
        if ignored > 0 {
            tracing::info!(ignored, "records of another bucket or outside the deployment's prefix ignored");
        }
        let mut delivered = 0;
        for (tenant, event) in events {
            delivered += self.objects.deliver_queued(&tenant, event, None, false).await.map_err(|failed| failed.error)?;
        }
        Ok(delivered)
    }

    /// A queue message's body, as `[[trigger.queue]]` handles it: `Ok` when the message may
    /// be deleted, else why it must come back.
    pub async fn queue_message(&self, body: &str) -> Result<(), String> {
        match crate::triggers::queue::handle_body(&self.objects, &self.jobs, body, None, false).await {
            crate::triggers::queue::Handled::Done => Ok(()),
            crate::triggers::queue::Handled::Again(why) => Err(why),
        }
    }

    /// One HTTP request answered in full, through the same routes, credentials, limits and
    /// components as the listener's (a Lambda function URL or API Gateway request).
    pub async fn http_request(&self, req: hyper::Request<bytes::Bytes>) -> hyper::Response<bytes::Bytes> {
        use http_body_util::BodyExt;
        let response = self.http.handle(req.map(|bytes| http_body_util::Full::new(bytes).map_err(|never| match never {}).boxed())).await;
        let (parts, body) = response.into_parts();
        match body.collect().await {
            Ok(body) => hyper::Response::from_parts(parts, body.to_bytes()),
            Err(e) => {
                // A streamed answer that broke off: the function cannot send half of it.
                tracing::warn!("a response broke off: {e}");
                let problem = crate::problem::body(502, "response_broken", &format!("the response broke off: {e}")).to_string();
                hyper::Response::builder()
                    .status(502)
                    .header("content-type", crate::problem::PROBLEM_JSON)
                    .body(bytes::Bytes::from(problem))
                    .expect("static response parts are valid")
            }
        }
    }

    /// Runs job steps (every tenant's, round-robin) until none is left or `until` passes;
    /// how many steps worked.
    pub async fn run_jobs(&self, until: std::time::Instant) -> u64 {
        self.jobs.run_until(until).await
    }
}
