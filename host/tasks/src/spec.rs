//! [`TaskSpec`]: one analysis task, as it is stored and run, and the v1 JSON that makes one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::manager::TaskError;

/// Where frames come from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SourceSpec {
    /// `rtsp://…`, `http(s)://…`, `video:{id}` (a stored video) or `file:{path}` (under the
    /// media root).
    pub address: String,
    /// RTSP transport: `tcp` (default) or `udp`.
    #[serde(default = "tcp")]
    pub transport: String,
    /// Skip frames when analysis is slower than the source (files are then paced at their
    /// own rate, as a live source).
    #[serde(default)]
    pub realtime: bool,
    /// Keep every k-th frame.
    #[serde(default = "one")]
    pub sample_interval: u32,
}

fn tcp() -> String {
    "tcp".into()
}

fn one() -> u32 {
    1
}

/// One algorithm of the task: an analyzer and its parameters.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AlgorithmSpec {
    /// Seed 004's `Type`, when the task came from that API.
    #[serde(default)]
    pub type_code: Option<i64>,
    pub analyzer: String,
    /// The parameters the analyzer's `configure` gets (seed 004's `Algorithm` entry).
    #[serde(default)]
    pub params: serde_json::Value,
    /// Analyse every k-th kept frame.
    #[serde(default = "one")]
    pub detect_interval: u32,
    /// Objects whose longer side is outside `min_size..=max_size` (source pixels) are not
    /// given to the analyzer.
    #[serde(default)]
    pub min_size: i32,
    #[serde(default = "max_size")]
    pub max_size: i32,
}

fn max_size() -> i32 {
    i32::MAX
}

/// The report rule: present for `present` consecutive analysed frames → reported; again
/// only after absent for `absent`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct RuleSpec {
    pub present: u32,
    pub absent: u32,
}

impl Default for RuleSpec {
    fn default() -> Self {
        RuleSpec { present: 3, absent: 5 }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TaskSpec {
    pub id: String,
    /// Seed 004's `SrcID` (the source's own id, reported back).
    #[serde(default)]
    pub src_id: String,
    pub source: SourceSpec,
    pub algorithms: Vec<AlgorithmSpec>,
    #[serde(default)]
    pub report_urls: Vec<String>,
    #[serde(default)]
    pub rule: RuleSpec,
    #[serde(default)]
    pub created_ms: u64,
    /// `task` (seed 004) or `stream` (seed 003's `/stream/{name}`).
    #[serde(default = "task_kind")]
    pub kind: String,
    /// The store key the processed video (boxes and labels drawn, H.264 MP4) is written to
    /// when the source ends (seed 003's `video_out`).
    #[serde(default)]
    pub video_out: Option<String>,
    /// The stored video whose detections this task produces (`POST /v1/videos/{id}/analyze`):
    /// every tracked object of every analysed frame, stored when the video ends.
    #[serde(default)]
    pub detections_of: Option<String>,
}

fn task_kind() -> String {
    "task".into()
}

/// frameflow's own namespaces in a tenant's store (as the guests' `keys.rs` lists them,
/// plus `resources/`): an output key may not land in one.
const RESERVED_PREFIXES: &[&str] =
    &["videos/", "uploads/", "indexes/", "jobs/", "job-index/", "job-active/", "samplers/", "event-handlers/", "analyzers/", "tasks/", "resources/", "seed000/", "events/"];

/// Most algorithms one task runs, and report URLs it pushes to.
pub const MAX_ALGORITHMS: usize = 16;
pub const MAX_REPORT_URLS: usize = 16;

fn invalid(field: &str, message: impl Into<String>) -> TaskError {
    TaskError::Invalid { field: Some(field.to_string()), message: message.into() }
}

/// A task id: 1-64 of letters, digits, `-`, `_` and `.` (not only dots).
pub fn valid_task_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.') && !id.bytes().all(|b| b == b'.')
}

impl TaskSpec {
    /// The checks that need neither the source nor the analyzers.
    pub fn check(&self) -> Result<(), TaskError> {
        if !valid_task_id(&self.id) {
            return Err(invalid("id", format!("'{}' is not a task id: 1-64 of letters, digits, '-', '_' and '.'", self.id)));
        }
        if self.source.address.trim().is_empty() {
            return Err(invalid("source.address", "a source address is needed"));
        }
        if !matches!(self.source.transport.as_str(), "tcp" | "udp") {
            return Err(invalid("source.transport", format!("'{}' is not tcp or udp", self.source.transport)));
        }
        if self.source.sample_interval == 0 || self.source.sample_interval > 10_000 {
            return Err(invalid("source.sample_interval", "must be 1..=10000"));
        }
        if self.algorithms.is_empty() || self.algorithms.len() > MAX_ALGORITHMS {
            return Err(invalid("algorithms", format!("a task runs 1..={MAX_ALGORITHMS} algorithms")));
        }
        for (i, a) in self.algorithms.iter().enumerate() {
            if a.detect_interval == 0 || a.detect_interval > 10_000 {
                return Err(invalid(&format!("algorithms[{i}].detect_interval"), "must be 1..=10000"));
            }
            if a.min_size < 0 || a.max_size < a.min_size {
                return Err(invalid(&format!("algorithms[{i}].target_size"), "needs 0 <= min <= max"));
            }
        }
        if self.report_urls.len() > MAX_REPORT_URLS {
            return Err(invalid("report_urls", format!("at most {MAX_REPORT_URLS}")));
        }
        for (i, u) in self.report_urls.iter().enumerate() {
            match url::Url::parse(u) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
                _ => return Err(invalid(&format!("report_urls[{i}]"), format!("'{u}' is not an http(s) URL"))),
            }
        }
        if let Some(key) = &self.video_out {
            if frameflow_store::validate_key(key).is_err() || RESERVED_PREFIXES.iter().any(|p| key.starts_with(p)) || !key.ends_with(".mp4") {
                return Err(invalid("video_out", format!("'{key}' is not a key for the output: a store key ending in .mp4, outside frameflow's own prefixes")));
            }
        }
        if self.rule.present == 0 || self.rule.present > 10_000 || self.rule.absent == 0 || self.rule.absent > 100_000 {
            return Err(invalid("rule", "present must be 1..=10000 and absent 1..=100000"));
        }
        Ok(())
    }
}

/// `POST /v1/tasks`:
///
/// ```json
/// {"id": "gate-1", "source": {"address": "rtsp://cam/1", "transport": "tcp", "realtime": true,
///  "sample_interval": 1},
///  "analyzers": [{"name": "area_intrusion", "params": {"DetectInfos": [...]},
///                 "detect_interval": 1, "target_size": {"min": 30, "max": 250}}],
///  "report_urls": ["https://hooks.example.org/a"], "rule": {"present": 3, "absent": 5}}
/// ```
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct V1Task {
    id: String,
    #[serde(default)]
    src_id: String,
    source: SourceSpec,
    analyzers: Vec<V1Analyzer>,
    #[serde(default)]
    report_urls: Vec<String>,
    #[serde(default)]
    rule: Option<RuleSpec>,
    #[serde(default)]
    video_out: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct V1Analyzer {
    name: String,
    #[serde(default)]
    params: serde_json::Value,
    #[serde(default = "one")]
    detect_interval: u32,
    #[serde(default)]
    target_size: Option<BTreeMap<String, i32>>,
}

impl TaskSpec {
    /// Reads `POST /v1/tasks`'s body.
    pub fn from_v1_json(body: &[u8]) -> Result<TaskSpec, TaskError> {
        let v: V1Task = serde_json::from_slice(body).map_err(|e| TaskError::Invalid { field: None, message: format!("the body is not a task: {e}") })?;
        let spec = TaskSpec {
            id: v.id,
            src_id: v.src_id,
            source: v.source,
            algorithms: v
                .analyzers
                .into_iter()
                .map(|a| AlgorithmSpec {
                    type_code: None,
                    analyzer: a.name,
                    params: a.params,
                    detect_interval: a.detect_interval,
                    min_size: a.target_size.as_ref().and_then(|t| t.get("min").copied()).unwrap_or(0),
                    max_size: a.target_size.as_ref().and_then(|t| t.get("max").copied()).unwrap_or(i32::MAX),
                })
                .collect(),
            report_urls: v.report_urls,
            rule: v.rule.unwrap_or_default(),
            created_ms: 0,
            kind: task_kind(),
            video_out: v.video_out,
            detections_of: None,
        };
        spec.check()?;
        Ok(spec)
    }
}
