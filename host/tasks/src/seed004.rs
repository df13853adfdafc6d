//! Seed 004's task JSON, as its `/task/create` takes it:
//!
//! ```json
//! {"TaskID": "t1",
//!  "InputSrc": {"SrcID": "600100000445030222", "StreamSrc": {"Address": "rtsp://host:8554/s"}},
//!  "Algorithm": [{"Type": 1, "TrackInterval": 1, "DetectInterval": 5,
//!                 "TargetSize": {"MinDetect": 30, "MaxDetect": 250},
//!                 "DetectInfos": [{"HotArea": [{"X": 10, "Y": 10}, ...]}],
//!                 "Extend": {"key": "value"}}],
//!  "Reporting": {"ReportUrlList": ["http://host:9092/upload/data"]},
//!  "Extend": {"PresentFrames": 3, "AbsentFrames": 5, "Transport": "tcp", "Realtime": true,
//!             "SampleInterval": 1}}
//! ```
//!
//! `Type` picks the analyzer through the configured map (the seed's `map_type`); the whole
//! `Algorithm` entry is that analyzer's parameters. The report rule's n and m and the
//! source options are read from the task's `Extend` (or the first algorithm's), as the seed
//! puts what it has no field for there. `TrackInterval` is accepted and not used: the
//! tracker follows every kept frame.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::manager::TaskError;
use crate::spec::{AlgorithmSpec, RuleSpec, SourceSpec, TaskSpec};

#[derive(Deserialize)]
struct SeedTask {
    #[serde(rename = "TaskID")]
    task_id: Value,
    #[serde(rename = "InputSrc")]
    input_src: Option<InputSrc>,
    #[serde(rename = "Algorithm")]
    algorithm: Option<Vec<Value>>,
    #[serde(rename = "Reporting")]
    reporting: Option<Reporting>,
    #[serde(rename = "Extend")]
    extend: Option<Value>,
}

#[derive(Deserialize)]
struct InputSrc {
    #[serde(rename = "SrcID", default)]
    src_id: Value,
    #[serde(rename = "StreamSrc")]
    stream_src: Option<StreamSrc>,
}

#[derive(Deserialize)]
struct StreamSrc {
    #[serde(rename = "Address")]
    address: String,
}

#[derive(Deserialize)]
struct Reporting {
    #[serde(rename = "ReportUrlList", default)]
    report_url_list: Option<Vec<String>>,
}

fn invalid(field: &str, message: impl Into<String>) -> TaskError {
    TaskError::Invalid { field: Some(field.to_string()), message: message.into() }
}

/// A string or a number, as text (`TaskID`, `SrcID`).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn int(v: Option<&Value>, field: &str) -> Result<Option<i64>, TaskError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| invalid(field, format!("{v} is not an integer"))),
    }
}

/// The `TaskID` of a `/task/query` or `/task/delete` body.
pub fn task_id_of(body: &[u8]) -> Result<String, TaskError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| TaskError::Invalid { field: None, message: format!("the body is not JSON: {e}") })?;
    v.get("TaskID").and_then(text).ok_or_else(|| invalid("TaskID", "TaskID is needed"))
}

/// Reads seed 004's task JSON; `types` is the `Type` → analyzer map.
pub fn parse_task(body: &[u8], types: &BTreeMap<i64, String>) -> Result<TaskSpec, TaskError> {
    let seed: SeedTask = serde_json::from_slice(body).map_err(|e| TaskError::Invalid { field: None, message: format!("the body is not a seed 004 task: {e}") })?;
    let id = text(&seed.task_id).ok_or_else(|| invalid("TaskID", "TaskID must be a string"))?;
    let input = seed.input_src.ok_or_else(|| invalid("InputSrc", "InputSrc is needed"))?;
    let address = input.stream_src.ok_or_else(|| invalid("InputSrc.StreamSrc.Address", "InputSrc.StreamSrc.Address is needed"))?.address;
    let algorithms = seed.algorithm.unwrap_or_default();
    if algorithms.is_empty() {
        return Err(invalid("Algorithm", "at least one Algorithm entry is needed"));
    }
    let known = || types.iter().map(|(t, n)| format!("{t} ({n})")).collect::<Vec<_>>().join(", ");
    let mut specs = Vec::new();
    for (i, a) in algorithms.iter().enumerate() {
        let at = |f: &str| format!("Algorithm[{i}].{f}");
        if !a.is_object() {
            return Err(invalid(&format!("Algorithm[{i}]"), "each Algorithm entry is an object"));
        }
        let type_code = int(a.get("Type"), &at("Type"))?.ok_or_else(|| invalid(&at("Type"), "Type is needed"))?;
        let analyzer = types
            .get(&type_code)
            .cloned()
            .ok_or_else(|| invalid(&at("Type"), format!("{type_code} is not a known algorithm type; known: {}", known())))?;
        let detect_interval = int(a.get("DetectInterval"), &at("DetectInterval"))?.unwrap_or(1);
        if !(1..=10_000).contains(&detect_interval) {
            return Err(invalid(&at("DetectInterval"), "must be 1..=10000"));
        }
        let size = a.get("TargetSize");
        let min_size = int(size.and_then(|s| s.get("MinDetect")), &at("TargetSize.MinDetect"))?.unwrap_or(0);
        let max_size = int(size.and_then(|s| s.get("MaxDetect")), &at("TargetSize.MaxDetect"))?.unwrap_or(i32::MAX as i64);
        if min_size < 0 || max_size < min_size || max_size > i32::MAX as i64 {
            return Err(invalid(&at("TargetSize"), "needs 0 <= MinDetect <= MaxDetect"));
        }
        specs.push(AlgorithmSpec {
            type_code: Some(type_code),
            analyzer,
            params: a.clone(),
            detect_interval: detect_interval as u32,
            min_size: min_size as i32,
            max_size: max_size as i32,
        });
    }
    // The task's own options: its Extend, else the first algorithm's.
    let extend = seed.extend.clone().filter(|e| e.is_object()).or_else(|| algorithms[0].get("Extend").cloned()).unwrap_or(Value::Null);
    let field = |k: &str| extend.get(k);
    let rule_default = RuleSpec::default();
    let present = int(field("PresentFrames"), "Extend.PresentFrames")?.unwrap_or(rule_default.present as i64);
    let absent = int(field("AbsentFrames"), "Extend.AbsentFrames")?.unwrap_or(rule_default.absent as i64);
    let sample_interval = int(field("SampleInterval"), "Extend.SampleInterval")?.unwrap_or(1);
    let spec = TaskSpec {
        id,
        src_id: text(&input.src_id).unwrap_or_default(),
        source: SourceSpec {
            address,
            transport: field("Transport").and_then(Value::as_str).unwrap_or("tcp").to_string(),
            realtime: field("Realtime").and_then(Value::as_bool).unwrap_or(false),
            sample_interval: sample_interval.clamp(0, u32::MAX as i64) as u32,
        },
        algorithms: specs,
        report_urls: seed.reporting.and_then(|r| r.report_url_list).unwrap_or_default(),
        rule: RuleSpec { present: present.clamp(0, u32::MAX as i64) as u32, absent: absent.clamp(0, u32::MAX as i64) as u32 },
        created_ms: 0,
        kind: "task".into(),
        video_out: None,
        detections_of: None,
    };
    spec.check().map_err(|e| match e {
        // Name the seed's fields, not the internal ones.
        TaskError::Invalid { field: Some(f), message } => {
            let seed_field = match f.as_str() {
                "id" => "TaskID".to_string(),
                "source.address" => "InputSrc.StreamSrc.Address".to_string(),
                "source.transport" => "Extend.Transport".to_string(),
                "source.sample_interval" => "Extend.SampleInterval".to_string(),
                "rule" => "Extend.PresentFrames".to_string(),
                f if f.starts_with("report_urls") => f.replace("report_urls", "Reporting.ReportUrlList"),
                f if f.starts_with("algorithms") => f.replace("algorithms", "Algorithm"),
                other => other.to_string(),
            };
            TaskError::Invalid { field: Some(seed_field), message }
        }
        other => other,
    })?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types() -> BTreeMap<i64, String> {
        [(1, "area_intrusion".to_string()), (2, "tripwire".to_string())].into_iter().collect()
    }

    #[test]
    fn the_seed_example_reads() {
        let body = br#"{"TaskID": "t1", "InputSrc": {"SrcID": "600100000445030222", "StreamSrc": {"Address": "rtsp://172.26.13.17:8554/mystream"}},
            "Algorithm": [{"Type": 1, "TrackInterval": 1, "DetectInterval": 5, "TargetSize": {"MinDetect": 30, "MaxDetect": 250},
            "DetectInfos": [{"HotArea": [{"X": 10, "Y": 10}, {"X": 191, "Y": 10}, {"X": 191, "Y": 107}]}], "Extend": {"key": "value"}}],
            "Reporting": {"ReportUrlList": ["http://172.18.0.123:9092/upload/data"]}}"#;
        let spec = parse_task(body, &types()).unwrap();
        assert_eq!(spec.id, "t1");
        assert_eq!(spec.src_id, "600100000445030222");
        assert_eq!(spec.algorithms[0].analyzer, "area_intrusion");
        assert_eq!((spec.algorithms[0].detect_interval, spec.algorithms[0].min_size, spec.algorithms[0].max_size), (5, 30, 250));
        assert_eq!(spec.rule, RuleSpec { present: 3, absent: 5 });
        assert_eq!(spec.report_urls.len(), 1);
    }

    #[test]
    fn bad_tasks_name_their_field() {
        let field = |body: &[u8]| match parse_task(body, &types()) {
            Err(TaskError::Invalid { field, message }) => (field, message),
            other => panic!("{other:?}"),
        };
        let (f, m) = field(br#"{"TaskID":"t","InputSrc":{"StreamSrc":{"Address":"rtsp://a/b"}},"Algorithm":[{"Type":16}]}"#);
        assert_eq!(f.as_deref(), Some("Algorithm[0].Type"));
        assert!(m.contains("1 (area_intrusion), 2 (tripwire)"), "{m}");
        let (f, _) = field(br#"{"TaskID":"t","InputSrc":{"StreamSrc":{}},"Algorithm":[{"Type":1}]}"#.as_slice());
        assert_eq!(f, None, "a missing Address is a shape error");
        let (f, _) = field(br#"{"TaskID":"../x","InputSrc":{"StreamSrc":{"Address":"rtsp://a/b"}},"Algorithm":[{"Type":1}]}"#);
        assert_eq!(f.as_deref(), Some("TaskID"));
        let (f, _) = field(br#"{"TaskID":"t","InputSrc":{"StreamSrc":{"Address":"rtsp://a/b"}},"Algorithm":[{"Type":1}],"Reporting":{"ReportUrlList":["ftp://x"]}}"#);
        assert_eq!(f.as_deref(), Some("Reporting.ReportUrlList[0]"));
        let (f, _) = field(br#"{"TaskID":"t","InputSrc":{"StreamSrc":{"Address":"rtsp://a/b"}},"Algorithm":[{"Type":1,"DetectInterval":0}]}"#);
        assert_eq!(f.as_deref(), Some("Algorithm[0].DetectInterval"));
        assert!(parse_task(b"{not json", &types()).is_err());
        assert_eq!(task_id_of(br#"{"TaskID": 42}"#).unwrap(), "42");
    }
}
