//! The video registry's records, shared by every component that registers or looks up a
//! video (the frames API, the jobs component and its object-event ingest).
//!
//! A record lives at `videos/{id}/video.json`. Ids of registered keys derive from the key
//! (registering twice gives the same id and the same record); ids of uploads are random.
//! Keys under frameflow's own prefixes cannot be registered.

use serde::{Deserialize, Serialize};

use crate::bindings::frameflow::media::video::Video;
use crate::bindings::frameflow::store::objects::{self, PutMode};
use crate::{fnv64, reserved_prefix, ApiError, ApiResult};

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

/// Where the record of video `id` lives.
pub fn record_key(id: &str) -> String {
    format!("videos/{id}/video.json")
}

/// Ids are 16 lowercase hex digits; anything else cannot name a video.
pub fn valid_id(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The id a registered key gets.
pub fn id_of_key(key: &str) -> String {
    format!("{:016x}", fnv64(&[key.as_bytes()]))
}

/// The record of video `id`: 404 when there is none.
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

/// Writes a record (`PutMode::Create` for a fresh upload id, `Overwrite` for a key).
pub fn save(record: &VideoRecord, mode: &PutMode) -> ApiResult<()> {
    let json = serde_json::to_vec(record).expect("records serialize");
    objects::put(&record_key(&record.id), &json, mode)?;
    Ok(())
}

/// A file name safe to use as the last key segment.
pub fn clean_name(name: Option<&str>) -> String {
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

/// Registers the object at `key` as a video (opening it builds and caches its packet index):
/// a missing key is a 404 whatever its name, a key under frameflow's own prefixes a 400, a
/// non-video the media error. Idempotent: the same key gives the same id and record.
pub fn register_key(key: &str) -> ApiResult<(VideoRecord, Video)> {
    let video = Video::open(key)?;
    if let Some(prefix) = reserved_prefix(key) {
        return Err(ApiError::bad_request(format!(
            "'{key}' is under '{prefix}', which frameflow keeps for its own records; upload the video instead"
        )));
    }
    let meta = objects::head(key)?;
    let record = VideoRecord { id: id_of_key(key), key: key.to_string(), name: clean_name(Some(key)), size: meta.size, uploaded: false };
    save(&record, &PutMode::Overwrite)?;
    Ok((record, video))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_are_checked() {
        assert_eq!(clean_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(clean_name(Some("my clip.mp4")), "my_clip.mp4");
        assert_eq!(clean_name(Some("..")), "video");
        assert_eq!(clean_name(None), "video");
        assert!(valid_id("0123456789abcdef"));
        assert!(!valid_id("../../x"));
        assert_eq!(id_of_key("a.mp4"), id_of_key("a.mp4"));
        assert!(valid_id(&id_of_key("incoming/a.mp4")));
    }
}
