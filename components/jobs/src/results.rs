//! A job's results: pages of manifest entries, downloads of single outputs, and deleting
//! results by id.
//!
//! A result id is `{job}:{clip:05}/{stem}` where the stem is `img_{k:05}`, `flow_x_{k:05}`
//! or `flow_y_{k:05}`; seed 000's flow ids use `flow_{k:05}` for the x/y pair. Deleting
//! removes the objects and leaves a marker under `jobs/{job}/deleted/`, so pages skip the
//! result while every other result keeps its position.

use std::collections::HashSet;

use frameflow_guest::bindings::frameflow::store::objects::{self, PutMode, StoreError};
use frameflow_guest::{ApiError, ApiResult, Reply};
use serde_json::{json, Value};

use crate::state;
use crate::worker::manifest_parts;

/// Most results one page or one delete may name (seed 000's `count` range).
pub const MAX_PAGE: u64 = 100;
const MAX_DELETE: usize = 1000;

fn marker(job: &str, clip: &str, stem: &str) -> String {
    format!("jobs/{job}/deleted/{clip}-{stem}")
}

fn deleted_ids(job: &str) -> ApiResult<HashSet<String>> {
    let mut ids = HashSet::new();
    let prefix = format!("jobs/{job}/deleted/");
    let mut after: Option<String> = None;
    loop {
        let page = objects::list(&prefix, after.as_deref(), 1000)?;
        for meta in &page.objects {
            if let Some((clip, stem)) = meta.key[prefix.len()..].split_once('-') {
                ids.insert(format!("{job}:{clip}/{stem}"));
            }
        }
        match page.next_start_after {
            Some(next) => after = Some(next),
            None => return Ok(ids),
        }
    }
}

/// The job's results so far that `keep` accepts and that were not deleted, in manifest order.
pub fn entries(job: &str, keep: impl Fn(&Value) -> bool) -> ApiResult<Vec<Value>> {
    let deleted = deleted_ids(job)?;
    let manifest = manifest_parts(job)?;
    let mut out = Vec::new();
    for line in manifest.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let entry: Value = serde_json::from_slice(line).map_err(|e| ApiError::new(500, "internal", format!("manifest of job {job} is corrupt: {e}")))?;
        let id = entry["id"].as_str().unwrap_or_default();
        if keep(&entry) && !deleted.contains(id) {
            out.push(entry);
        }
    }
    Ok(out)
}

/// Checks a page's `from` and `count` (count 1..=100).
pub fn page_bounds(from: Option<u64>, count: Option<u64>) -> ApiResult<(u64, u64)> {
    let count = count.unwrap_or(MAX_PAGE);
    if !(1..=MAX_PAGE).contains(&count) {
        return Err(ApiError::bad_request(format!("'count' must be between 1 and {MAX_PAGE}, got {count}")));
    }
    Ok((from.unwrap_or(0), count))
}

/// `entries[from..from+count]` and the `from` of the next page, if any.
pub fn slice(entries: Vec<Value>, from: u64, count: u64) -> (Vec<Value>, Option<u64>, u64) {
    let total = entries.len() as u64;
    let end = from.saturating_add(count).min(total);
    let page = entries.into_iter().skip(from as usize).take(end.saturating_sub(from) as usize).collect();
    (page, (end < total).then_some(end), total)
}

/// A parsed result id.
struct ResultId {
    job: String,
    clip: String,
    /// The object stems it stands for (`flow_00002` is both planes).
    stems: Vec<String>,
}

fn parse_id(id: &str) -> Option<ResultId> {
    let (job, rest) = id.split_once(':')?;
    let (clip, stem) = rest.split_once('/')?;
    if !state::valid_id(job) || clip.len() != 5 || !clip.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (kind, k) = stem.rsplit_once('_')?;
    if k.len() != 5 || !k.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let stems = match kind {
        "img" | "flow_x" | "flow_y" => vec![stem.to_string()],
        "flow" => vec![format!("flow_x_{k}"), format!("flow_y_{k}")],
        _ => return None,
    };
    Some(ResultId { job: job.to_string(), clip: clip.to_string(), stems })
}

/// Deletes results by id. `job` restricts ids to one job; `kinds` to stems with these
/// prefixes. Unparseable ids are a 400 that names them; ids of results that do not exist
/// (or were deleted before) come back under `missing`.
pub fn delete(body: &[u8], job: Option<&str>, kinds: &[&str]) -> ApiResult<Value> {
    let value: Value = serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    let ids: Vec<String> = match value.get("id") {
        Some(Value::Array(list)) => list.iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<_>>(),
        _ => None,
    }
    .ok_or_else(|| ApiError::bad_request("the body must be {\"id\": [\"result id\", ...]}"))?;
    if ids.len() > MAX_DELETE {
        return Err(ApiError::bad_request(format!("at most {MAX_DELETE} ids per request, got {}", ids.len())));
    }
    let mut parsed = Vec::new();
    for id in &ids {
        let p = parse_id(id)
            .filter(|p| job.is_none_or(|j| j == p.job) && p.stems.iter().all(|s| kinds.iter().any(|k| s.starts_with(k))))
            .ok_or_else(|| ApiError::bad_request(format!("'{id}' is not a result id here (ids come from the results pages)")))?;
        parsed.push((id, p));
    }
    let (mut deleted, mut missing) = (Vec::new(), Vec::new());
    for (id, p) in parsed {
        let spec = match state::load(&p.job) {
            Ok((j, _)) => j.spec,
            Err(e) if e.status == 404 => {
                missing.push(id.clone());
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut removed = false;
        for stem in &p.stems {
            let ext = if stem.starts_with("img") { spec.ext() } else { "jpg" };
            let key = format!("jobs/{}/clips/{}/{stem}.{ext}", p.job, p.clip);
            match objects::head(&key) {
                Ok(_) => {
                    objects::put(&marker(&p.job, &p.clip, stem), b"", &PutMode::Overwrite)?;
                    match objects::delete(&key) {
                        Ok(()) | Err(StoreError::NotFound(_)) => removed = true,
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if removed { deleted.push(id.clone()) } else { missing.push(id.clone()) }
    }
    Ok(json!({"deleted": deleted, "missing": missing}))
}

/// `GET /v1/jobs/{id}/outputs/{clip}/{file}` and `/outputs/manifest.jsonl`.
pub fn download(job: &str, rest: &[&str], if_none_match: Option<&str>) -> ApiResult<Reply> {
    state::load(job)?;
    let key = match rest {
        ["manifest.jsonl"] => format!("jobs/{job}/manifest.jsonl"),
        [clip, file]
            if clip.len() == 5
                && clip.bytes().all(|b| b.is_ascii_digit())
                && !file.is_empty()
                && file.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
                && !file.starts_with('.') =>
        {
            format!("jobs/{job}/clips/{clip}/{file}")
        }
        _ => return Err(ApiError::not_found(format!("no output '{}' in job {job}", rest.join("/")))),
    };
    let bytes = objects::get(&key).map_err(|e| match e {
        StoreError::NotFound(_) => ApiError::not_found(format!("no output '{}' in job {job} (not written yet, or deleted)", rest.join("/"))),
        other => other.into(),
    })?;
    let content_type = match key.rsplit_once('.').map(|(_, e)| e) {
        Some("jpg") => "image/jpeg",
        Some("png") => "image/png",
        Some("jsonl") => "application/x-ndjson",
        _ => "application/octet-stream",
    };
    Ok(Reply::cacheable(bytes, content_type, vec![], if_none_match))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_every_entry_once() {
        assert_eq!(page_bounds(None, None).unwrap(), (0, MAX_PAGE));
        assert!(page_bounds(Some(3), Some(0)).is_err());
        assert!(page_bounds(Some(3), Some(MAX_PAGE + 1)).is_err());
        let entries: Vec<Value> = (0..5).map(Value::from).collect();
        let (first, next, total) = slice(entries.clone(), 0, 2);
        assert_eq!((first, next, total), (vec![Value::from(0), Value::from(1)], Some(2), 5));
        let (last, next, _) = slice(entries.clone(), 4, 2);
        assert_eq!((last, next), (vec![Value::from(4)], None));
        let (past_the_end, next, _) = slice(entries, 9, 2);
        assert!(past_the_end.is_empty() && next.is_none());
    }

    #[test]
    fn result_ids_name_their_objects_and_nothing_else() {
        let id = parse_id("j0123456789abcdef:00002/flow_00004");
        assert!(id.is_none(), "job ids are 16 characters");
        let id = parse_id("j0123456789abcde:00002/flow_00004").expect("a flow result id");
        assert_eq!((id.job.as_str(), id.clip.as_str()), ("j0123456789abcde", "00002"));
        assert_eq!(id.stems, vec!["flow_x_00004", "flow_y_00004"], "one flow id stands for both planes");
        assert_eq!(parse_id("j0123456789abcde:00002/img_00004").unwrap().stems, vec!["img_00004"]);
        for bad in ["j0123456789abcde:2/img_00004", "j0123456789abcde:00002/../img_00004", "j0123456789abcde:00002/img_4", "x:00002/img_00004", "j0123456789abcde"] {
            assert!(parse_id(bad).is_none(), "{bad}");
        }
    }
}
