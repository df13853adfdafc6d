//! [`Scope`]: what a key may do, and the one check of a route against it.

use std::fmt;
use std::str::FromStr;

/// What a key may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Manages tenants and keys (`/v1/admin`), posts notifications for any tenant.
    System,
    /// Reads and writes everything of its tenant.
    Tenant,
    /// Reads everything of its tenant (GET and HEAD).
    TenantRead,
    /// Reads one video of its tenant: its record, frames, thumbnails, stream, and seed 002's
    /// file routes for it (for embedding in a page).
    Video(String),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::System => f.write_str("system"),
            Scope::Tenant => f.write_str("tenant"),
            Scope::TenantRead => f.write_str("tenant:read"),
            Scope::Video(id) => write!(f, "video:{id}"),
        }
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Scope, String> {
        match s {
            "system" => Ok(Scope::System),
            "tenant" => Ok(Scope::Tenant),
            "tenant:read" => Ok(Scope::TenantRead),
            other => match other.strip_prefix("video:") {
                Some(id) if !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) => {
                    Ok(Scope::Video(id.to_string()))
                }
                _ => Err(format!("unknown scope '{other}': one of system, tenant, tenant:read, video:{{id}}")),
            },
        }
    }
}

impl Scope {
    /// Whether a caller with this scope may call `method path`; `Err` says why not.
    pub fn allows(&self, method: &hyper::Method, path: &str) -> Result<(), String> {
        let reads = *method == hyper::Method::GET || *method == hyper::Method::HEAD;
        let admin = path == "/v1/admin" || path.starts_with("/v1/admin/");
        match self {
            // The media proxy also needs it (the route checks that for the other scopes).
            Scope::System if admin || path == "/v1/events/s3" || path == "/metrics" || path == "/api/v1/media-proxy" => Ok(()),
            Scope::System => Err(format!("a system key manages tenants (/v1/admin); {path} needs a tenant's key")),
            _ if admin => Err("the admin routes need the system key".into()),
            Scope::Tenant => Ok(()),
            Scope::TenantRead if reads => Ok(()),
            Scope::TenantRead => Err(format!("this key may only read (tenant:read); {method} needs scope tenant")),
            Scope::Video(id) => {
                // Its v1 routes and seed 002's file routes (`/api/v1/file/{id}/...`: file-level scope).
                let under = |prefix: &str| path.strip_prefix(prefix).and_then(|rest| rest.strip_prefix(id.as_str())).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
                let own = under("/v1/videos/") || under("/api/v1/file/");
                if own && reads {
                    Ok(())
                } else {
                    Err(format!("this key may only read video '{id}' (scope video:{id})"))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::Method;

    #[test]
    fn scopes_parse_and_allow() {
        for s in ["system", "tenant", "tenant:read", "video:abc-1"] {
            assert_eq!(s.parse::<Scope>().unwrap().to_string(), s);
        }
        assert!("video:".parse::<Scope>().is_err());
        assert!("video:../x".parse::<Scope>().is_err());
        assert!("root".parse::<Scope>().is_err());
        let video = Scope::Video("abc".into());
        assert!(video.allows(&Method::GET, "/v1/videos/abc/frame").is_ok());
        assert!(video.allows(&Method::GET, "/v1/videos/abc").is_ok());
        assert!(video.allows(&Method::GET, "/v1/videos/abcd/frame").is_err(), "a prefix of another id is not the video");
        assert!(video.allows(&Method::DELETE, "/v1/videos/abc").is_err());
        assert!(video.allows(&Method::GET, "/v1/jobs").is_err());
        // Seed 002's file-level scope: the file routes of that video only.
        assert!(video.allows(&Method::GET, "/api/v1/file/abc/trace/3/thumbnail").is_ok());
        assert!(video.allows(&Method::GET, "/api/v1/file/abd/representative-frame").is_err());
        assert!(video.allows(&Method::GET, "/api/v1/media-proxy").is_err());
        assert!(Scope::System.allows(&Method::GET, "/api/v1/media-proxy").is_ok());
        assert!(Scope::TenantRead.allows(&Method::GET, "/v1/jobs").is_ok());
        assert!(Scope::TenantRead.allows(&Method::POST, "/v1/jobs").is_err());
        assert!(Scope::Tenant.allows(&Method::POST, "/v1/admin/tenants").is_err());
        assert!(Scope::System.allows(&Method::POST, "/v1/admin/tenants").is_ok());
        assert!(Scope::System.allows(&Method::GET, "/v1/videos").is_err());
    }
}
