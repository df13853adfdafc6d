//! The one error body of the v1 API on the host's side: RFC 9457 problem details
//! (`application/problem+json`) with `type`, `title`, `status`, `detail`, frameflow's stable
//! `code`, and the `error: {code, message}` member earlier clients read. The components
//! write the same shape (`frameflow-guest`'s `ApiError`); seed 000's routes keep their
//! seed's `{"message"}`.

/// The media type of a problem body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem body for `status`, with the stable `code` and the message for people.
pub fn body(status: u16, code: &str, message: &str) -> serde_json::Value {
    let title = hyper::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
    serde_json::json!({
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": message,
        "code": code,
        "error": {"code": code, "message": message},
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_problem_has_rfc_9457s_members_and_the_legacy_error() {
        let p = super::body(404, "not_found", "no video x");
        assert_eq!((p["type"].as_str(), p["title"].as_str(), p["status"].as_u64()), (Some("about:blank"), Some("Not Found"), Some(404)));
        assert_eq!((p["detail"].as_str(), p["code"].as_str()), (Some("no video x"), Some("not_found")));
        assert_eq!(p["error"]["message"], "no video x");
    }
}
