//! The video registry's routes: `POST/GET/DELETE /v1/videos[/{id}]` and `POST
//! /v1/videos/{id}/remux` (the records themselves are `frameflow_guest::registry`'s).
//!
//! A video is an object in the tenant's store. Uploads are stored at `uploads/{id}/{name}`
//! (a folder holding nothing else, so no name can overwrite a record), and the host caches
//! the packet index at `indexes/{key}.json`.

use futures::StreamExt;
use serde::Deserialize;
use spin_sdk::http::IncomingRequest;

use frameflow_guest::bindings::frameflow::media::video::Video;
use frameflow_guest::bindings::frameflow::store::objects::{self, PutMode, Upload};
use frameflow_guest::registry::{self, clean_name, load, record_key, save, VideoRecord};
use frameflow_guest::{index_key, read_json_body, ApiError, ApiResult, Query, Reply};

/// The JSON for a video: its record plus the probe document.
fn describe(record: &VideoRecord, video: &Video) -> serde_json::Value {
    let mut json = serde_json::to_value(record).expect("records serialize");
    if let Ok(serde_json::Value::Object(probe)) = serde_json::from_str::<serde_json::Value>(&video.probe_json()) {
        json.as_object_mut().expect("records are objects").extend(probe);
    }
    json
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
        // Registering the same key again is idempotent: same id, same record.
        let (record, video) = registry::register_key(&key)?;
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

/// `POST /v1/videos/{id}/remux?container=mp4|mkv|ts` (seed 001): a new video, the stream
/// copy of this one into that container (no re-encode: every frame bit-identical), stored
/// as an upload and registered; 422 when the codec cannot go into the container.
pub fn remux(id: &str, query: &Query) -> ApiResult<Reply> {
    let container = query.get("container").unwrap_or("mp4");
    let extension = match container {
        "mp4" => "mp4",
        "mkv" | "matroska" => "mkv",
        "ts" | "mpegts" => "ts",
        other => return Err(ApiError::bad_request(format!("'container' must be mp4, mkv or ts, got '{other}'"))),
    };
    let source = load(id)?;
    let video = Video::open(&source.key)?;
    let copy_id = random_id();
    let stem = source.name.rsplit_once('.').map(|(stem, _)| stem).unwrap_or(&source.name);
    let name = clean_name(Some(&format!("{stem}.{extension}")));
    let key = format!("uploads/{copy_id}/{name}");
    let discard = |key: &str| {
        let _ = objects::delete(key);
        let _ = objects::delete(&index_key(key));
    };
    let size = video.remux(container, &key).inspect_err(|_| discard(&key))?;
    let copy = Video::open(&key).inspect_err(|_| discard(&key))?;
    let record = VideoRecord { id: copy_id, key, name, size, uploaded: true };
    if let Err(e) = save(&record, &PutMode::Create) {
        discard(&record.key);
        return Err(e);
    }
    let mut json = describe(&record, &copy);
    json["remuxed_from"] = id.into();
    let mut reply = Reply::json(201, &json);
    reply.headers.push(("location".into(), format!("/v1/videos/{}", record.id)));
    Ok(reply)
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
