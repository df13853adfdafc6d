//! The video registry: `POST/GET/DELETE /v1/videos[/{id}]`.
//!
//! A video is an object in the tenant's store. Its record lives at `videos/{id}/video.json`;
//! uploads are stored at `uploads/{id}/{name}` (a folder holding nothing else, so no name
//! can overwrite a record), and the host caches the packet index at `indexes/{key}.json`.
//! Ids of registered keys derive from the key (registering twice gives the same id); ids
//! of uploads are random. Keys under frameflow's own prefixes cannot be registered.

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use spin_sdk::http::IncomingRequest;

use frameflow_guest::bindings::frameflow::media::video::Video;
use frameflow_guest::bindings::frameflow::store::objects::{self, PutMode, Upload};
use frameflow_guest::{fnv64, index_key, read_json_body, reserved_prefix, ApiError, ApiResult, Query, Reply};

/// What the registry remembers about a video.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct VideoRecord {
    pub id: String,
    pub key: String,
    pub name: String,
    pub size: u64,
    /// True when frameflow stored the bytes (an upload) and so deletes them with the record.
    pub uploaded: bool,
}

fn record_key(id: &str) -> String {
    format!("videos/{id}/video.json")
}

/// Ids are 16 lowercase hex digits; anything else cannot name a video.
fn valid_id(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub fn load(id: &str) -> ApiResult<VideoRecord> {
    let missing = || ApiError::not_found(format!("no video with id '{id}'"));
    if !valid_id(id) {
        return Err(missing());
    }
    let bytes = objects::get(&record_key(id)).map_err(|e| match e {
        objects::StoreError::NotFound(_) => missing(),
        other => other.into(),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::new(500, "internal", format!("video record {id} is corrupt: {e}")))
}

/// The JSON for a video: its record plus the probe document.
fn describe(record: &VideoRecord, video: &Video) -> serde_json::Value {
    let mut json = serde_json::to_value(record).expect("records serialize");
    if let Ok(serde_json::Value::Object(probe)) = serde_json::from_str::<serde_json::Value>(&video.probe_json()) {
        json.as_object_mut().expect("records are objects").extend(probe);
    }
    json
}

/// A file name safe to use as the last key segment.
fn clean_name(name: Option<&str>) -> String {
    let cleaned: String = name
        .unwrap_or("video")
        .rsplit('/')
        .next()
        .unwrap_or("")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .take(100)
        .collect();
    match cleaned.trim_matches('.') {
        "" => "video".to_string(),
        n => n.to_string(),
    }
}

fn random_id() -> String {
    format!("{:016x}", frameflow_guest::random_u64())
}

/// `POST /v1/videos`: a JSON body `{"key": ...}` registers a stored object; any other body
/// is the video itself (`?name=` names it).
pub async fn create(req: IncomingRequest, query: &Query, content_type: &str) -> ApiResult<Reply> {
    if content_type.starts_with("application/json") {
        let body = read_json_body(req).await?;
        #[derive(Deserialize)]
        struct Register {
            key: String,
        }
        let Register { key } = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("expected {{\"key\": \"...\"}}: {e}")))?;
        // Opened first: a missing key is a 404 whatever its name (nothing is said about
        // other tenants' names), a bad one a 400.
        let video = Video::open(&key)?;
        if let Some(prefix) = reserved_prefix(&key) {
            return Err(ApiError::bad_request(format!(
                "'{key}' is under '{prefix}', which frameflow keeps for its own records; upload the video instead"
            )));
        }
        let id = format!("{:016x}", fnv64(&[key.as_bytes()]));
        let meta = objects::head(&key)?;
        let name = clean_name(Some(&key));
        let record = VideoRecord { id: id.clone(), key, name, size: meta.size, uploaded: false };
        // Registering the same key again is idempotent: same id, same record.
        save(&record, &PutMode::Overwrite)?;
        return Ok(Reply::json(201, &describe(&record, &video)));
    }

    let id = random_id();
    let name = clean_name(query.get("name"));
    let key = format!("uploads/{id}/{name}");
    let upload = Upload::new(&key);
    let mut body = req.into_body_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::bad_request("the request body could not be read (interrupted, or over the upload limit)")
        })?;
        upload.write(&chunk)?;
    }
    let meta = upload.finish()?;
    if meta.size == 0 {
        let _ = objects::delete(&key);
        return Err(ApiError::bad_request("the request body is empty: send the video bytes, or JSON {\"key\": ...}"));
    }
    // Nothing is kept of an upload that is not a video, or whose record cannot be written.
    let discard = |key: &str| {
        let _ = objects::delete(key);
        let _ = objects::delete(&index_key(key));
    };
    let video = match Video::open(&key) {
        Ok(v) => v,
        Err(e) => {
            discard(&key);
            return Err(e.into());
        }
    };
    let record = VideoRecord { id, key, name, size: meta.size, uploaded: true };
    // A fresh id: the record is created, never written over another.
    if let Err(e) = save(&record, &PutMode::Create) {
        discard(&record.key);
        return Err(e);
    }
    Ok(Reply::json(201, &describe(&record, &video)))
}

fn save(record: &VideoRecord, mode: &PutMode) -> ApiResult<()> {
    let json = serde_json::to_vec(record).expect("records serialize");
    objects::put(&record_key(&record.id), &json, mode)?;
    Ok(())
}

/// `GET /v1/videos`: every record, in id order (`?start_after=ID&limit=N` pages).
pub fn list(query: &Query) -> ApiResult<Reply> {
    let limit = query.number::<u32>("limit", 1..=1000)?.unwrap_or(100) as usize;
    let mut after = query.get("start_after").map(record_key);
    let mut videos = Vec::new();
    let mut next = None;
    loop {
        let page = objects::list("videos/", after.as_deref(), 1000)?;
        for object in &page.objects {
            if !object.key.ends_with("/video.json") {
                continue;
            }
            if videos.len() == limit {
                next = videos.last().map(|v: &VideoRecord| v.id.clone());
                break;
            }
            let Ok(bytes) = objects::get(&object.key) else { continue };
            if let Ok(record) = serde_json::from_slice::<VideoRecord>(&bytes) {
                videos.push(record);
            }
        }
        match page.next_start_after {
            Some(n) if next.is_none() => after = Some(n),
            _ => break,
        }
    }
    Ok(Reply::json(200, &serde_json::json!({"videos": videos, "next_start_after": next})))
}

/// `GET /v1/videos/{id}`.
pub fn get(id: &str) -> ApiResult<Reply> {
    let record = load(id)?;
    let video = Video::open(&record.key)?;
    Ok(Reply::json(200, &describe(&record, &video)))
}

/// `DELETE /v1/videos/{id}`: the record and the cached index; the video bytes too when
/// they were uploaded here (a registered key belongs to whoever stored it).
pub fn delete(id: &str) -> ApiResult<Reply> {
    let record = load(id)?;
    objects::delete(&index_key(&record.key))?;
    if record.uploaded {
        objects::delete(&record.key)?;
        // Uploads made before indexes moved to `indexes/` kept theirs beside the bytes.
        objects::delete(&format!("{}.index.json", record.key))?;
    }
    objects::delete(&record_key(id))?;
    Ok(Reply::empty(204))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(clean_name(Some("my clip.mp4")), "my_clip.mp4");
        assert_eq!(clean_name(Some("..")), "video");
        assert_eq!(clean_name(None), "video");
        assert!(valid_id("0123456789abcdef"));
        assert!(!valid_id("../../x"));
    }
}
