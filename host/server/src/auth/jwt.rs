//! [`JwtVerifier`]: Bearer JWTs signed with the deployment's secret (HS256 only; `alg: none`
//! and every other algorithm are refused), `sub` = tenant, `scope` (default `tenant`),
//! `exp` required.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::{Principal, Scope};

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    scope: Option<String>,
}

pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl JwtVerifier {
    pub fn new(secret: &str) -> JwtVerifier {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 5;
        JwtVerifier { key: DecodingKey::from_secret(secret.as_bytes()), validation }
    }

    /// The principal a token names, or why it is not valid.
    pub fn verify(&self, token: &str) -> Result<Principal, String> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired".to_string(),
                ErrorKind::InvalidSignature => "the token's signature is not valid".to_string(),
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => "tokens must be signed with HS256".to_string(),
                ErrorKind::MissingRequiredClaim(claim) => format!("the token has no '{claim}' claim"),
                _ => format!("the token is not valid: {e}"),
            }
        })?;
        let claims = data.claims;
        frameflow_store::validate_tenant(&claims.sub).map_err(|_| format!("the token's sub '{}' is not a tenant name", claims.sub))?;
        let scope = match claims.scope.as_deref() {
            None => Scope::Tenant,
            Some(s) => s.parse::<Scope>()?,
        };
        if scope == Scope::System {
            return Err("a token cannot carry the system scope".into());
        }
        Ok(Principal { tenant: Some(claims.sub), scope })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};

    fn now() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
    }

    fn token(secret: &str, claims: serde_json::Value) -> String {
        encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
    }

    #[test]
    fn tokens_are_checked() {
        let v = JwtVerifier::new("s3cret");
        let p = v.verify(&token("s3cret", serde_json::json!({"sub": "alice", "exp": now() + 60}))).unwrap();
        assert_eq!((p.tenant.as_deref(), p.scope), (Some("alice"), Scope::Tenant));
        let p = v.verify(&token("s3cret", serde_json::json!({"sub": "alice", "scope": "video:v1", "exp": now() + 60}))).unwrap();
        assert_eq!(p.scope, Scope::Video("v1".into()));
        let e = v.verify(&token("wrong", serde_json::json!({"sub": "alice", "exp": now() + 60}))).unwrap_err();
        assert!(e.contains("signature"), "{e}");
        let e = v.verify(&token("s3cret", serde_json::json!({"sub": "alice", "exp": now() - 600}))).unwrap_err();
        assert!(e.contains("expired"), "{e}");
        let e = v.verify(&token("s3cret", serde_json::json!({"sub": "alice"}))).unwrap_err();
        assert!(e.contains("exp"), "{e}");
        assert!(v.verify(&token("s3cret", serde_json::json!({"sub": "alice", "scope": "system", "exp": now() + 60}))).is_err());
        assert!(v.verify(&token("s3cret", serde_json::json!({"sub": "../x", "exp": now() + 60}))).is_err());
        // alg: none, hand-made: header {"alg":"none"}, no signature.
        use base64::Engine;
        let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let none = format!("{}.{}.", b64(serde_json::json!({"alg": "none", "typ": "JWT"})), b64(serde_json::json!({"sub": "alice", "exp": now() + 60})));
        assert!(v.verify(&none).is_err());
    }
}
