//! frameflow's own namespaces in a tenant's store. Names a tenant supplies (upload file
//! names, registered keys) never land in them, so they can never overwrite a record.

/// Prefixes only frameflow writes: video records, uploaded bytes, cached indexes, jobs,
/// tenant components (samplers, event handlers, analyzers), analysis tasks and their
/// reports (`tasks/`, written by the host), the compatibility routes' pattern records,
/// and the object trigger's delivery markers and dead letters (`events/`, written by the
/// host).
pub const RESERVED_PREFIXES: &[&str] =
    &["videos/", "uploads/", "indexes/", "jobs/", "job-index/", "job-active/", "samplers/", "event-handlers/", "analyzers/", "tasks/", "seed000/", "events/"];

/// The reserved prefix `key` falls under, if any.
pub fn reserved_prefix(key: &str) -> Option<&'static str> {
    RESERVED_PREFIXES.iter().copied().find(|p| key.starts_with(p))
}

/// Where the host caches the packet index of the video at `key` (the host's
/// `media_host.rs` writes it there; keep the two in step).
pub fn index_key(key: &str) -> String {
    format!("indexes/{key}.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_prefixes_are_recognised() {
        assert_eq!(reserved_prefix("videos/abc/video.json"), Some("videos/"));
        assert_eq!(reserved_prefix("indexes/a.mp4.json"), Some("indexes/"));
        assert_eq!(reserved_prefix("incoming/a.mp4"), None);
        assert_eq!(reserved_prefix("videos.mp4"), None);
        assert_eq!(index_key("incoming/a.mp4"), "indexes/incoming/a.mp4.json");
    }
}
