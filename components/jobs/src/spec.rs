//! [`JobSpec`]: what a job asks for, parsed from `POST /v1/jobs` (or built by seed 000's
//! routes) and checked before anything is stored.

use frameflow_guest::bindings::frameflow::sampler::samplers;
use frameflow_guest::bindings::frameflow::store::objects;
use frameflow_guest::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most videos one job may sample.
pub const MAX_VIDEOS: usize = 1000;

/// One video of a job: its object key and the label its outputs carry.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct JobVideo {
    pub key: String,
    #[serde(default)]
    pub label: Value,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FlowSpec {
    pub algorithm: String,
    pub bound: f32,
}

/// A job's request, as stored in its record.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct JobSpec {
    pub videos: Vec<JobVideo>,
    pub sampler: String,
    pub params: Value,
    /// `rgb`, `flow` or `rgb+flow`.
    pub modality: String,
    pub seed: u64,
    /// `jpeg` or `png` for RGB frames (flow planes are always greyscale JPEG).
    pub format: String,
    pub quality: u8,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub flow: FlowSpec,
    /// Clips per background step: the unit of progress and of redo after a crash.
    pub chunk_clips: u32,
    /// Where the job came from (`v1`, or `seed000-frame-random`...).
    #[serde(default)]
    pub origin: String,
}

impl JobSpec {
    pub fn rgb(&self) -> bool {
        self.modality != "flow"
    }
    pub fn flow(&self) -> bool {
        self.modality != "rgb"
    }
    /// The image extension of RGB outputs.
    pub fn ext(&self) -> &'static str {
        if self.format == "png" { "png" } else { "jpg" }
    }
    /// The params the sampler sees: the job's params plus the modality, so a sampler
    /// leaves room for (and plans) the flow target of every frame.
    pub fn sampler_params(&self) -> String {
        let mut params = self.params.clone();
        if let Value::Object(map) = &mut params {
            map.insert("modality".into(), Value::String(self.modality.clone()));
        }
        params.to_string()
    }
    /// The seed video `i`'s plan uses: `seed + i * 0x9E3779B97F4A7C15` (wrapping), so
    /// videos differ and a job replays exactly. `frameflow sample` uses the same rule.
    pub fn video_seed(&self, video: usize) -> u64 {
        self.seed.wrapping_add((video as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}

fn bad(param: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::bad_param(param, format!("'{param}': {message}"))
}

/// A registered video's key.
fn registered_key(id: &str) -> Option<String> {
    frameflow_guest::registry::load(id).ok().map(|record| record.key)
}

/// Every registered video of the tenant, oldest registry entry first.
pub fn registered_videos() -> ApiResult<Vec<JobVideo>> {
    let mut videos = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = objects::list("videos/", after.as_deref(), 1000)?;
        for meta in &page.objects {
            if let Some(id) = meta.key.strip_prefix("videos/").and_then(|k| k.strip_suffix("/video.json")) {
                if let Some(key) = registered_key(id) {
                    videos.push(JobVideo { key, label: Value::Null });
                }
            }
        }
        match page.next_start_after {
            Some(next) if videos.len() < MAX_VIDEOS => after = Some(next),
            _ => break,
        }
    }
    Ok(videos)
}

/// Video objects under `prefix`: every key but the host's index caches and JSON records.
fn videos_under(prefix: &str) -> ApiResult<Vec<JobVideo>> {
    let mut videos = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = objects::list(prefix, after.as_deref(), 1000)?;
        for meta in &page.objects {
            if !meta.key.ends_with(".json") {
                videos.push(JobVideo { key: meta.key.clone(), label: Value::Null });
            }
        }
        if videos.len() > MAX_VIDEOS {
            return Err(bad("prefix", format!("names more than {MAX_VIDEOS} videos; split the job")));
        }
        match page.next_start_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(videos)
}

fn parse_video(v: &Value, default_label: &Value) -> ApiResult<JobVideo> {
    let (reference, label) = match v {
        Value::String(s) => (s.clone(), default_label.clone()),
        Value::Object(o) => {
            let reference = o
                .get("key")
                .or_else(|| o.get("video"))
                .and_then(Value::as_str)
                .ok_or_else(|| bad("videos", "each entry is a key, or {\"key\": ..., \"label\": ...}"))?;
            (reference.to_string(), o.get("label").cloned().unwrap_or_else(|| default_label.clone()))
        }
        other => return Err(bad("videos", format!("each entry is a key or an object, got {other}"))),
    };
    // A registered video's id stands for its key.
    let key = registered_key(&reference).unwrap_or(reference);
    Ok(JobVideo { key, label })
}

/// Parses and checks a `POST /v1/jobs` body.
pub fn parse(body: &[u8]) -> ApiResult<JobSpec> {
    let value: Value = serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    let Value::Object(mut o) = value else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    const KNOWN: &[&str] =
        &["videos", "prefix", "label", "sampler", "params", "modality", "seed", "format", "quality", "width", "height", "flow", "chunk_clips"];
    if let Some(unknown) = o.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(bad(unknown, format!("unknown field; a job takes {}", KNOWN.join(", "))));
    }
    let label = o.remove("label").unwrap_or(Value::Null);
    let mut videos = match (o.remove("videos"), o.remove("prefix")) {
        (Some(Value::Array(list)), None) => list.iter().map(|v| parse_video(v, &label)).collect::<ApiResult<Vec<_>>>()?,
        (Some(_), None) => return Err(bad("videos", "must be a list")),
        (None, Some(Value::String(prefix))) => videos_under(&prefix)?,
        (None, Some(_)) => return Err(bad("prefix", "must be a string")),
        (Some(_), Some(_)) => return Err(ApiError::bad_request("give 'videos' or 'prefix', not both")),
        (None, None) => return Err(ApiError::bad_request("'videos': a job needs videos (a list of keys or ids) or a key 'prefix'")),
    };
    for v in &mut videos {
        if v.label.is_null() {
            v.label = label.clone();
        }
    }
    build(videos, &mut o)
}

/// The rest of a spec, from fields in `o` (shared with seed 000's routes).
pub fn build(videos: Vec<JobVideo>, o: &mut serde_json::Map<String, Value>) -> ApiResult<JobSpec> {
    if videos.is_empty() {
        return Err(bad("videos", "no videos to sample"));
    }
    if videos.len() > MAX_VIDEOS {
        return Err(bad("videos", format!("at most {MAX_VIDEOS} videos per job, got {}", videos.len())));
    }
    let text = |o: &mut serde_json::Map<String, Value>, name: &str, default: &str| -> ApiResult<String> {
        match o.remove(name) {
            None | Some(Value::Null) => Ok(default.to_string()),
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(bad(name, format!("must be a string, got {other}"))),
        }
    };
    let number = |o: &mut serde_json::Map<String, Value>, name: &str, max: u64| -> ApiResult<Option<u64>> {
        match o.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if n <= max => Ok(Some(n)),
                _ => Err(bad(name, format!("must be a whole number from 0 to {max}, got {v}"))),
            },
        }
    };
    let sampler = text(o, "sampler", "random-clip")?;
    let available = samplers::available();
    if !available.contains(&sampler) {
        return Err(bad("sampler", format!("no sampler '{sampler}'; available: {}", available.join(", "))));
    }
    let params = match o.remove("params") {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(p @ Value::Object(_)) => p,
        Some(other) => return Err(bad("params", format!("must be a JSON object, got {other}"))),
    };
    let modality = text(o, "modality", "rgb")?;
    let modality = match modality.as_str() {
        "rgb" | "flow" | "rgb+flow" => modality,
        "rgb_flow" | "both" => "rgb+flow".to_string(),
        other => return Err(bad("modality", format!("must be rgb, flow or rgb+flow, got '{other}'"))),
    };
    // A drawn seed stays below 2^52, so JSON readers that use doubles keep it exact.
    let seed = number(o, "seed", u64::MAX)?.unwrap_or_else(|| frameflow_guest::random_u64() >> 12);
    let format = text(o, "format", "jpeg")?;
    if !matches!(format.as_str(), "jpeg" | "png") {
        return Err(bad("format", format!("must be jpeg or png, got '{format}'")));
    }
    let quality = number(o, "quality", 100)?.unwrap_or(90);
    if quality == 0 {
        return Err(bad("quality", "must be from 1 to 100"));
    }
    let width = number(o, "width", 8192)?.map(|w| w as u32);
    let height = number(o, "height", 8192)?.map(|h| h as u32);
    if width == Some(0) || height == Some(0) {
        return Err(bad(if width == Some(0) { "width" } else { "height" }, "must be at least 1"));
    }
    let flow = match o.remove("flow") {
        None | Some(Value::Null) => FlowSpec { algorithm: "dis-medium".into(), bound: 20.0 },
        Some(Value::Object(mut f)) => {
            let algorithm = text(&mut f, "algorithm", "dis-medium")?;
            frameflow_guest::flow_algorithm("flow.algorithm", &algorithm)?;
            let bound = match f.remove("bound") {
                None | Some(Value::Null) => 20.0,
                Some(v) => match v.as_f64() {
                    Some(b) if b > 0.0 && b <= 1e4 => b as f32,
                    _ => return Err(bad("flow.bound", format!("must be a number above 0 and at most 10000, got {v}"))),
                },
            };
            FlowSpec { algorithm, bound }
        }
        Some(other) => return Err(bad("flow", format!("must be an object like {{\"algorithm\": \"dis-medium\", \"bound\": 20}}, got {other}"))),
    };
    let chunk_clips = number(o, "chunk_clips", 1000)?.unwrap_or(8) as u32;
    if chunk_clips == 0 {
        return Err(bad("chunk_clips", "must be from 1 to 1000"));
    }
    Ok(JobSpec {
        videos,
        sampler,
        params,
        modality,
        seed,
        format,
        quality: quality as u8,
        width,
        height,
        flow,
        chunk_clips,
        origin: "v1".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(modality: &str, format: &str) -> JobSpec {
        JobSpec {
            videos: vec![JobVideo { key: "a.mp4".into(), label: Value::Null }],
            sampler: "uniform".into(),
            params: serde_json::json!({"num_segments": 3}),
            modality: modality.into(),
            seed: 7,
            format: format.into(),
            quality: 90,
            width: None,
            height: None,
            flow: FlowSpec { algorithm: "dis-medium".into(), bound: 20.0 },
            chunk_clips: 8,
            origin: "v1".into(),
        }
    }

    #[test]
    fn modality_decides_the_outputs_and_reaches_the_sampler() {
        assert!(spec("rgb", "jpeg").rgb() && !spec("rgb", "jpeg").flow());
        assert!(!spec("flow", "jpeg").rgb() && spec("flow", "jpeg").flow());
        assert!(spec("rgb+flow", "jpeg").rgb() && spec("rgb+flow", "jpeg").flow());
        assert_eq!(spec("rgb", "png").ext(), "png");
        assert_eq!(spec("rgb", "jpeg").ext(), "jpg");
        let params: Value = serde_json::from_str(&spec("rgb+flow", "jpeg").sampler_params()).unwrap();
        assert_eq!(params, serde_json::json!({"num_segments": 3, "modality": "rgb+flow"}));
    }

    #[test]
    fn each_video_gets_its_own_replayable_seed() {
        let s = spec("rgb", "jpeg");
        assert_eq!(s.video_seed(0), 7);
        assert_eq!(s.video_seed(1), 7u64.wrapping_add(0x9E37_79B9_7F4A_7C15));
        assert_ne!(s.video_seed(1), s.video_seed(2));
        assert_eq!(s.video_seed(3), spec("rgb", "jpeg").video_seed(3), "the same job replays the same seeds");
    }

    #[test]
    fn bodies_that_are_not_jobs_are_refused_before_anything_is_looked_up() {
        let status_and_message = |body: &str| {
            let e = parse(body.as_bytes()).expect_err("refused");
            (e.status, e.message)
        };
        assert!(status_and_message("{not json").1.contains("not JSON"));
        assert!(status_and_message("[1, 2]").1.contains("JSON object"));
        let (status, message) = status_and_message(r#"{"videos": ["a"], "sampelr": "uniform"}"#);
        assert_eq!(status, 400);
        assert!(message.contains("unknown field"), "{message}");
        assert!(status_and_message(r#"{"videos": "a.mp4"}"#).1.contains("must be a list"));
        assert!(status_and_message(r#"{"videos": ["a"], "prefix": "p/"}"#).1.contains("not both"));
        assert!(status_and_message("{}").1.contains("a job needs videos"));
        assert!(status_and_message(r#"{"videos": [7]}"#).1.contains("each entry is a key or an object"));
    }
}
