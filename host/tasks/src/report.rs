//! Reports: seed 004's report JSON, kept in the store and pushed to the task's URLs.
//!
//! ```json
//! {"TaskID": "t1", "SrcID": "...", "FrameIndex": 87, "SceneImageBase64": "<JPEG>",
//!  "AnalyzeEvents": [{"ImageBase64": "<JPEG crop>", "Type": 1,
//!                     "Box": {"LeftTopX": 10, "LeftTopY": 20, "RightBtmX": 70, "RightBtmY": 80},
//!                     "Extend": {"Label": "intrusion", "ObjectID": 3, "Analyzer": "area_intrusion",
//!                                "Time": 3.48, "Pts": 87, "Area": 0}}]}
//! ```
//!
//! A report is written to `tasks/{id}/events/{seq}.json` before it is sent, so nothing is
//! lost when every URL is down. Delivery is at least once: a report whose delivery was in
//! flight when its host died is sent again by the host that resumes the task, with the same
//! `Idempotency-Key: {task}/{seq}` header as every attempt, so a receiver can drop the copy;
//! a report is never made twice. The [`Reporter`] sends report `seq` to URL `seq mod n`
//! first (round-robin: load spread over the list), then the others, for three rounds with
//! backoff; the stored report records where it went, or that it could not be delivered
//! (unless the task was deleted meanwhile: the outcome is never written over nothing).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use frameflow_store::{StoreError, TenantStore, WriteMode};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// How a stored report was delivered.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Delivery {
    /// `pending`, `delivered`, `failed` (stored only) or `none` (the task has no URLs).
    pub state: String,
    pub delivered_to: Option<String>,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// One report as it is stored.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct StoredReport {
    pub seq: u64,
    pub frame_index: u64,
    pub created_ms: u64,
    pub report: Value,
    pub delivery: Delivery,
}

pub fn event_key(task: &str, seq: u64) -> String {
    format!("tasks/{task}/events/{seq:010}.json")
}

/// JPEG of an RGB24 picture, base64.
pub fn jpeg_base64(rgb: &[u8], width: u32, height: u32) -> String {
    let image = frameflow_media::RgbImage { width, height, data: rgb.to_vec() };
    match frameflow_media::encode_image(&image, frameflow_media::ImageFormat::Jpeg, 80) {
        Ok(bytes) => base64::engine::general_purpose::STANDARD.encode(bytes),
        Err(_) => String::new(),
    }
}

/// The crop of `rgb` inside the box (clipped to the picture), as RGB24 and its size.
pub fn crop(rgb: &[u8], width: u32, height: u32, x: i32, y: i32, w: i32, h: i32) -> Option<(Vec<u8>, u32, u32)> {
    let (x0, y0) = (x.clamp(0, width as i32) as usize, y.clamp(0, height as i32) as usize);
    let (x1, y1) = ((x + w).clamp(0, width as i32) as usize, (y + h).clamp(0, height as i32) as usize);
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    let mut out = Vec::with_capacity((x1 - x0) * (y1 - y0) * 3);
    for row in y0..y1 {
        let start = (row * width as usize + x0) * 3;
        out.extend_from_slice(&rgb[start..start + (x1 - x0) * 3]);
    }
    Some((out, (x1 - x0) as u32, (y1 - y0) as u32))
}

/// One event of a report in the seed's shape.
pub fn analyze_event(type_field: Value, bbox: Option<(i32, i32, i32, i32)>, image_base64: String, extend: Value) -> Value {
    let (x, y, w, h) = bbox.unwrap_or((0, 0, 0, 0));
    json!({
        "ImageBase64": image_base64,
        "Type": type_field,
        "Box": {"LeftTopX": x, "LeftTopY": y, "RightBtmX": x + w, "RightBtmY": y + h},
        "Extend": extend,
    })
}

/// A report to deliver: where it is stored and where it goes.
pub struct Outgoing {
    pub tenant: TenantStore,
    pub task: String,
    pub urls: Vec<String>,
    pub stored: StoredReport,
}

/// Pushes reports to their URLs (at most [`PARALLEL`] at once), recording the outcome on
/// the stored report.
#[derive(Clone)]
pub struct Reporter {
    queue: tokio::sync::mpsc::UnboundedSender<Outgoing>,
}

/// Reports being delivered at once.
pub const PARALLEL: usize = 16;
/// Rounds over the URL list before a report is left stored only.
const ROUNDS: u32 = 3;

impl Reporter {
    /// Starts the delivery loop on the current runtime; `client` is the guarded one.
    pub fn start(client: reqwest::Client) -> Reporter {
        let (queue, mut incoming) = tokio::sync::mpsc::unbounded_channel::<Outgoing>();
        let slots = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
        tokio::spawn(async move {
            while let Some(out) = incoming.recv().await {
                let Ok(slot) = slots.clone().acquire_owned().await else { break };
                let client = client.clone();
                tokio::spawn(async move {
                    deliver(&client, out).await;
                    drop(slot);
                });
            }
        });
        Reporter { queue }
    }

    pub fn send(&self, out: Outgoing) {
        if self.queue.send(out).is_err() {
            tracing::warn!("the reporter has stopped; the report stays stored");
        }
    }
}

async fn deliver(client: &reqwest::Client, mut out: Outgoing) {
    let n = out.urls.len();
    if n == 0 {
        return;
    }
    let body = serde_json::to_vec(&out.stored.report).expect("reports serialize");
    let first = (out.stored.seq % n as u64) as usize;
    let mut delivered = None;
    'rounds: for round in 0..ROUNDS {
        if round > 0 {
            tokio::time::sleep(Duration::from_millis(500 << round)).await;
        }
        for k in 0..n {
            let url = &out.urls[(first + k) % n];
            out.stored.delivery.attempts += 1;
            // The same key on every attempt: a report sent again (after a restart, when its
            // delivery was in flight) can be told from a new one.
            let sent = client
                .post(url)
                .header("content-type", "application/json")
                .header("idempotency-key", format!("{}/{}", out.task, out.stored.seq))
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    delivered = Some(url.clone());
                    break 'rounds;
                }
                Ok(r) => out.stored.delivery.last_error = Some(format!("{url} answered {}", r.status())),
                Err(e) => out.stored.delivery.last_error = Some(format!("{url}: {e}")),
            }
        }
    }
    let outcome = if delivered.is_some() { "delivered" } else { "failed" };
    metrics::counter!("frameflow_task_reports_total", "outcome" => outcome).increment(1);
    out.stored.delivery.state = outcome.into();
    out.stored.delivery.delivered_to = delivered;
    if outcome == "failed" {
        tracing::warn!(task = %out.task, seq = out.stored.seq, error = ?out.stored.delivery.last_error, "a report could not be delivered; it stays stored");
    }
    let json = serde_json::to_vec(&out.stored).expect("reports serialize");
    // Over the report as stored only: a task deleted while its report was being delivered
    // (seconds, with retries) must not have `tasks/{id}/events/` made again by an overwrite.
    let key = event_key(&out.task, out.stored.seq);
    let recorded = match out.tenant.head(&key).await {
        Ok(meta) => out.tenant.put(&key, Bytes::from(json), meta.etag.map_or(WriteMode::Overwrite, WriteMode::IfMatch)).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match recorded {
        Ok(()) | Err(StoreError::NotFound(_) | StoreError::PreconditionFailed(_)) => {}
        Err(e) => tracing::warn!(task = %out.task, seq = out.stored.seq, "the delivery of a report was not recorded: {e}"),
    }
}
