//! [`ApiKeys`]: which tenant a request acts for, from its API key.

use std::collections::BTreeMap;

/// API key → tenant. Without keys every request is tenant `default`.
#[derive(Clone, Debug, Default)]
pub struct ApiKeys {
    keys: BTreeMap<String, String>,
}

impl ApiKeys {
    pub fn new(keys: BTreeMap<String, String>) -> ApiKeys {
        ApiKeys { keys }
    }

    /// The tenant of a request: from `X-API-Key` or `Authorization: Bearer KEY`; `None`
    /// when keys are configured and none of them was sent.
    pub fn tenant_of(&self, headers: &hyper::HeaderMap) -> Option<String> {
        if self.keys.is_empty() {
            return Some("default".to_string());
        }
        let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let key = header("x-api-key").or_else(|| header("authorization").and_then(|a| a.strip_prefix("Bearer ")));
        key.and_then(|k| self.keys.get(k.trim())).cloned()
    }

    /// Whether requests must carry a key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Every tenant a key names (`default` when there are no keys), sorted, once each.
    pub fn tenants(&self) -> Vec<String> {
        let mut tenants: Vec<String> = self.keys.values().cloned().collect();
        if tenants.is_empty() {
            tenants.push("default".into());
        }
        tenants.sort();
        tenants.dedup();
        tenants
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_pick_tenants() {
        let mut headers = hyper::HeaderMap::new();
        assert_eq!(ApiKeys::default().tenant_of(&headers).as_deref(), Some("default"));
        assert_eq!(ApiKeys::default().tenants(), vec!["default"]);
        let keys = ApiKeys::new(BTreeMap::from([("k1".to_string(), "alice".to_string()), ("k2".to_string(), "alice".to_string())]));
        assert_eq!(keys.tenant_of(&headers), None);
        headers.insert("authorization", "Bearer k1".parse().unwrap());
        assert_eq!(keys.tenant_of(&headers).as_deref(), Some("alice"));
        headers.insert("x-api-key", "wrong".parse().unwrap());
        assert_eq!(keys.tenant_of(&headers), None, "X-API-Key is read first");
        assert_eq!(keys.tenants(), vec!["alice"]);
    }
}
