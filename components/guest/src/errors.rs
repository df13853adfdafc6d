//! How host errors become HTTP errors: one status per `media-error` and `store-error` case.

use crate::bindings::frameflow::media::types::MediaError;
use crate::bindings::frameflow::store::objects::StoreError;
use crate::http::ApiError;

impl From<MediaError> for ApiError {
    fn from(e: MediaError) -> ApiError {
        match e {
            MediaError::NotFound(m) => ApiError::new(404, "not_found", m),
            MediaError::NotMedia(m) => ApiError::new(415, "not_media", m),
            MediaError::OutOfRange(m) => ApiError::new(404, "frame_out_of_range", m),
            MediaError::Invalid(m) => ApiError::new(400, "bad_request", m),
            MediaError::Undecodable(m) => ApiError::new(422, "undecodable", m),
            MediaError::TooLarge(m) => ApiError::new(413, "too_large", m),
            MediaError::Busy(m) => ApiError::new(503, "busy", m),
            MediaError::OverLimit(m) => ApiError::new(422, "over_limit", m),
            MediaError::Internal(m) => ApiError::new(500, "internal", m),
            MediaError::Unsupported(m) => ApiError::new(422, "unsupported", m),
            MediaError::Throttled(m) => ApiError::new(429, "too_many_requests", m),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(m) => ApiError::new(404, "not_found", m),
            StoreError::InvalidKey(m) => ApiError::new(400, "invalid_key", m),
            StoreError::PreconditionFailed(m) => ApiError::new(409, "conflict", m),
            StoreError::TooLarge(m) => ApiError::new(413, "too_large", m),
            // The backing store failed under the request (down, slow, refusing): worth a retry.
            StoreError::Io(m) => ApiError::new(503, "store_unavailable", format!("the object store is unavailable: {m}")),
        }
    }
}
