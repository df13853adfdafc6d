//! [`ObjectTrigger`]: object-storage events to components (`[[trigger.object]]`).
//!
//! Events come from S3 notifications (`POST /v1/events/s3`, the JSON S3 and compatible
//! servers send to HTTP/SNS/queue targets, parsed with `aws_lambda_events`) and, for the
//! embedded file store, from the store itself after every write; for servers that cannot
//! push, a poller lists the watched prefixes with a cursor kept in the store
//! (`events/poll/{trigger}.json`, setting `event_poll_ms`). Each event is matched
//! against the triggers (tenant-relative prefix and suffix, event name with `*`), then
//! delivered **at least once with one effect**: a marker `events/seen/{rule}-{event}` in the
//! tenant's space is created with a create-only write before the handler runs, so a second
//! delivery (to this host or another on the same bucket) finds it and stops; a marker left
//! `processing` by a host that died is taken over (if-match) once its lease runs out. A
//! failing handler is retried with backoff; after the last try, or at once when the handler
//! says it will never work, the event is kept in the tenant's dead-letter list
//! (`events/failed/`), listed by `GET /v1/events/failed` and re-run by
//! `POST /v1/events/failed/{id}/retry`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use frameflow_runtime::{EventFailure, EventHandler, ObjectEvent};
use frameflow_store::{ObjectStorage, StoreError, TenantStore, WriteMode, WrittenObject};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Digest;

use crate::drain::Drain;
use crate::manifest::ObjectTriggerSpec;

/// Tries per event before it goes to the dead-letter list, and the pause before each retry.
const BACKOFF: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(2)];
/// How long a `processing` marker holds off other deliveries of the same event.
const CLAIM_MS: u64 = 10 * 60 * 1000;
/// Largest notification body accepted.
pub const MAX_NOTIFICATION_BYTES: usize = 1 << 20;

/// One `[[trigger.object]]` with its loaded handler.
pub struct ObjectRule {
    pub spec: ObjectTriggerSpec,
    pub handler: Arc<EventHandler>,
    /// The settings the handler gets (`{"job": {...}}`).
    pub settings: String,
    /// A short stable name for markers and dead letters.
    pub id: String,
}

impl ObjectRule {
    pub fn new(spec: ObjectTriggerSpec, handler: Arc<EventHandler>) -> ObjectRule {
        let settings = json!({"job": spec.job.as_ref().map(|t| serde_json::to_value(t).unwrap_or(Value::Null))}).to_string();
        let described = format!("{}|{}|{}|{}|{settings}", spec.component, spec.prefix, spec.suffix, spec.events.join(","));
        let id = hex::encode(&sha2::Sha256::digest(described.as_bytes())[..4]);
        ObjectRule { spec, handler, settings, id }
    }

    fn matches(&self, event: &ObjectEvent) -> bool {
        event.key.starts_with(&self.spec.prefix)
            && event.key.ends_with(&self.spec.suffix)
            && self.spec.events.iter().any(|pattern| glob(pattern, &event.name))
    }
}

/// `*` matches any run of characters; everything else itself.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head) && (0..=text.len() - head.len()).any(|i| text.is_char_boundary(head.len() + i) && glob(tail, &text[head.len() + i..]))
        }
    }
}

/// What happened to the events of one notification.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Intake {
    /// Events queued for delivery (one per matching trigger).
    pub accepted: u64,
    /// Records outside this deployment, another tenant's, or matching no trigger.
    pub ignored: u64,
}

/// The delivery state kept per event and trigger.
#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    state: String,
    until_ms: u64,
    #[serde(default)]
    result: Option<String>,
}

/// A dead letter: the event, the trigger and why it was given up.
#[derive(Debug, Serialize, Deserialize)]
struct DeadLetter {
    id: String,
    rule: String,
    component: String,
    event: ObjectEvent,
    error: String,
    attempts: u32,
    failed_ms: u64,
}

/// Why a delivery did not happen; `dead_letter`: the handler will never take the event, and
/// it is kept in the tenant's dead-letter list (a queue deletes such a message).
#[derive(Debug)]
pub(crate) struct Undelivered {
    pub error: String,
    pub dead_letter: bool,
}

/// What [`ObjectTrigger::claim`] found.
enum Claim {
    /// This delivery runs the handler.
    Ours,
    /// Handled already (or given up on, for pushed events).
    Done,
    /// Another delivery holds it now.
    Busy,
}

/// How one delivery of an event runs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// Pushed (a notification, the store's write hook, a poll): tried with backoff here,
    /// then a dead letter.
    Pushed,
    /// A dead letter run again: takes the marker whatever it says.
    Retry,
    /// From a queue, which redelivers what is not deleted: one try, a `failed` marker is
    /// taken over, a dead letter only on the queue's last try.
    Queued { last_try: bool },
}

/// How often to list the watched prefixes for new or changed objects, and for which tenants
/// (for stores that cannot push notifications).
#[derive(Clone)]
pub struct Polling {
    pub every: Duration,
    /// Who is served: the tenants are asked for on every round, so new ones are polled too.
    pub auth: Arc<crate::auth::Auth>,
}

/// Where a poll of one trigger's prefix got to: objects modified after `since_ms`, or at
/// `since_ms` but not among `seen`, are new.
#[derive(Debug, Default, Serialize, Deserialize)]
struct PollCursor {
    since_ms: u64,
    seen: Vec<String>,
}

/// The object trigger of this host.
pub struct ObjectTrigger {
    rules: Vec<ObjectRule>,
    storage: Arc<ObjectStorage>,
    polling: Option<Polling>,
    /// Deliveries in progress count as work in flight; polling stops when it starts.
    drain: Drain,
    /// Told after an event was handled: the handler may have started a job.
    jobs: super::JobWake,
}

/// Counts an event by what became of it (`frameflow_events_total{outcome}`).
fn count(outcome: &'static str) {
    metrics::counter!("frameflow_events_total", "outcome" => outcome).increment(1);
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The id every delivery of one event shares: bucket, key and version (etag, else
/// sequencer, else size).
pub fn event_id(bucket: &str, tenant: &str, key: &str, version: &str) -> String {
    hex::encode(sha2::Sha256::digest(format!("{bucket}\0{tenant}\0{key}\0{version}").as_bytes()))
}

/// `%XX` and `+` as S3 notifications encode object keys.
fn decode_key(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = raw.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

impl ObjectTrigger {
    pub fn new(rules: Vec<ObjectRule>, storage: Arc<ObjectStorage>, polling: Option<Polling>, drain: Drain, jobs: super::JobWake) -> Arc<ObjectTrigger> {
        let trigger = Arc::new(ObjectTrigger {
            rules,
            storage: storage.clone(),
            polling,
            drain,
            jobs,
        });
        if !trigger.rules.is_empty() && storage.is_local() {
            // The embedded store sends no notifications: it tells the trigger of each write.
            let weak = Arc::downgrade(&trigger);
            storage.on_write(move |written: WrittenObject| {
                if let Some(trigger) = weak.upgrade() {
                    trigger.written(written);
                }
            });
        }
        trigger
    }

    fn written(self: &Arc<Self>, w: WrittenObject) {
        let version = w.etag.clone().unwrap_or_else(|| w.size.to_string());
        let event = ObjectEvent {
            id: event_id("", &w.tenant, &w.key, &version),
            name: "ObjectCreated:Put".into(),
            bucket: String::new(),
            key: w.key,
            size: w.size,
            etag: w.etag,
            time: rfc3339_now(),
            sequencer: None,
        };
        self.accept(&w.tenant, event);
    }

    /// Queues delivery of `event` to every matching trigger; how many matched.
    pub fn accept(self: &Arc<Self>, tenant: &str, event: ObjectEvent) -> u64 {
        let matching: Vec<usize> = (0..self.rules.len()).filter(|&i| self.rules[i].matches(&event)).collect();
        if matching.is_empty() {
            count("ignored");
            return 0;
        }
        let Ok(store) = self.storage.tenant(tenant) else {
            count("ignored");
            return 0;
        };
        for &rule in &matching {
            self.spawn_delivery(rule, store.clone(), event.clone());
        }
        matching.len() as u64
    }

    /// Queues the records of an S3 event notification (opened by
    /// [`super::notification::open`]). `tenant`: the caller's, when API keys are in use
    /// (records of other tenants are ignored).
    pub fn records(self: &Arc<Self>, parsed: aws_lambda_events::s3::S3Event, tenant: Option<&str>) -> Result<Intake, String> {
        let (events, ignored) = self.located(parsed, tenant)?;
        let mut intake = Intake { accepted: 0, ignored };
        for (owner, event) in events {
            match self.accept(&owner, event) {
                0 => intake.ignored += 1,
                n => intake.accepted += n,
            }
        }
        Ok(intake)
    }

    /// The records of a notification as events of the tenants whose keys they name, and how
    /// many were ignored (another bucket, outside the deployment's prefix, another tenant's
    /// when `tenant` is given).
    pub(crate) fn located(&self, parsed: aws_lambda_events::s3::S3Event, tenant: Option<&str>) -> Result<(Vec<(String, ObjectEvent)>, u64), String> {
        let (mut events, mut ignored) = (Vec::new(), 0);
        for record in parsed.records {
            let bucket = record.s3.bucket.name.unwrap_or_default();
            // A local store has no bucket: whatever a notification calls it, its events are
            // the same as the store's own (and the poller's), so they share ids.
            let bucket = if self.storage.bucket().is_some() { bucket } else { String::new() };
            let raw_key = record.s3.object.key.ok_or("a record has no s3.object.key")?;
            let key = decode_key(&raw_key).ok_or_else(|| format!("the key '{raw_key}' is not valid URL-encoded UTF-8"))?;
            let name = record.event_name.unwrap_or_default();
            let name = name.strip_prefix("s3:").unwrap_or(&name).to_string();
            let located = self.storage.locate(&bucket, &key).filter(|(t, _)| tenant.is_none_or(|caller| caller == t));
            let Some((owner, key)) = located else {
                count("ignored");
                ignored += 1;
                continue;
            };
            let etag = record.s3.object.e_tag.filter(|e| !e.is_empty()).map(|e| e.trim_matches('"').to_string());
            let sequencer = record.s3.object.sequencer.filter(|s| !s.is_empty());
            let size = record.s3.object.size.unwrap_or(0).max(0) as u64;
            let version = etag.clone().or_else(|| sequencer.clone()).unwrap_or_else(|| size.to_string());
            let event = ObjectEvent {
                id: event_id(&bucket, &owner, &key, &version),
                name,
                bucket,
                key,
                size,
                etag,
                time: record.event_time.to_rfc3339(),
                sequencer,
            };
            events.push((owner, event));
        }
        Ok((events, ignored))
    }

    /// Delivers `event` of `tenant` to every matching rule (of `component` only, when
    /// given) and waits for the outcome: how many rules took it, or why one failed. For a
    /// queue: one try per receipt (the queue redelivers), a dead letter only on the last
    /// (`last_try`: the queue then moves the message to its dead-letter queue) or when the
    /// handler says it will never work (then the message can go).
    pub(crate) async fn deliver_queued(&self, tenant: &str, event: ObjectEvent, component: Option<&str>, last_try: bool) -> Result<u64, Undelivered> {
        let matching: Vec<usize> =
            (0..self.rules.len()).filter(|&i| self.rules[i].matches(&event) && component.is_none_or(|c| c == self.rules[i].spec.component)).collect();
        if matching.is_empty() {
            count("ignored");
            return Ok(0);
        }
        let store = self.storage.tenant(tenant).map_err(|e| Undelivered { error: e.to_string(), dead_letter: false })?;
        let span = tracing::info_span!("object_event", tenant = %tenant, key = %event.key, event = %event.id);
        use tracing::Instrument;
        async {
            for &rule in &matching {
                self.deliver(rule, store.clone(), event.clone(), Mode::Queued { last_try }).await?;
            }
            Ok(matching.len() as u64)
        }
        .instrument(span)
        .await
    }

    /// One poll of rule `rule`'s prefix for `tenant`: every object modified since the
    /// cursor becomes an event (the same id a notification of it would have, so the two
    /// sources never deliver it twice); the cursor is saved after the listing.
    async fn poll(self: &Arc<Self>, tenant: &str, rule: usize) -> Result<u64, StoreError> {
        let store = self.storage.tenant(tenant)?;
        let spec = &self.rules[rule].spec;
        let cursor_key = format!("events/poll/{}.json", self.rules[rule].id);
        let cursor: PollCursor = match store.get(&cursor_key).await {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            Err(StoreError::NotFound(_)) => PollCursor::default(),
            Err(e) => return Err(e),
        };
        let (mut newest, mut at_newest) = (cursor.since_ms, cursor.seen.clone());
        let mut after: Option<String> = None;
        let mut queued = 0;
        let bucket = self.storage.bucket().unwrap_or_default().to_string();
        loop {
            let page = store.list(&spec.prefix, after.as_deref(), 1000).await?;
            for meta in &page.objects {
                let changed = meta.last_modified_ms > cursor.since_ms || (meta.last_modified_ms == cursor.since_ms && !cursor.seen.contains(&meta.key));
                if !changed || !meta.key.ends_with(&spec.suffix) {
                    continue;
                }
                match meta.last_modified_ms.cmp(&newest) {
                    std::cmp::Ordering::Greater => {
                        newest = meta.last_modified_ms;
                        at_newest = vec![meta.key.clone()];
                    }
                    std::cmp::Ordering::Equal => at_newest.push(meta.key.clone()),
                    std::cmp::Ordering::Less => {}
                }
                let etag = meta.etag.as_deref().map(|e| e.trim_matches('"').to_string());
                let version = etag.clone().unwrap_or_else(|| meta.size.to_string());
                let event = ObjectEvent {
                    id: event_id(&bucket, tenant, &meta.key, &version),
                    name: "ObjectCreated:Put".into(),
                    bucket: bucket.clone(),
                    key: meta.key.clone(),
                    size: meta.size,
                    etag,
                    time: rfc3339_now(),
                    sequencer: None,
                };
                if self.rules[rule].matches(&event) {
                    self.spawn_delivery(rule, store.clone(), event);
                    queued += 1;
                }
            }
            match page.next_start_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        if queued > 0 {
            let saved = PollCursor { since_ms: newest, seen: at_newest };
            store.put(&cursor_key, serde_json::to_vec(&saved).expect("cursors serialize").into(), WriteMode::Overwrite).await?;
        }
        Ok(queued)
    }

    /// Delivers `event` to rule `rule` in the background, counted as work in flight so a
    /// drain lets it end.
    fn spawn_delivery(self: &Arc<Self>, rule: usize, store: TenantStore, event: ObjectEvent) {
        let (trigger, working) = (self.clone(), self.drain.working());
        tokio::spawn(async move {
            let _working = working;
            trigger.deliver(rule, store, event, Mode::Pushed).await
        });
    }

    /// Claims the event for this delivery (a retried dead letter takes the marker whatever
    /// it says, a queued delivery takes one that says `failed`).
    async fn claim(&self, store: &TenantStore, marker_key: &str, mode: Mode) -> Result<Claim, StoreError> {
        let claim = |until_ms| serde_json::to_vec(&Marker { state: "processing".into(), until_ms, result: None }).expect("markers serialize");
        let until = now_ms() + CLAIM_MS;
        match store.put(marker_key, claim(until).into(), WriteMode::Create).await {
            Ok(_) => return Ok(Claim::Ours),
            Err(StoreError::PreconditionFailed(_)) => {}
            Err(e) => return Err(e),
        }
        let meta = store.head(marker_key).await?;
        let current: Option<Marker> = serde_json::from_slice(&store.get(marker_key).await?).ok();
        let takeover = match &current {
            _ if mode == Mode::Retry => true,
            Some(m) if m.state == "processing" && m.until_ms >= now_ms() => return Ok(Claim::Busy),
            Some(m) if m.state == "processing" => true,
            Some(m) if m.state == "failed" => matches!(mode, Mode::Queued { .. }),
            Some(_) => false,
            None => true,
        };
        if !takeover {
            return Ok(Claim::Done);
        }
        match store.put(marker_key, claim(until).into(), WriteMode::IfMatch(meta.etag.unwrap_or_default())).await {
            Ok(_) => Ok(Claim::Ours),
            Err(StoreError::PreconditionFailed(_)) => Ok(Claim::Busy),
            Err(e) => Err(e),
        }
    }

    async fn deliver(&self, rule: usize, store: TenantStore, event: ObjectEvent, mode: Mode) -> Result<String, Undelivered> {
        let rule = &self.rules[rule];
        count(if mode == Mode::Retry { "retried" } else { "received" });
        let marker_key = format!("events/seen/{}-{}", rule.id, event.id);
        match self.claim(&store, &marker_key, mode).await {
            Ok(Claim::Ours) => {}
            // A queue's message stays until the delivery holding it has stored its effect.
            Ok(Claim::Busy) if matches!(mode, Mode::Queued { .. }) => {
                return Err(Undelivered { error: "another delivery of this event is in progress".into(), dead_letter: false });
            }
            Ok(Claim::Busy | Claim::Done) => {
                count("duplicate");
                tracing::debug!(key = %event.key, component = %rule.spec.component, "event already delivered");
                return Ok("already delivered".into());
            }
            Err(e) => {
                // Without a claim nothing runs; the source will deliver again (or the poller).
                tracing::warn!(key = %event.key, "cannot claim event: {e}");
                return Err(Undelivered { error: e.to_string(), dead_letter: false });
            }
        }
        let mut attempts = 0u32;
        // A queue retries by itself (after the visibility timeout): one try per receipt.
        let backoff: &[Duration] = if matches!(mode, Mode::Queued { .. }) { &[] } else { &BACKOFF };
        let (outcome, permanent) = loop {
            attempts += 1;
            match rule.handler.handle(store.clone(), &event, &rule.settings).await {
                Ok(done) => break (Ok(done), false),
                Err(EventFailure::Retry(why)) if (attempts as usize) <= backoff.len() => {
                    tracing::info!(key = %event.key, component = %rule.spec.component, attempts, "event handler will be retried: {why}");
                    tokio::time::sleep(backoff[attempts as usize - 1]).await;
                }
                Err(failure) => break (Err(failure.to_string()), matches!(failure, EventFailure::Rejected(_))),
            }
        };
        let mut dead_letter = false;
        let state = if outcome.is_ok() { "done" } else { "failed" };
        let marker = Marker { state: state.into(), until_ms: 0, result: Some(outcome.clone().unwrap_or_else(|e| e)) };
        let _ = store.put(&marker_key, serde_json::to_vec(&marker).expect("markers serialize").into(), WriteMode::Overwrite).await;
        match &outcome {
            Ok(done) => {
                count("handled");
                tracing::info!(key = %event.key, component = %rule.spec.component, "event handled: {done}");
                // The handler may have started a job: the job trigger looks now, not at its
                // next poll.
                self.jobs.wake();
            }
            Err(error) if matches!(mode, Mode::Queued { last_try: false }) && !permanent => {
                count("requeued");
                tracing::info!(key = %event.key, component = %rule.spec.component, "event failed; the queue delivers it again: {error}");
            }
            Err(error) => {
                count("dead_letter");
                tracing::warn!(key = %event.key, component = %rule.spec.component, attempts, "event failed: {error}");
                let letter = DeadLetter {
                    id: format!("{}-{}", rule.id, event.id),
                    rule: rule.id.clone(),
                    component: rule.spec.component.clone(),
                    event: event.clone(),
                    error: error.clone(),
                    attempts,
                    failed_ms: now_ms(),
                };
                let bytes = serde_json::to_vec(&letter).expect("dead letters serialize");
                dead_letter = store.put(&format!("events/failed/{}.json", letter.id), bytes.into(), WriteMode::Overwrite).await.is_ok();
            }
        }
        outcome.map_err(|error| Undelivered { error, dead_letter: dead_letter && permanent })
    }

    /// The tenant's dead letters, oldest key first.
    pub async fn failed(&self, store: &TenantStore) -> Result<Value, StoreError> {
        let mut letters = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.list("events/failed/", after.as_deref(), 1000).await?;
            for meta in &page.objects {
                if let Ok(letter) = serde_json::from_slice::<Value>(&store.get(&meta.key).await?) {
                    letters.push(letter);
                }
            }
            match page.next_start_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(json!({"failed": letters}))
    }

    /// Runs a dead letter's event again through its trigger; the letter is removed when it
    /// succeeds. `Ok(None)`: no such letter (or its trigger is gone from the manifest).
    pub async fn retry(&self, store: &TenantStore, id: &str) -> Result<Option<Result<String, String>>, StoreError> {
        let valid = id.len() <= 80 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        if !valid {
            return Ok(None);
        }
        let key = format!("events/failed/{id}.json");
        let letter: DeadLetter = match store.get(&key).await {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(l) => l,
                Err(_) => return Ok(None),
            },
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(rule) = self.rules.iter().position(|r| r.id == letter.rule) else { return Ok(None) };
        let outcome = self.deliver(rule, store.clone(), letter.event, Mode::Retry).await.map_err(|u| u.error);
        if outcome.is_ok() {
            store.delete(&key).await?;
        }
        Ok(Some(outcome))
    }
}

pub(crate) fn rfc3339_now() -> String {
    // Seconds since the epoch as a UTC timestamp, without a date crate.
    let secs = now_ms() / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl super::Trigger for ObjectTrigger {
    fn kind(&self) -> &'static str {
        "object"
    }

    /// Events arrive through the HTTP trigger and the store's write hook; with polling
    /// set, this lists the watched prefixes every interval as well.
    fn run(self: Arc<Self>) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> {
        Box::pin(async move {
            let Some(polling) = self.polling.clone().filter(|_| !self.rules.is_empty()) else { return Ok(()) };
            while !self.drain.is_draining() {
                for tenant in &polling.auth.tenants().await {
                    for rule in 0..self.rules.len() {
                        if let Err(e) = self.poll(tenant, rule).await {
                            // The store may be down: try again next round.
                            tracing::warn!(tenant = %tenant, "polling for object events failed: {e}");
                        }
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(polling.every) => {}
                    _ = self.drain.started() => {}
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_match_with_wildcards() {
        assert!(glob("ObjectCreated:*", "ObjectCreated:Put"));
        assert!(glob("ObjectCreated:*", "ObjectCreated:CompleteMultipartUpload"));
        assert!(!glob("ObjectCreated:*", "ObjectRemoved:Delete"));
        assert!(glob("*", "anything"));
        assert!(glob("Object*:Put", "ObjectCreated:Put"));
        assert!(!glob("ObjectCreated:Put", "ObjectCreated:Post"));
    }

    #[test]
    fn keys_decode_as_s3_encodes_them() {
        assert_eq!(decode_key("incoming/my+clip%281%29.mp4").as_deref(), Some("incoming/my clip(1).mp4"));
        assert_eq!(decode_key("a%2"), None);
        assert_eq!(decode_key("%ff%fe"), None, "not UTF-8");
    }

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_788), (2026, 12, 1));
        assert!(rfc3339_now().ends_with('Z'));
    }
}
