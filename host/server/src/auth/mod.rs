//! Who a request acts for: [`Auth`] turns its credentials into a [`Principal`] (tenant and
//! [`Scope`]), and [`Scope::allows`] decides whether that principal may call the route.
//!
//! Credentials, in `Authorization: Bearer …`, `X-API-Key: …` or as the password of
//! `Authorization: Basic …` (for senders that only take a URL with credentials, as SNS):
//! - the system key (`admin_key` in the runtime config, or `FRAMEFLOW_ADMIN_KEY`): scope `system`;
//! - the runtime config's `[api_keys]` table (key → tenant): scope `tenant`;
//! - keys made through `/v1/admin` and kept in the store ([`TenantDirectory`]);
//! - HS256 JWTs signed with the deployment's `jwt_secret` (`sub` = tenant, `scope`, `exp`).
//!
//! With none of these configured every request is tenant `default` (the embedded default).
//! No credentials where some are needed: 401; a valid one without the scope: 403.

mod directory;
mod jwt;
mod scope;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use directory::{key_hash, DirectoryError, KeyRecord, TenantDirectory, TenantLimits, TenantRecord};
pub use jwt::JwtVerifier;
pub use scope::Scope;

/// The caller of a request.
#[derive(Clone, Debug, PartialEq)]
pub struct Principal {
    /// The tenant whose data the request reaches; `None` for the system key.
    pub tenant: Option<String>,
    pub scope: Scope,
}

/// Why a request was refused before any route ran.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AuthError {
    /// No credentials, or ones that are not valid (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials without the scope for this route (403).
    #[error("{0}")]
    Forbidden(String),
    /// The key store did not answer (503).
    #[error("{0}")]
    Unavailable(String),
}

impl AuthError {
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            AuthError::Unauthorized(_) => (401, "unauthorized"),
            AuthError::Forbidden(_) => (403, "forbidden"),
            AuthError::Unavailable(_) => (503, "store_unavailable"),
        }
    }
}

/// Every source of credentials this host accepts.
pub struct Auth {
    /// `sha256(key)` → tenant, from the runtime config.
    config_keys: BTreeMap<String, String>,
    /// `sha256(system key)`.
    admin_key_hash: Option<String>,
    jwt: Option<JwtVerifier>,
    directory: Arc<TenantDirectory>,
}

fn credential(headers: &hyper::HeaderMap) -> Option<String> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let bearer = |a: &str| a.strip_prefix("Bearer ").or_else(|| a.strip_prefix("bearer ")).map(str::to_string);
    header("x-api-key")
        .map(str::to_string)
        .or_else(|| header("authorization").and_then(|a| bearer(a).or_else(|| basic_password(a))))
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
}

/// The password of `Authorization: Basic base64(user:password)`: how a sender that cannot
/// set headers passes a key, e.g. an SNS subscription to `https://frameflow:KEY@host/...`.
fn basic_password(authorization: &str) -> Option<String> {
    use base64::Engine;
    let encoded = authorization.strip_prefix("Basic ").or_else(|| authorization.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':').map(|(_, password)| password.to_string())
}

impl Auth {
    pub fn new(config_keys: &BTreeMap<String, String>, admin_key: Option<&str>, jwt_secret: Option<&str>, directory: Arc<TenantDirectory>) -> Auth {
        Auth {
            // Hashed, so looking a key up compares digests, not the secrets themselves.
            config_keys: config_keys.iter().map(|(k, t)| (key_hash(k), t.clone())).collect(),
            admin_key_hash: admin_key.filter(|k| !k.is_empty()).map(key_hash),
            jwt: jwt_secret.filter(|s| !s.is_empty()).map(JwtVerifier::new),
            directory,
        }
    }

    pub fn directory(&self) -> &Arc<TenantDirectory> {
        &self.directory
    }

    /// Whether requests must carry credentials (any source is configured).
    pub fn required(&self) -> bool {
        !self.config_keys.is_empty() || self.admin_key_hash.is_some() || self.jwt.is_some()
    }

    /// Whether a system key is configured (the admin routes exist).
    pub fn has_admin(&self) -> bool {
        self.admin_key_hash.is_some()
    }

    /// The caller of a request, from its credentials.
    pub async fn authenticate(&self, headers: &hyper::HeaderMap) -> Result<Principal, AuthError> {
        if !self.required() {
            return Ok(Principal { tenant: Some("default".into()), scope: Scope::Tenant });
        }
        let Some(key) = credential(headers) else {
            return Err(AuthError::Unauthorized("send a valid API key in 'Authorization: Bearer KEY' or 'X-API-Key'".into()));
        };
        if key.len() > 8192 {
            return Err(AuthError::Unauthorized("the credential is over 8192 bytes".into()));
        }
        if key.matches('.').count() == 2 {
            let Some(jwt) = &self.jwt else {
                return Err(AuthError::Unauthorized("this host accepts no JWTs (no jwt_secret is configured)".into()));
            };
            let principal = jwt.verify(&key).map_err(AuthError::Unauthorized)?;
            let tenant = principal.tenant.as_deref().unwrap_or_default();
            if !self.is_tenant(tenant).await? {
                return Err(AuthError::Unauthorized(format!("the token's tenant '{tenant}' does not exist")));
            }
            return Ok(principal);
        }
        let hash = key_hash(&key);
        if self.admin_key_hash.as_deref() == Some(hash.as_str()) {
            return Ok(Principal { tenant: None, scope: Scope::System });
        }
        if let Some(tenant) = self.config_keys.get(&hash) {
            return Ok(Principal { tenant: Some(tenant.clone()), scope: Scope::Tenant });
        }
        match self.directory.lookup(&hash).await {
            Ok(Some(record)) => {
                let scope = record.scope.parse::<Scope>().map_err(|e| AuthError::Unauthorized(format!("the key's scope is unusable: {e}")))?;
                Ok(Principal { tenant: Some(record.tenant), scope })
            }
            Ok(None) => Err(AuthError::Unauthorized("the API key is not valid (unknown or revoked)".into())),
            Err(e) => Err(AuthError::Unavailable(format!("API keys cannot be checked now: {e}"))),
        }
    }

    /// Whether `tenant` exists: named by a config key, or created through `/v1/admin`.
    async fn is_tenant(&self, tenant: &str) -> Result<bool, AuthError> {
        if self.config_keys.values().any(|t| t == tenant) {
            return Ok(true);
        }
        match self.directory.tenants().await {
            Ok(list) => Ok(list.iter().any(|t| t.name == tenant)),
            Err(e) => Err(AuthError::Unavailable(format!("tenants cannot be checked now: {e}"))),
        }
    }

    /// Every tenant this host serves in the background (jobs, polled prefixes): those the
    /// config's keys name and those in the store; `default` when there are no credentials
    /// at all. Sorted, once each. A store that does not answer leaves the config's.
    pub async fn tenants(&self) -> Vec<String> {
        let mut tenants: Vec<String> = self.config_keys.values().cloned().collect();
        if !self.required() {
            tenants.push("default".into());
        }
        match self.directory.tenants().await {
            Ok(list) => tenants.extend(list.into_iter().map(|t| t.name)),
            Err(e) => tracing::warn!("tenants in the store cannot be listed: {e}"),
        }
        tenants.sort();
        tenants.dedup();
        tenants
    }

    /// A tenant's limits as stored (the config's defaults apply to unset fields).
    pub async fn limits_of(&self, tenant: &str) -> TenantLimits {
        match self.directory.tenants().await {
            Ok(list) => list.into_iter().find(|t| t.name == tenant).map(|t| t.limits).unwrap_or_default(),
            Err(_) => TenantLimits::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(keys: &[(&str, &str)], admin: Option<&str>, jwt: Option<&str>) -> Auth {
        let dir = std::env::temp_dir().join(format!("frameflow-auth-{}-{}", std::process::id(), rand_suffix()));
        let storage = Arc::new(frameflow_store::ObjectStorage::open(&format!("file://{}", dir.display()), &dir.join("dl")).unwrap());
        let keys = keys.iter().map(|(k, t)| (k.to_string(), t.to_string())).collect();
        Auth::new(&keys, admin, jwt, Arc::new(TenantDirectory::new(storage.system())))
    }

    fn rand_suffix() -> u64 {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).unwrap();
        u64::from_le_bytes(b)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> hyper::HeaderMap {
        let mut h = hyper::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[tokio::test]
    async fn sources_of_credentials() {
        let open = auth(&[], None, None);
        assert_eq!(open.authenticate(&headers(&[])).await.unwrap().tenant.as_deref(), Some("default"));
        assert_eq!(open.tenants().await, vec!["default"]);

        let a = auth(&[("k1", "alice")], Some("root-key"), None);
        assert!(matches!(a.authenticate(&headers(&[])).await, Err(AuthError::Unauthorized(_))));
        let p = a.authenticate(&headers(&[("authorization", "Bearer k1")])).await.unwrap();
        assert_eq!((p.tenant.as_deref(), p.scope), (Some("alice"), Scope::Tenant));
        let p = a.authenticate(&headers(&[("x-api-key", "root-key")])).await.unwrap();
        assert_eq!((p.tenant, p.scope), (None, Scope::System));
        assert!(matches!(a.authenticate(&headers(&[("x-api-key", "wrong")])).await, Err(AuthError::Unauthorized(_))));
        assert!(matches!(a.authenticate(&headers(&[("x-api-key", "a.b.c")])).await, Err(AuthError::Unauthorized(m)) if m.contains("JWT")));
        // A key as the password of Basic credentials (an SNS subscription URL's user:key@).
        let basic = |user_key: &str| format!("Basic {}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, user_key));
        let p = a.authenticate(&headers(&[("authorization", &basic("frameflow:k1"))])).await.unwrap();
        assert_eq!(p.tenant.as_deref(), Some("alice"));
        assert!(matches!(a.authenticate(&headers(&[("authorization", &basic("k1:wrong"))])).await, Err(AuthError::Unauthorized(_))));
        assert!(matches!(a.authenticate(&headers(&[("authorization", &basic("no-colon"))])).await, Err(AuthError::Unauthorized(_))));
        assert!(matches!(a.authenticate(&headers(&[("authorization", "Basic !!!")])).await, Err(AuthError::Unauthorized(_))));

        // Keys made in the store work until revoked.
        a.directory().create_tenant("bob", TenantLimits::default()).await.unwrap();
        let (key, record) = a.directory().create_key("bob", &Scope::TenantRead, None).await.unwrap();
        let p = a.authenticate(&headers(&[("x-api-key", &key)])).await.unwrap();
        assert_eq!((p.tenant.as_deref(), p.scope), (Some("bob"), Scope::TenantRead));
        assert_eq!(a.tenants().await, vec!["alice", "bob"]);
        a.directory().revoke_key("bob", &record.id).await.unwrap();
        assert!(matches!(a.authenticate(&headers(&[("x-api-key", &key)])).await, Err(AuthError::Unauthorized(_))));
        assert!(a.directory().create_key("nobody", &Scope::Tenant, None).await.is_err());
    }
}
