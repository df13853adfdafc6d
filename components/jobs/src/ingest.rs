//! The built-in object-event handler (`frameflow:events/handler`): a new video in the
//! store is registered (probe + packet index, so `GET /v1/videos` lists it) and, when the
//! trigger has a `job` table, a sampling job is started for it.
//!
//! Effects are idempotent per event: registering a key is (its id derives from the key),
//! and the job's id derives from the event's id, so a delivery retried or repeated finds
//! the job it already created instead of starting a second one.

use frameflow_guest::{registry, ApiError};
use serde_json::Value;

use crate::{api, spec};

/// What the host calls for each matching event; `Err((retry, message))` says whether the
/// failure is worth retrying.
pub fn handle(event_id: &str, key: &str, trigger_json: &str) -> Result<String, (bool, String)> {
    let settings: Value = serde_json::from_str(trigger_json).map_err(|e| (false, format!("the trigger's settings are not JSON: {e}")))?;
    let record = match key.strip_prefix("uploads/").and_then(|rest| rest.split_once('/')) {
        // An upload through the API is registered by its own request; its record may not be
        // written yet when the event arrives, so a missing one is worth a retry.
        Some((id, _)) => registry::load(id).map_err(|e| (e.status == 404 || e.status >= 500, format!("the upload '{key}': {}", e.message)))?,
        None => registry::register_key(key).map_err(|e| failure(&e, &format!("registering '{key}'")))?.0,
    };
    let mut done = format!("registered '{key}' as video {}", record.id);
    if let Some(job) = settings.get("job").filter(|j| !j.is_null()) {
        let Value::Object(mut body) = job.clone() else {
            return Err((false, format!("the trigger's job must be a table of job fields, got {job}")));
        };
        body.insert("videos".into(), Value::from(vec![record.id.clone()]));
        let spec = spec::parse(&serde_json::to_vec(&body).expect("JSON values serialize"))
            .map_err(|e| failure(&e, "the trigger's job"))?;
        let (created, fresh) = api::create_once(spec, job_id(event_id)).map_err(|e| failure(&e, "creating the job"))?;
        done.push_str(&if fresh { format!("; started job {}", created.id) } else { format!("; job {} already exists", created.id) });
    }
    Ok(done)
}

/// The job an event starts: `j` and 15 hex digits of the event's id (a valid job id).
fn job_id(event_id: &str) -> String {
    let hex: String = event_id.chars().filter(|c| c.is_ascii_hexdigit()).map(|c| c.to_ascii_lowercase()).collect();
    format!("j{:0>15}", &hex[..hex.len().min(15)])
}

/// Client errors never work on a retry (the object is gone or is not a video, the job
/// fields are wrong); the rest may.
fn failure(e: &ApiError, what: &str) -> (bool, String) {
    (e.status >= 500 || e.status == 429, format!("{what}: {}", e.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_events_job_id_is_a_valid_job_id_and_stable() {
        let id = job_id("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
        assert_eq!(id, "j9f86d081884c7d6");
        assert!(crate::state::valid_id(&id));
        assert_eq!(job_id("ab"), "j0000000000000ab");
        assert!(crate::state::valid_id(&job_id("ab")));
    }

    #[test]
    fn client_errors_are_not_retried() {
        assert!(!failure(&ApiError::not_found("gone"), "x").0);
        assert!(!failure(&ApiError::bad_request("bad"), "x").0);
        assert!(failure(&ApiError::new(503, "busy", "later"), "x").0);
    }
}
