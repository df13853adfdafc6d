//! The system key's routes, `/v1/admin/…`: tenants and their API keys in the store
//! ([`TenantDirectory`]), shared by every host on the bucket.
//!
//! | route | does |
//! |---|---|
//! | `POST /v1/admin/tenants` | `{"name", "limits"?}`: create (201; 409 when it exists) |
//! | `GET /v1/admin/tenants` | list |
//! | `GET /v1/admin/tenants/{t}` | one tenant and its keys (without the keys themselves) |
//! | `DELETE /v1/admin/tenants/{t}` | delete it and revoke its keys (its objects stay) |
//! | `POST /v1/admin/tenants/{t}/keys` | `{"scope"?, "label"?}`: a new key, shown once (201) |
//! | `GET /v1/admin/tenants/{t}/keys` | its keys: id, scope, label, time made |
//! | `DELETE /v1/admin/tenants/{t}/keys/{id}` | revoke (every host within seconds) |

use serde::Deserialize;
use serde_json::json;

use crate::auth::{DirectoryError, Scope, TenantDirectory, TenantLimits};

/// Largest admin request body.
pub const MAX_ADMIN_BODY: usize = 64 << 10;

/// An admin route's answer: status and JSON body.
pub type AdminReply = (u16, serde_json::Value);

fn problem(status: u16, code: &str, message: impl std::fmt::Display) -> AdminReply {
    (status, crate::problem::body(status, code, &message.to_string()))
}

fn directory_error(e: DirectoryError) -> AdminReply {
    match e {
        DirectoryError::NotFound(m) => problem(404, "not_found", m),
        DirectoryError::Conflict(m) => problem(409, "conflict", m),
        DirectoryError::Invalid(m) => problem(400, "bad_request", m),
        e @ DirectoryError::Store(_) => problem(503, "store_unavailable", e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTenant {
    name: String,
    #[serde(default)]
    limits: TenantLimits,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    label: Option<String>,
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, AdminReply> {
    serde_json::from_slice(body).map_err(|e| problem(400, "bad_request", format!("the body is not what this route takes: {e}")))
}

/// Answers one admin route (`rest` is the path after `/v1/admin/`).
pub async fn route(directory: &TenantDirectory, method: &hyper::Method, rest: &str, body: &[u8]) -> AdminReply {
    match answer(directory, method, rest, body).await {
        Ok(reply) | Err(reply) => reply,
    }
}

async fn answer(directory: &TenantDirectory, method: &hyper::Method, rest: &str, body: &[u8]) -> Result<AdminReply, AdminReply> {
    let segments: Vec<&str> = rest.split('/').collect();
    let reply = match (method.as_str(), segments.as_slice()) {
        ("POST", ["tenants"]) => {
            let new: NewTenant = parse(body)?;
            let record = directory.create_tenant(&new.name, new.limits).await.map_err(directory_error)?;
            (201, json!(record))
        }
        ("GET", ["tenants"]) => (200, json!({"tenants": directory.tenants().await.map_err(directory_error)?})),
        ("GET", ["tenants", t]) => {
            let Some(record) = directory.tenant(t).await.map_err(directory_error)? else {
                return Err(problem(404, "not_found", format!("no tenant '{t}'")));
            };
            let keys = directory.keys_of(t).await.map_err(directory_error)?;
            (200, json!({"tenant": record, "keys": keys}))
        }
        ("DELETE", ["tenants", t]) => {
            directory.delete_tenant(t).await.map_err(directory_error)?;
            (200, json!({"deleted": t}))
        }
        ("POST", ["tenants", t, "keys"]) => {
            let new: NewKey = if body.is_empty() { NewKey { scope: None, label: None } } else { parse(body)? };
            let scope = match new.scope.as_deref() {
                None => Scope::Tenant,
                Some(s) => s.parse::<Scope>().map_err(|e| problem(400, "bad_request", e))?,
            };
            let (key, record) = directory.create_key(t, &scope, new.label).await.map_err(directory_error)?;
            let mut shown = json!(record);
            shown["key"] = key.into();
            (201, shown)
        }
        ("GET", ["tenants", t, "keys"]) => {
            if directory.tenant(t).await.map_err(directory_error)?.is_none() {
                return Err(problem(404, "not_found", format!("no tenant '{t}'")));
            }
            (200, json!({"keys": directory.keys_of(t).await.map_err(directory_error)?}))
        }
        ("DELETE", ["tenants", t, "keys", id]) => {
            directory.revoke_key(t, id).await.map_err(directory_error)?;
            (200, json!({"revoked": id}))
        }
        (_, ["tenants"] | ["tenants", _] | ["tenants", _, "keys"] | ["tenants", _, "keys", _]) => {
            problem(405, "method_not_allowed", format!("{method} is not allowed on /v1/admin/{rest}"))
        }
        _ => problem(404, "not_found", format!("no route for /v1/admin/{rest}")),
    };
    Ok(reply)
}
