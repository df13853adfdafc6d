//! What an object-event notification body is ([`Envelope`]): an S3 event notification
//! (`{"Records": [...]}`, typed with `aws_lambda_events`), the `s3:TestEvent` S3 sends once
//! when a bucket's notifications are configured, or an SNS message that wraps either
//! ([`super::sns`]). The same bodies arrive over HTTP, SNS and (later) queues, so they are
//! opened in one place.
//!
//! S3-compatible servers leave out fields frameflow does not use (`userIdentity`,
//! `requestParameters`, `responseElements`, sometimes `eventTime`): they are filled in
//! before the typed parse, so such a record is taken, not refused.

use aws_lambda_events::s3::S3Event;
use serde_json::{Map, Value};

use super::sns::SnsMessage;

/// An opened notification body.
#[derive(Debug)]
pub enum Envelope {
    /// Object events.
    Records(S3Event),
    /// S3's test event for a newly configured notification: nothing to do.
    TestEvent { bucket: String },
    /// An SNS delivery (its own `Message` is opened again once it is verified).
    Sns(Box<SnsMessage>),
}

/// Opens a notification body; an error says what is wrong with it (400).
pub fn open(body: &[u8]) -> Result<Envelope, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("a notification must be JSON: {e}"))?;
    let Value::Object(mut fields) = value else {
        return Err("a notification must be a JSON object: an S3 event ({\"Records\": [...]}) or an SNS message".into());
    };
    if fields.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Envelope::TestEvent { bucket: fields.get("Bucket").and_then(Value::as_str).unwrap_or_default().to_string() });
    }
    if fields.contains_key("Type") && fields.contains_key("TopicArn") {
        let message: SnsMessage = serde_json::from_value(Value::Object(fields)).map_err(|e| format!("not a valid SNS message: {e}"))?;
        return Ok(Envelope::Sns(Box::new(message)));
    }
    let Some(Value::Array(records)) = fields.get_mut("Records") else {
        return Err("not an S3 event notification ({\"Records\": [...]}), an s3:TestEvent or an SNS message".into());
    };
    for record in records.iter_mut() {
        if let Value::Object(record) = record {
            fill_unused(record);
        }
    }
    serde_json::from_value(Value::Object(fields)).map(Envelope::Records).map_err(|e| format!("not an S3 event notification ({{\"Records\": [...]}}): {e}"))
}

/// The fields `aws_lambda_events` requires that frameflow does not read, as empty values,
/// and a missing event time as now.
fn fill_unused(record: &mut Map<String, Value>) {
    for field in ["userIdentity", "requestParameters"] {
        if record.get(field).is_none_or(Value::is_null) {
            record.insert(field.into(), Value::Object(Map::new()));
        }
    }
    if record.get("responseElements").is_some_and(Value::is_null) {
        record.remove("responseElements");
    }
    if record.get("eventTime").is_none_or(Value::is_null) {
        record.insert("eventTime".into(), Value::String(super::objects::rfc3339_now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_without_the_fields_frameflow_does_not_use_are_taken() {
        let body = br#"{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": "k.mp4", "size": 3}}}]}"#;
        let Ok(Envelope::Records(event)) = open(body) else { panic!("taken") };
        assert_eq!(event.records[0].s3.object.key.as_deref(), Some("k.mp4"));
        let nulls = br#"{"Records": [{"eventTime": null, "userIdentity": null, "requestParameters": null, "responseElements": null, "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]}"#;
        assert!(matches!(open(nulls), Ok(Envelope::Records(_))));
    }

    #[test]
    fn test_events_and_sns_messages_are_told_apart() {
        let test = br#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-12-07T12:00:00.000Z","Bucket":"uploads","RequestId":"R","HostId":"H"}"#;
        assert!(matches!(open(test), Ok(Envelope::TestEvent { bucket }) if bucket == "uploads"));
        let sns = br#"{"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:us-east-1:1:t","Message":"{}","Timestamp":"2026-12-07T12:00:00.000Z","SignatureVersion":"1","Signature":"c2ln","SigningCertURL":"https://sns.us-east-1.amazonaws.com/c.pem"}"#;
        assert!(matches!(open(sns), Ok(Envelope::Sns(m)) if m.kind == "Notification" && m.message == "{}"));
    }

    #[test]
    fn what_is_none_of_them_is_refused() {
        for bad in [&b"{not json"[..], b"[]", b"{}", br#"{"Records": 5}"#, br#"{"Records": [{"s3": 5}]}"#, br#"{"Type": "Notification", "TopicArn": "t"}"#] {
            assert!(open(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
