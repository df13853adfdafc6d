//! [`QueueTrigger`]: SQS queues as a source of object events (`[[trigger.queue]]`), read
//! with the AWS SDK by long polling. A message's body is an S3 event notification (sent to
//! the queue by S3), an SNS envelope around one (an SNS topic subscribed to the queue), or
//! S3's `s3:TestEvent`; opened by [`super::notification::open`] like a body posted to
//! `/v1/events/s3`, its records go through the `[[trigger.object]]` rules.
//!
//! A message is deleted only after its effect is stored (every matching rule's delivery
//! done, or a duplicate of one done). A failing one is left: it comes back after the
//! visibility timeout, and once `ApproximateReceiveCount` reaches the queue's redrive
//! `maxReceiveCount` its failure is kept in the tenant's dead-letter list and SQS moves the
//! message to the dead-letter queue. A handler that says it will never work is
//! dead-lettered at once and the message deleted. Malformed bodies are left for the
//! redrive policy. No signature is checked on SNS envelopes here: the queue's access policy
//! decides who may send.
//!
//! A queue with `work = true` also carries jobs' chunks as work messages ([`WorkMessage`]):
//! the host that plans a job sends one per chunk ([`WorkQueue`]), and whichever host (or
//! Lambda invocation) receives one runs that chunk; the chunk claims in the store stay the
//! guard against a chunk run twice at once. A message whose chunk another live host holds
//! comes back after its visibility timeout.
//!
//! A message stays hidden while it is handled, however long that takes (its visibility is
//! extended every half timeout). Draining: receiving stops, messages being handled finish,
//! those received but not started are made visible again at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry};
use serde::{Deserialize, Serialize};

use crate::drain::Drain;
use crate::manifest::QueueTriggerSpec;
use crate::triggers::notification::{open, Envelope};
use crate::triggers::objects::MAX_NOTIFICATION_BYTES;
use crate::triggers::{JobsTrigger, ObjectTrigger};

/// Pause after a receive that failed (the queue's service unreachable), doubled up to 30 s.
const RECEIVE_BACKOFF: Duration = Duration::from_millis(500);

/// A job chunk to run: the body of a work message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkMessage {
    /// Always `"chunk"`: tells a work message from an object event.
    pub frameflow: String,
    pub tenant: String,
    /// The job component that owns the job.
    pub component: String,
    pub job: String,
    pub chunk: u64,
    pub attempt: u32,
}

impl WorkMessage {
    /// A body that is a work message, else `None` (an object event, or nothing usable).
    fn parse(body: &str) -> Option<Result<WorkMessage, String>> {
        let value: serde_json::Value = serde_json::from_str(body).ok()?;
        (value.get("frameflow").and_then(|v| v.as_str()) == Some("chunk"))
            .then(|| serde_json::from_value(value).map_err(|e| format!("not a valid work message: {e}")))
    }
}

/// The queue that carries work messages, once its consumer has started on this host;
/// unset (no work queue): each host's scheduler claims chunks itself.
#[derive(Clone, Default)]
pub struct WorkQueue(Arc<OnceLock<(aws_sdk_sqs::Client, String)>>);

impl WorkQueue {
    pub fn is_set(&self) -> bool {
        self.0.get().is_some()
    }

    /// Sends a work message for each of `chunks` chunks of `job` (10 per request).
    pub(crate) async fn send_chunks(&self, tenant: &str, component: &str, job: &str, chunks: u64) -> Result<(), String> {
        let Some((client, url)) = self.0.get() else { return Err("no work queue".into()) };
        let all: Vec<u64> = (0..chunks).collect();
        for batch in all.chunks(10) {
            let mut request = client.send_message_batch().queue_url(url);
            for &chunk in batch {
                let message = WorkMessage { frameflow: "chunk".into(), tenant: tenant.into(), component: component.into(), job: job.into(), chunk, attempt: 1 };
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(chunk.to_string())
                    .message_body(serde_json::to_string(&message).expect("work messages serialize"))
                    .build()
                    .map_err(|e| e.to_string())?;
                request = request.entries(entry);
            }
            let sent = request.send().await.map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())?;
            if let Some(failed) = sent.failed().first() {
                return Err(format!("the queue refused work message {}: {}", failed.id(), failed.message().unwrap_or("")));
            }
        }
        metrics::counter!("frameflow_work_messages_total", "outcome" => "sent").increment(chunks);
        Ok(())
    }
}

/// One `[[trigger.queue]]` with its client.
struct Queue {
    spec: QueueTriggerSpec,
    client: aws_sdk_sqs::Client,
}

/// The queue trigger of this host.
pub struct QueueTrigger {
    specs: Vec<QueueTriggerSpec>,
    objects: Arc<ObjectTrigger>,
    /// Runs the work messages' chunks.
    jobs: Arc<JobsTrigger>,
    /// Set to the work queue's client when its consumer starts.
    work: WorkQueue,
    drain: Drain,
}

/// What became of one message.
#[derive(Debug, PartialEq)]
pub(crate) enum Handled {
    /// Its effect is stored (or there was nothing to do): delete it.
    Done,
    /// Not now: leave it to come back (and, past the redrive policy, to the DLQ).
    Again(String),
}

fn count(outcome: &'static str) {
    metrics::counter!("frameflow_queue_messages_total", "outcome" => outcome).increment(1);
}

/// The region a queue URL names (`sqs.REGION.amazonaws.com`), else the environment's.
fn region_of(url: &url::Url) -> String {
    let named = url.host_str().and_then(|h| h.strip_prefix("sqs.")).and_then(|h| h.split('.').next()).filter(|r| !r.is_empty() && *r != "amazonaws");
    named
        .map(str::to_string)
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .unwrap_or_else(|| "us-east-1".into())
}

/// An SQS client for the queue at `url`: its endpoint is the URL's origin (the regional
/// endpoint on AWS, a stand-in's address elsewhere), credentials from the default chain
/// (environment, profile, web identity for EKS, ECS/EC2 roles).
async fn client_for(url: &str) -> anyhow::Result<aws_sdk_sqs::Client> {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let parsed = url::Url::parse(url)?;
    let origin = parsed.origin().ascii_serialization();
    let http = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .region(aws_config::Region::new(region_of(&parsed)))
        .endpoint_url(origin)
        .load()
        .await;
    Ok(aws_sdk_sqs::Client::new(&config))
}

impl QueueTrigger {
    /// The manifest's queues; their clients are made when the trigger runs.
    pub fn new(specs: &[QueueTriggerSpec], objects: Arc<ObjectTrigger>, jobs: Arc<JobsTrigger>, work: WorkQueue, drain: Drain) -> Arc<QueueTrigger> {
        Arc::new(QueueTrigger { specs: specs.to_vec(), objects, jobs, work, drain })
    }

    /// The queue's redrive `maxReceiveCount`, when it has a redrive policy.
    async fn max_receives(queue: &Queue) -> Option<u32> {
        let attributes = queue.client.get_queue_attributes().queue_url(&queue.spec.url).attribute_names(QueueAttributeName::RedrivePolicy).send().await;
        let policy = match attributes {
            Ok(out) => out.attributes().and_then(|a| a.get(&QueueAttributeName::RedrivePolicy)).cloned(),
            Err(e) => {
                tracing::warn!(queue = %queue.spec.url, "the queue's attributes cannot be read: {}", aws_sdk_sqs::error::DisplayErrorContext(&e));
                None
            }
        }?;
        let policy: serde_json::Value = serde_json::from_str(&policy).ok()?;
        let max = &policy["maxReceiveCount"];
        max.as_u64().or_else(|| max.as_str().and_then(|s| s.parse().ok())).map(|n| n as u32)
    }

    /// Receives and handles messages of one queue until the drain starts.
    async fn consume(self: Arc<Self>, queue: Arc<Queue>) {
        let max_receives = Self::max_receives(&queue).await;
        if max_receives.is_none() {
            tracing::warn!(queue = %queue.spec.url, "the queue has no redrive policy: a message that keeps failing comes back until it expires");
        }
        tracing::info!(queue = %queue.spec.url, max_receives, "reading object events from the queue");
        let mut backoff = RECEIVE_BACKOFF;
        while !self.drain.is_draining() {
            let receive = queue
                .client
                .receive_message()
                .queue_url(&queue.spec.url)
                .max_number_of_messages(queue.spec.max_messages as i32)
                .wait_time_seconds(queue.spec.wait_s as i32)
                .visibility_timeout(queue.spec.visibility_timeout_s as i32)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send();
            let received = tokio::select! {
                received = receive => received,
                _ = self.drain.started() => break,
            };
            let messages = match received {
                Ok(out) => {
                    backoff = RECEIVE_BACKOFF;
                    out.messages.unwrap_or_default()
                }
                Err(e) => {
                    tracing::warn!(queue = %queue.spec.url, "receiving from the queue failed: {}", aws_sdk_sqs::error::DisplayErrorContext(&e));
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = self.drain.started() => break,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    continue;
                }
            };
            let mut handling = tokio::task::JoinSet::new();
            for message in messages {
                if self.drain.is_draining() {
                    // Received, not started: another host may take it at once.
                    if let Some(receipt) = message.receipt_handle() {
                        let returned = queue.client.change_message_visibility().queue_url(&queue.spec.url).receipt_handle(receipt).visibility_timeout(0).send().await;
                        if let Err(e) = returned {
                            tracing::warn!("an unstarted message could not be returned (it comes back after its timeout): {}", aws_sdk_sqs::error::DisplayErrorContext(&e));
                        }
                    }
                    count("returned");
                    continue;
                }
                let (trigger, queue, working) = (self.clone(), queue.clone(), self.drain.working());
                handling.spawn(async move {
                    let _working = working;
                    trigger.settle(&queue, message, max_receives).await;
                });
            }
            while handling.join_next().await.is_some() {}
        }
    }

    /// Handles one message and deletes it when done.
    async fn settle(&self, queue: &Queue, message: Message, max_receives: Option<u32>) {
        let receives = message
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(1);
        let last_try = max_receives.is_some_and(|max| receives >= max);
        let span = tracing::info_span!("queue_message", queue = %queue.spec.url, id = message.message_id().unwrap_or(""), receives);
        let handled = {
            use tracing::Instrument;
            let handling = handle_body(&self.objects, &self.jobs, message.body().unwrap_or(""), queue.spec.component.as_deref(), last_try).instrument(span.clone());
            tokio::pin!(handling);
            // Work longer than the visibility timeout (a big chunk) keeps the message hidden,
            // so no other consumer starts it again meanwhile: extended every half timeout.
            let every = Duration::from_secs((queue.spec.visibility_timeout_s / 2).max(1) as u64);
            let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tokio::select! {
                    handled = &mut handling => break handled,
                    _ = beat.tick() => {
                        if let Some(receipt) = message.receipt_handle() {
                            let extended = queue.client.change_message_visibility().queue_url(&queue.spec.url).receipt_handle(receipt).visibility_timeout(queue.spec.visibility_timeout_s as i32).send().await;
                            if let Err(e) = extended {
                                span.in_scope(|| tracing::warn!("the message's visibility could not be extended: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)));
                            }
                        }
                    }
                }
            }
        };
        match handled {
            Handled::Done => {
                let Some(receipt) = message.receipt_handle() else { return };
                match queue.client.delete_message().queue_url(&queue.spec.url).receipt_handle(receipt).send().await {
                    Ok(_) => count("deleted"),
                    // Its effect is stored: a second delivery finds the event's marker done.
                    Err(e) => span.in_scope(|| tracing::warn!("a handled message could not be deleted: {}", aws_sdk_sqs::error::DisplayErrorContext(&e))),
                }
            }
            Handled::Again(why) => {
                count(if last_try { "dead_letter" } else { "kept" });
                span.in_scope(|| tracing::warn!(last_try, "the message stays on the queue: {why}"));
            }
        }
    }
}

/// Handles one queue message's body: its events delivered through the object triggers (of
/// `component` only, when given). For the queue trigger and for a Lambda function's SQS
/// events alike.
pub(crate) async fn handle_body(objects: &ObjectTrigger, jobs: &JobsTrigger, body: &str, component: Option<&str>, last_try: bool) -> Handled {
    if body.len() > MAX_NOTIFICATION_BYTES {
        count("malformed");
        return Handled::Again(format!("the body is over {MAX_NOTIFICATION_BYTES} bytes"));
    }
    match WorkMessage::parse(body) {
        Some(Ok(work)) => return jobs.run_work(&work).await,
        Some(Err(why)) => {
            count("malformed");
            return Handled::Again(why);
        }
        None => {}
    }
    let opened = match open(body.as_bytes()) {
        Ok(Envelope::Sns(sns)) => open(sns.message.as_bytes()),
        other => other,
    };
    let event = match opened {
        Ok(Envelope::Records(event)) => event,
        Ok(Envelope::TestEvent { bucket }) => {
            tracing::info!(%bucket, "S3 test event: the bucket's notifications reach this queue");
            return Handled::Done;
        }
        Ok(Envelope::Sns(_)) => {
            count("malformed");
            return Handled::Again("an SNS message inside an SNS message".into());
        }
        Err(why) => {
            count("malformed");
            return Handled::Again(why);
        }
    };
    let (events, ignored) = match objects.located(event, None) {
        Ok(found) => found,
        Err(why) => {
            count("malformed");
            return Handled::Again(why);
        }
    };
    if ignored > 0 {
        tracing::debug!(ignored, "records of another bucket, prefix or tenant ignored");
    }
    for (tenant, event) in events {
        match objects.deliver_queued(&tenant, event, component, last_try).await {
            Ok(_) => {}
            // Kept in the tenant's dead-letter list for good: the message can go.
            Err(failed) if failed.dead_letter => {}
            Err(failed) => return Handled::Again(failed.error),
        }
    }
    Handled::Done
}

impl super::Trigger for QueueTrigger {
    fn kind(&self) -> &'static str {
        "queue"
    }

    fn run(self: Arc<Self>) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> {
        Box::pin(async move {
            let mut consumers = tokio::task::JoinSet::new();
            for spec in &self.specs {
                let client = client_for(&spec.url).await?;
                if spec.work {
                    let _ = self.work.0.set((client.clone(), spec.url.clone()));
                }
                consumers.spawn(self.clone().consume(Arc::new(Queue { spec: spec.clone(), client })));
            }
            while consumers.join_next().await.is_some() {}
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_messages_are_told_from_events() {
        let work = r#"{"frameflow": "chunk", "tenant": "default", "component": "jobs", "job": "j0123456789ab0001", "chunk": 3, "attempt": 1}"#;
        assert_eq!(WorkMessage::parse(work).unwrap().unwrap().chunk, 3);
        assert!(WorkMessage::parse(r#"{"frameflow": "chunk", "job": 5}"#).unwrap().is_err(), "a broken work message is malformed");
        assert!(WorkMessage::parse(r#"{"Records": []}"#).is_none(), "an S3 event");
        assert!(WorkMessage::parse("{not json").is_none());
    }

    #[test]
    fn the_region_comes_from_the_queue_url() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(region_of(&url("https://sqs.eu-west-3.amazonaws.com/123456789012/uploads")), "eu-west-3");
        let elsewhere = region_of(&url("http://127.0.0.1:5000/123456789012/uploads"));
        assert!(!elsewhere.is_empty());
    }
}
