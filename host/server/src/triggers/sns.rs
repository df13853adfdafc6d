//! [`Sns`]: Amazon SNS messages on `POST /v1/events/s3` (S3 → SNS → HTTPS): a
//! `SubscriptionConfirmation` is confirmed by fetching its `SubscribeURL`, a `Notification`
//! is unwrapped (its `Message` is the S3 event), an `UnsubscribeConfirmation` is logged.
//! Every message's signature is checked first, as AWS documents it: the message's fields in
//! a fixed order, signed with SHA1withRSA (`SignatureVersion` 1) or SHA256withRSA (2) by
//! the key of the X.509 certificate at `SigningCertURL`, which must be on an allowed host
//! ([`SnsSettings`]) and is fetched through the outbound guard, then cached.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use serde::Deserialize;

/// Certificates kept (one per `SigningCertURL`; SNS signs with a handful at a time).
const MAX_CERTS: usize = 16;
/// Largest certificate or confirmation answer read.
const MAX_FETCH_BYTES: usize = 64 << 10;
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// One SNS HTTP(S) delivery, in the shape SNS posts it.
#[derive(Debug, Clone, Deserialize)]
pub struct SnsMessage {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "MessageId")]
    pub message_id: String,
    #[serde(rename = "TopicArn")]
    pub topic_arn: String,
    #[serde(rename = "Subject", default)]
    pub subject: Option<String>,
    #[serde(rename = "Message")]
    pub message: String,
    #[serde(rename = "Timestamp")]
    pub timestamp: String,
    #[serde(rename = "SignatureVersion", default)]
    pub signature_version: Option<String>,
    #[serde(rename = "Signature", default)]
    pub signature: Option<String>,
    #[serde(rename = "SigningCertURL", default)]
    pub signing_cert_url: Option<String>,
    #[serde(rename = "SubscribeURL", default)]
    pub subscribe_url: Option<String>,
    #[serde(rename = "Token", default)]
    pub token: Option<String>,
}

impl SnsMessage {
    /// The text SNS signs: `name\nvalue\n` for each field the message type signs, in order.
    fn string_to_sign(&self) -> Result<String, SnsError> {
        let mut fields: Vec<(&str, Option<&str>)> = vec![("Message", Some(&self.message)), ("MessageId", Some(&self.message_id))];
        match self.kind.as_str() {
            "Notification" => {
                if let Some(subject) = &self.subject {
                    fields.push(("Subject", Some(subject)));
                }
                fields.extend([("Timestamp", Some(self.timestamp.as_str())), ("TopicArn", Some(&self.topic_arn)), ("Type", Some(&self.kind))]);
            }
            "SubscriptionConfirmation" | "UnsubscribeConfirmation" => fields.extend([
                ("SubscribeURL", self.subscribe_url.as_deref()),
                ("Timestamp", Some(self.timestamp.as_str())),
                ("Token", self.token.as_deref()),
                ("TopicArn", Some(&self.topic_arn)),
                ("Type", Some(&self.kind)),
            ]),
            other => return Err(SnsError::Invalid(format!("'{other}' is not an SNS message type"))),
        }
        let mut text = String::new();
        for (name, value) in fields {
            let value = value.ok_or_else(|| SnsError::Invalid(format!("a {} has no {name}", self.kind)))?;
            text.push_str(name);
            text.push('\n');
            text.push_str(value);
            text.push('\n');
        }
        Ok(text)
    }
}

/// Why an SNS message was not taken.
#[derive(Debug, thiserror::Error)]
pub enum SnsError {
    /// Not a well-formed SNS message (400).
    #[error("{0}")]
    Invalid(String),
    /// The signature does not hold, or cannot be checked against an allowed certificate (403).
    #[error("the SNS message's signature is refused: {0}")]
    Signature(String),
    /// The subscription could not be confirmed (502: SNS sends the confirmation again).
    #[error("the SNS subscription could not be confirmed: {0}")]
    Confirm(String),
}

/// A host pattern of `sns_hosts`.
#[derive(Clone, Debug)]
struct HostPattern {
    pattern: String,
    plain_http: bool,
}

/// `sns_verify_signatures` and `sns_hosts`.
#[derive(Clone, Debug)]
pub struct SnsSettings {
    pub verify_signatures: bool,
    hosts: Vec<HostPattern>,
}

impl SnsSettings {
    pub fn new(verify: Option<bool>, hosts: &[String]) -> Result<SnsSettings, String> {
        let entries: Vec<String> = if hosts.is_empty() { vec!["sns.*.amazonaws.com".into()] } else { hosts.to_vec() };
        let mut parsed = Vec::new();
        for entry in entries {
            let (plain_http, host) = match entry.strip_prefix("http://") {
                Some(rest) => (true, rest),
                None => (false, entry.strip_prefix("https://").unwrap_or(&entry)),
            };
            let host = host.trim_end_matches('/').to_ascii_lowercase();
            let valid = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.*:[]".contains(&b));
            if !valid {
                return Err(format!("sns_hosts: '{entry}' is not a host name pattern such as sns.*.amazonaws.com"));
            }
            parsed.push(HostPattern { pattern: host, plain_http });
        }
        Ok(SnsSettings { verify_signatures: verify.unwrap_or(true), hosts: parsed })
    }

    /// Whether frameflow fetches `url` for an SNS message: an allowed host (with its port,
    /// when the entry names one), over HTTPS unless the entry allows plain HTTP.
    fn allows(&self, url: &url::Url) -> bool {
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else { return false };
        let with_port = url.port().map(|p| format!("{host}:{p}"));
        self.hosts.iter().any(|h| {
            let scheme_ok = url.scheme() == "https" || (h.plain_http && url.scheme() == "http");
            scheme_ok && (glob_host(&h.pattern, &host) || with_port.as_deref().is_some_and(|hp| glob_host(&h.pattern, hp)))
        })
    }
}

/// `*` matches within one label (`sns.*.amazonaws.com` takes `sns.us-east-1.amazonaws.com`,
/// not `sns.evil.com.amazonaws.com`).
fn glob_host(pattern: &str, host: &str) -> bool {
    let (p, h): (Vec<&str>, Vec<&str>) = (pattern.split('.').collect(), host.split('.').collect());
    p.len() == h.len()
        && p.iter().zip(&h).all(|(p, h)| match p.split_once('*') {
            None => p == h,
            Some((head, tail)) => h.len() >= head.len() + tail.len() && h.starts_with(head) && h.ends_with(tail),
        })
}

/// SNS intake for this host: the settings, an HTTP client through the outbound guard, and
/// the certificates fetched so far.
pub struct Sns {
    settings: SnsSettings,
    client: reqwest::Client,
    keys: Mutex<HashMap<String, RsaPublicKey>>,
}

impl Sns {
    pub fn new(settings: SnsSettings, guard: &frameflow_sources::OutboundGuard) -> Sns {
        Sns { settings, client: guard.http_client(FETCH_TIMEOUT), keys: Mutex::default() }
    }

    /// A URL of the message frameflow may fetch.
    fn checked_url(&self, raw: &str, what: &str) -> Result<url::Url, String> {
        let url = url::Url::parse(raw).map_err(|e| format!("the {what} '{raw}' is not a URL: {e}"))?;
        if !self.settings.allows(&url) {
            return Err(format!("the {what} '{raw}' is not on a host sns_hosts allows (HTTPS on sns.*.amazonaws.com by default)"));
        }
        Ok(url)
    }

    async fn fetch(&self, url: url::Url) -> Result<Vec<u8>, String> {
        let response = self.client.get(url.clone()).send().await.map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        let mut body = Vec::new();
        let mut response = response;
        while let Some(chunk) = response.chunk().await.map_err(|e| format!("{url}: {e}"))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_FETCH_BYTES {
                return Err(format!("{url} sent more than {MAX_FETCH_BYTES} bytes"));
            }
        }
        Ok(body)
    }

    /// The public key of the certificate at `url` (fetched once).
    async fn key(&self, raw: &str) -> Result<RsaPublicKey, String> {
        if let Some(key) = self.keys.lock().expect("sns keys lock").get(raw) {
            return Ok(key.clone());
        }
        let url = self.checked_url(raw, "SigningCertURL")?;
        let pem = self.fetch(url).await?;
        let key = public_key_of(&pem)?;
        let mut keys = self.keys.lock().expect("sns keys lock");
        if keys.len() >= MAX_CERTS {
            keys.clear();
        }
        keys.insert(raw.to_string(), key.clone());
        Ok(key)
    }

    /// Checks `message`'s signature (unless `sns_verify_signatures` is off).
    pub async fn verify(&self, message: &SnsMessage) -> Result<(), SnsError> {
        let text = message.string_to_sign()?;
        if !self.settings.verify_signatures {
            return Ok(());
        }
        let refuse = SnsError::Signature;
        let signature = message.signature.as_deref().ok_or_else(|| refuse("the message is not signed".into()))?;
        let signature = base64::engine::general_purpose::STANDARD.decode(signature.trim()).map_err(|e| refuse(format!("Signature is not base64: {e}")))?;
        let cert_url = message.signing_cert_url.as_deref().ok_or_else(|| refuse("the message has no SigningCertURL".into()))?;
        let key = self.key(cert_url).await.map_err(refuse)?;
        let signature = rsa::pkcs1v15::Signature::try_from(signature.as_slice()).map_err(|e| refuse(format!("Signature: {e}")))?;
        let checked = match message.signature_version.as_deref().unwrap_or("1") {
            "1" => rsa::pkcs1v15::VerifyingKey::<sha1::Sha1>::new(key).verify(text.as_bytes(), &signature),
            "2" => rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key).verify(text.as_bytes(), &signature),
            other => return Err(refuse(format!("SignatureVersion '{other}' is not 1 or 2"))),
        };
        checked.map_err(|_| refuse(format!("it does not match the message and the certificate at {cert_url}")))
    }

    /// Confirms a subscription: a GET of its `SubscribeURL` (an allowed host, through the
    /// outbound guard).
    pub async fn confirm(&self, message: &SnsMessage) -> Result<(), SnsError> {
        let raw = message.subscribe_url.as_deref().ok_or_else(|| SnsError::Invalid("a SubscriptionConfirmation has no SubscribeURL".into()))?;
        let url = self.checked_url(raw, "SubscribeURL").map_err(SnsError::Confirm)?;
        self.fetch(url).await.map(|_| ()).map_err(SnsError::Confirm)
    }
}

/// The RSA public key of a PEM (or DER) X.509 certificate.
fn public_key_of(cert: &[u8]) -> Result<RsaPublicKey, String> {
    use x509_cert::der::{Decode, DecodePem, Encode};
    let parsed = match x509_cert::Certificate::from_pem(cert) {
        Ok(c) => c,
        Err(_) => x509_cert::Certificate::from_der(cert).map_err(|e| format!("the signing certificate is not an X.509 certificate: {e}"))?,
    };
    let spki = parsed.tbs_certificate.subject_public_key_info.to_der().map_err(|e| format!("the certificate's key: {e}"))?;
    RsaPublicKey::from_public_key_der(&spki).map_err(|e| format!("the certificate's key is not an RSA key: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: &str) -> SnsMessage {
        SnsMessage {
            kind: kind.into(),
            message_id: "id-1".into(),
            topic_arn: "arn:aws:sns:us-east-1:123456789012:uploads".into(),
            subject: None,
            message: "{}".into(),
            timestamp: "2026-12-07T12:00:00.000Z".into(),
            signature_version: Some("1".into()),
            signature: None,
            signing_cert_url: None,
            subscribe_url: Some("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=t".into()),
            token: Some("t".into()),
        }
    }

    #[test]
    fn the_signed_text_follows_the_message_type() {
        let mut note = message("Notification");
        assert_eq!(
            note.string_to_sign().unwrap(),
            "Message\n{}\nMessageId\nid-1\nTimestamp\n2026-12-07T12:00:00.000Z\nTopicArn\narn:aws:sns:us-east-1:123456789012:uploads\nType\nNotification\n"
        );
        note.subject = Some("s".into());
        assert!(note.string_to_sign().unwrap().contains("MessageId\nid-1\nSubject\ns\nTimestamp\n"));
        let confirm = message("SubscriptionConfirmation").string_to_sign().unwrap();
        assert!(confirm.contains("SubscribeURL\nhttps://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=t\nTimestamp\n"));
        assert!(confirm.contains("Token\nt\nTopicArn\n"));
        let mut no_token = message("SubscriptionConfirmation");
        no_token.token = None;
        assert!(matches!(no_token.string_to_sign(), Err(SnsError::Invalid(_))));
        assert!(matches!(message("Bogus").string_to_sign(), Err(SnsError::Invalid(_))));
    }

    #[test]
    fn only_allowed_hosts_are_fetched() {
        let default = SnsSettings::new(None, &[]).unwrap();
        assert!(default.verify_signatures);
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert!(default.allows(&url("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem")));
        assert!(!default.allows(&url("http://sns.us-east-1.amazonaws.com/cert.pem")), "plain HTTP");
        assert!(!default.allows(&url("https://sns.evil.com.amazonaws.com/cert.pem")), "* stays within a label");
        assert!(!default.allows(&url("https://sns.us-east-1.amazonaws.com.evil.org/cert.pem")));
        assert!(!default.allows(&url("https://evil.org/sns.us-east-1.amazonaws.com/cert.pem")));
        let local = SnsSettings::new(Some(false), &["http://127.0.0.1:9911".into()]).unwrap();
        assert!(!local.verify_signatures);
        assert!(local.allows(&url("http://127.0.0.1:9911/cert.pem")));
        assert!(!local.allows(&url("http://127.0.0.1:9912/cert.pem")), "another port");
        assert!(SnsSettings::new(None, &["bad host/".into(), "x y".into()]).is_err());
    }

    #[test]
    fn a_certificate_that_is_not_one_is_refused() {
        assert!(public_key_of(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").is_err());
        assert!(public_key_of(b"not a certificate").is_err());
    }
}
