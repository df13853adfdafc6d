//! S3 → SNS → HTTPS: SNS messages posted to `/v1/events/s3`. Messages this test signs with
//! a certificate it makes (the `openssl` CLI) and serves on loopback: a subscription is
//! confirmed by fetching its `SubscribeURL`, a notification's S3 event registers the video
//! and starts the trigger's job, a tampered message or one signed by a certificate on a
//! host not allowed is refused with 403 and runs nothing. Then moto's own SNS: a bucket's
//! notifications to a topic with an HTTP subscription to frameflow, wired with boto3 (moto
//! signs with a certificate only it can serve, so that host checks no signatures).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use frameflow_testkit::http_client::{get, request, Body, HttpResponse};
use frameflow_testkit::pattern::pattern_video;
use serde_json::{json, Value};

use crate::events::wait_until;
use crate::server::{Backend, ServerProcess, ServerSetup, JOBS_ROUTES};

const EVENT_MANIFEST: &str = "[[trigger.object]]\nprefix = \"incoming/\"\nsuffix = \".mp4\"\ncomponent = \"jobs\"\n\
    [trigger.object.job]\nsampler = \"uniform\"\nparams = { num_segments = 2 }\nseed = 5\n";

/// A certificate and its key, made with the `openssl` CLI; `None` without one.
fn make_certificate(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=sns.test"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    match made {
        Ok(out) if out.status.success() => Some((key, cert)),
        _ => None,
    }
}

/// `text` signed with `key` (SHA1withRSA for version 1, SHA256withRSA for 2), base64.
fn sign(dir: &Path, key: &Path, text: &str, version: &str) -> String {
    let input = dir.join("to-sign.txt");
    std::fs::write(&input, text).unwrap();
    let digest = if version == "1" { "-sha1" } else { "-sha256" };
    let out = Command::new("openssl").args(["dgst", digest, "-sign"]).arg(key).arg(&input).output().expect("openssl dgst");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    base64::engine::general_purpose::STANDARD.encode(out.stdout)
}

/// A loopback HTTP server answering every GET with `pem` (the certificate) and noting
/// each path it was asked for (the confirmation's `SubscribeURL`).
struct CertServer {
    addr: SocketAddr,
    asked: Arc<Mutex<Vec<String>>>,
}

impl CertServer {
    fn start(pem: Vec<u8>) -> CertServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let seen = asked.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                        break;
                    }
                }
                seen.lock().unwrap().push(path);
                let mut stream = stream;
                let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", pem.len());
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&pem);
            }
        });
        CertServer { addr, asked }
    }
}

/// An SNS message of `kind`, signed as SNS signs it.
fn sns_message(dir: &Path, key: &Path, kind: &str, message: &str, cert_url: &str, subscribe_url: &str, version: &str) -> Value {
    let (id, topic, time) = ("9d5b1a1e-0000-4000-8000-000000000001", "arn:aws:sns:us-east-1:123456789012:uploads", "2026-12-07T12:00:00.000Z");
    let text = match kind {
        "Notification" => format!("Message\n{message}\nMessageId\n{id}\nTimestamp\n{time}\nTopicArn\n{topic}\nType\n{kind}\n"),
        _ => format!("Message\n{message}\nMessageId\n{id}\nSubscribeURL\n{subscribe_url}\nTimestamp\n{time}\nToken\ntoken-1\nTopicArn\n{topic}\nType\n{kind}\n"),
    };
    let mut v = json!({
        "Type": kind, "MessageId": id, "TopicArn": topic, "Message": message, "Timestamp": time,
        "SignatureVersion": version, "Signature": sign(dir, key, &text, version), "SigningCertURL": cert_url,
    });
    if kind != "Notification" {
        v["SubscribeURL"] = json!(subscribe_url);
        v["Token"] = json!("token-1");
    }
    v
}

fn post(addr: SocketAddr, body: &Value) -> HttpResponse {
    let bytes = serde_json::to_vec(body).unwrap();
    request(addr, "POST", "/v1/events/s3", &[("content-type", "text/plain; charset=UTF-8"), ("x-amz-sns-message-type", body["Type"].as_str().unwrap_or(""))], Body::Sized(&bytes))
}

/// An S3 event for `key` as S3-compatible servers send it (no `userIdentity`,
/// `requestParameters` or `responseElements`).
fn bare_s3_event(bucket: &str, key: &str, size: usize) -> String {
    json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "eventTime": "2026-12-07T12:00:00.000Z",
        "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": size, "eTag": "abc"}}}]})
    .to_string()
}

#[test]
fn signed_sns_messages_are_confirmed_and_unwrapped_and_forged_ones_refused() {
    let dir = frameflow_testkit::scratch_dir("sns-signed");
    let Some((key, cert)) = make_certificate(&dir) else {
        eprintln!("SKIP: no openssl CLI to make a signing certificate");
        return;
    };
    let certs = CertServer::start(std::fs::read(&cert).unwrap());
    let cert_url = format!("http://{}/SimpleNotificationService-test.pem", certs.addr);
    let subscribe_url = format!("http://{}/?Action=ConfirmSubscription&Token=token-1", certs.addr);
    let settings = format!("allowed_hosts = [\"127.0.0.1\"]\nsns_hosts = [\"http://{}\"]\n", certs.addr);
    let server = ServerProcess::start(
        "sns-signed",
        ServerSetup { extra_manifest: &format!("{JOBS_ROUTES}{EVENT_MANIFEST}"), settings: &settings, ..ServerSetup::default() },
    );
    let addr = server.addr;

    // The subscription is confirmed: frameflow fetches the SubscribeURL.
    let confirm = sns_message(&dir, &key, "SubscriptionConfirmation", "You have chosen to subscribe", &cert_url, &subscribe_url, "1");
    let r = post(addr, &confirm);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["confirmed"], "arn:aws:sns:us-east-1:123456789012:uploads");
    assert!(certs.asked.lock().unwrap().iter().any(|p| p.contains("Action=ConfirmSubscription&Token=token-1")), "{:?}", certs.asked.lock().unwrap());

    // S3's test event inside a notification is acknowledged.
    let test_event = json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-12-07T12:00:00.000Z", "Bucket": "local"}).to_string();
    let r = post(addr, &sns_message(&dir, &key, "Notification", &test_event, &cert_url, "", "2"));
    assert_eq!((r.status, r.json()["test_event"].clone()), (200, json!(true)), "{}", String::from_utf8_lossy(&r.body));

    // Forged: the message changed after signing; signed by another key; a certificate on a
    // host sns_hosts does not name; no signature at all. Each 403, nothing queued.
    let video = std::fs::read(pattern_video("h264_bframes_gop250.mp4").path).unwrap();
    server.store().write("tenants/default/incoming/sns.mp4", &video);
    let event = bare_s3_event("local", "tenants/default/incoming/sns.mp4", video.len());
    let mut tampered = sns_message(&dir, &key, "Notification", &event, &cert_url, "", "2");
    tampered["Message"] = json!(bare_s3_event("local", "tenants/default/incoming/other.mp4", 1));
    let other_dir = frameflow_testkit::scratch_dir("sns-signed-other");
    let (other_key, _) = make_certificate(&other_dir).unwrap();
    let wrong_key = sns_message(&other_dir, &other_key, "Notification", &event, &cert_url, "", "1");
    let wrong_host = sns_message(&dir, &key, "Notification", &event, &format!("http://localhost:{}/c.pem", certs.addr.port()), "", "1");
    let https_elsewhere = sns_message(&dir, &key, "Notification", &event, "https://sns.us-east-1.amazonaws.com.evil.org/c.pem", "", "1");
    let mut unsigned = sns_message(&dir, &key, "Notification", &event, &cert_url, "", "1");
    unsigned.as_object_mut().unwrap().remove("Signature");
    for (what, forged) in [("tampered", &tampered), ("another key", &wrong_key), ("host not allowed", &wrong_host), ("elsewhere", &https_elsewhere), ("unsigned", &unsigned)] {
        let r = post(addr, forged);
        assert_eq!(r.status, 403, "{what}: {}", String::from_utf8_lossy(&r.body));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(get(addr, "/v1/videos").json()["videos"].as_array().unwrap().is_empty(), "a forged message runs nothing");

    // The real one: its S3 event (as S3-compatible servers send it) registers the video.
    let r = post(addr, &sns_message(&dir, &key, "Notification", &event, &cert_url, "", "2"));
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json(), json!({"accepted": 1, "ignored": 0}));
    let videos = wait_until("the video to be registered", Duration::from_secs(60), || {
        get(addr, "/v1/videos").json()["videos"].as_array().filter(|v| !v.is_empty()).cloned()
    });
    assert_eq!(videos[0]["key"], "incoming/sns.mp4");

    let bye = sns_message(&dir, &key, "UnsubscribeConfirmation", "You have unsubscribed", &cert_url, &subscribe_url, "1");
    assert_eq!(post(addr, &bye).status, 200);
    // Malformed SNS: a type SNS does not send.
    let mut odd = sns_message(&dir, &key, "Notification", &event, &cert_url, "", "1");
    odd["Type"] = json!("Surprise");
    assert_eq!(post(addr, &odd).status, 400);
}

#[test]
fn s3_test_events_and_records_without_unused_fields_are_taken() {
    let server = ServerProcess::start("sns-plain-events", ServerSetup { extra_manifest: &format!("{JOBS_ROUTES}{EVENT_MANIFEST}"), ..ServerSetup::default() });
    let test_event = json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-12-07T12:00:00.000Z", "Bucket": "b", "RequestId": "R", "HostId": "H"});
    let r = request(server.addr, "POST", "/v1/events/s3", &[], Body::Sized(test_event.to_string().as_bytes()));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let video = std::fs::read(pattern_video("h264_bframes_gop250.mp4").path).unwrap();
    server.store().write("tenants/default/incoming/bare.mp4", &video);
    let r = request(server.addr, "POST", "/v1/events/s3", &[], Body::Sized(bare_s3_event("b", "tenants/default/incoming/bare.mp4", video.len()).as_bytes()));
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["accepted"], 1);
    wait_until("the video to be registered", Duration::from_secs(60), || get(server.addr, "/v1/videos").json()["videos"].as_array().filter(|v| !v.is_empty()).cloned());
}

/// What the wiring script does with boto3 against moto: a topic, an HTTP subscription to
/// frameflow, the bucket's notifications to the topic (moto sends S3's test event then),
/// and a PUT of the video under the watched prefix.
const WIRE_SNS: &str = r#"
import sys, boto3
endpoint, bucket, target, key, path = sys.argv[1:]
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
sns, s3 = boto3.client("sns", **kw), boto3.client("s3", **kw)
topic = sns.create_topic(Name="uploads-" + bucket)["TopicArn"]
sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=target)
s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"TopicConfigurations": [
    {"TopicArn": topic, "Events": ["s3:ObjectCreated:*"], "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "deployment/tenants/"}]}}}]})
s3.upload_file(path, bucket, key)
"#;

#[test]
fn a_bucket_notifying_an_sns_topic_starts_the_job_through_motos_delivery() {
    let Some(s3) = frameflow_testkit::s3::server() else { return };
    let Some(python) = frameflow_testkit::python_with("boto3") else {
        eprintln!("SKIP: no boto3 in the tools venv (run scripts/setup.sh)");
        return;
    };
    let server = ServerProcess::start(
        "sns-moto",
        ServerSetup {
            extra_manifest: &format!("{JOBS_ROUTES}{EVENT_MANIFEST}"),
            settings: "sns_verify_signatures = false\n",
            backend: Backend::S3,
            ..ServerSetup::default()
        },
    );
    let bucket = std::fs::read_to_string(server.dir.join("bucket")).unwrap();
    let video = pattern_video("h264_bframes_gop250.mp4").path;
    let target = format!("http://{}/v1/events/s3", server.addr);
    let wired = Command::new(python)
        .args(["-c", WIRE_SNS, &s3.endpoint, &bucket, &target, "deployment/tenants/default/incoming/moto.mp4"])
        .arg(&video)
        .output()
        .expect("run the wiring script");
    assert!(wired.status.success(), "{}", String::from_utf8_lossy(&wired.stderr));
    let videos = wait_until("moto's SNS delivery to register the video", Duration::from_secs(60), || {
        get(server.addr, "/v1/videos").json()["videos"].as_array().filter(|v| !v.is_empty()).cloned()
    });
    assert_eq!(videos[0]["key"], "incoming/moto.mp4");
    let job = wait_until("the trigger's job", Duration::from_secs(60), || get(server.addr, "/v1/jobs").json()["jobs"].as_array().and_then(|j| j.first().cloned()));
    let id = job["id"].as_str().unwrap().to_string();
    wait_until("the job to finish", Duration::from_secs(120), || (get(server.addr, &format!("/v1/jobs/{id}")).json()["state"] == "succeeded").then_some(()));
    let log = server.stderr();
    assert!(log.contains("S3 test event"), "moto's s3:TestEvent reached the host and was acknowledged: {log}");
}
