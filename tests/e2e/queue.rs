//! S3 → SQS: a bucket's notifications go to a moto SQS queue (with a redrive policy to a
//! dead-letter queue), wired with boto3 as an operator would, and `frameflow serve` reads the
//! queue (`[[trigger.queue]]`, the AWS SDK): moto's own messages register the video and start
//! the trigger's job, each message is deleted once handled; an upload that is no video is
//! dead-lettered in frameflow's list at once and its message deleted; a malformed message
//! is received until the redrive count and lands in the dead-letter queue; SIGTERM while
//! the consumer long-polls ends it at once with exit 0.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use frameflow_testkit::http_client::get;
use frameflow_testkit::pattern::pattern_video;
use serde_json::Value;

use crate::events::wait_until;
use crate::server::{Backend, ServerProcess, ServerSetup, JOBS_ROUTES};

/// boto3 against moto: `setup BUCKET` makes the queues and the bucket's notification and
/// prints their URLs; `mkqueue NAME` makes a queue (and its DLQ, after 10 receives) and
/// prints their URLs; `mkbucket BUCKET`; `put BUCKET KEY FILE` uploads; `dump BUCKET PREFIX
/// DIR` downloads every object under a prefix; `send URL BODY` sends a raw message;
/// `count URL` prints the messages on a queue (visible + in flight); `bodies URL` prints
/// the bodies of a queue's messages.
const SQS_TOOL: &str = r#"
import json, sys, boto3
endpoint, command, *args = sys.argv[1:]
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
sqs, s3 = boto3.client("sqs", **kw), boto3.client("s3", **kw)
if command == "setup":
    bucket, = args
    dlq = sqs.create_queue(QueueName=bucket + "-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName=bucket + "-events", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
        {"QueueArn": arn, "Events": ["s3:ObjectCreated:*"], "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "deployment/tenants/"}]}}}]})
    print(json.dumps({"queue": queue, "dlq": dlq}))
elif command == "put":
    bucket, key, path = args
    s3.upload_file(path, bucket, key)
elif command == "mkbucket":
    bucket, = args
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
elif command == "dump":
    import os
    bucket, prefix, into = args
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            path = os.path.join(into, o["Key"][len(prefix):].lstrip("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            s3.download_file(bucket, o["Key"], path)
elif command == "mkqueue":
    name, = args
    dlq = sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "10"})})["QueueUrl"]
    print(json.dumps({"queue": queue, "dlq": dlq}))
elif command == "send":
    url, body = args
    sqs.send_message(QueueUrl=url, MessageBody=body)
elif command == "count":
    url, = args
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    print(int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"]))
elif command == "bodies":
    url, = args
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    print(json.dumps([m["Body"] for m in got.get("Messages", [])]))
"#;

/// boto3 against the test kit's moto server (`SQS_TOOL`).
pub(crate) struct Sqs {
    python: PathBuf,
    endpoint: String,
}

impl Sqs {
    /// `None` (with a SKIP line) without moto or boto3.
    pub(crate) fn new() -> Option<Sqs> {
        let s3 = frameflow_testkit::s3::server()?;
        let Some(python) = frameflow_testkit::python_with("boto3") else {
            eprintln!("SKIP: no boto3 in the tools venv (run scripts/setup.sh)");
            return None;
        };
        Some(Sqs { python, endpoint: s3.endpoint.clone() })
    }

    pub(crate) fn run(&self, args: &[&str]) -> String {
        let out = Command::new(&self.python).args(["-c", SQS_TOOL, &self.endpoint]).args(args).output().expect("run boto3");
        assert!(out.status.success(), "boto3 {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn count(&self, url: &str) -> u64 {
        self.run(&["count", url]).parse().unwrap()
    }
}

fn queue_manifest(url: &str) -> String {
    format!(
        "{JOBS_ROUTES}[[trigger.object]]\nprefix = \"incoming/\"\nsuffix = \".mp4\"\ncomponent = \"jobs\"\n\
         [trigger.object.job]\nsampler = \"uniform\"\nparams = {{ num_segments = 2 }}\nseed = 5\n\
         [[trigger.queue]]\nurl = \"{url}\"\ncomponent = \"jobs\"\nvisibility_timeout_s = 2\nwait_s = 1\n"
    )
}

#[test]
fn a_bucket_notifying_an_sqs_queue_runs_its_events_once_and_dead_letters_what_fails() {
    let Some(sqs) = Sqs::new() else { return };
    let s3 = frameflow_testkit::s3::server().expect("Sqs::new checked");
    // The bucket first (the server's), then the wiring, then the server reading the queue.
    let bucket = s3.bucket("queue-events");
    let scratch = frameflow_testkit::scratch_dir("servers/queue-events-s3");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    std::fs::write(scratch.join("bucket"), &bucket).unwrap();
    let wired: Value = serde_json::from_str(&sqs.run(&["setup", &bucket])).unwrap();
    let (queue, dlq) = (wired["queue"].as_str().unwrap().to_string(), wired["dlq"].as_str().unwrap().to_string());
    let manifest = queue_manifest(&queue);
    let mut server = ServerProcess::start_in(
        scratch,
        &frameflow_testkit::scratch_dir("component-cache"),
        ServerSetup { extra_manifest: &manifest, backend: Backend::S3, ..ServerSetup::default() },
    );
    let addr = server.addr;

    // moto's own notification of an upload: the video, its job, the message gone.
    let video = pattern_video("h264_bframes_gop250.mp4").path;
    sqs.run(&["put", &bucket, "deployment/tenants/default/incoming/q.mp4", video.to_str().unwrap()]);
    let videos = wait_until("the queue's event to register the video", Duration::from_secs(60), || {
        get(addr, "/v1/videos").json()["videos"].as_array().filter(|v| !v.is_empty()).cloned()
    });
    assert_eq!(videos[0]["key"], "incoming/q.mp4");
    let job = wait_until("the trigger's job", Duration::from_secs(60), || get(addr, "/v1/jobs").json()["jobs"].as_array().and_then(|j| j.first().cloned()));
    let id = job["id"].as_str().unwrap().to_string();
    wait_until("the job to finish", Duration::from_secs(120), || (get(addr, &format!("/v1/jobs/{id}")).json()["state"] == "succeeded").then_some(()));
    wait_until("the handled messages (the test event, the upload) to be deleted", Duration::from_secs(30), || (sqs.count(&queue) == 0).then_some(()));

    // Not a video: the handler will never take it: frameflow's dead-letter list, message gone.
    let cut = scratch_file("cut.mp4", &std::fs::read(&video).unwrap()[..2000]);
    sqs.run(&["put", &bucket, "deployment/tenants/default/incoming/cut.mp4", cut.to_str().unwrap()]);
    let letter = wait_until("the truncated upload's dead letter", Duration::from_secs(60), || {
        get(addr, "/v1/events/failed").json()["failed"].as_array().and_then(|l| l.iter().find(|l| l["event"]["key"] == "incoming/cut.mp4").cloned())
    });
    assert!(letter["error"].as_str().unwrap().contains("cut.mp4"), "{letter}");
    wait_until("the dead-lettered message to be deleted", Duration::from_secs(30), || (sqs.count(&queue) == 0).then_some(()));

    // Malformed: received twice (the redrive count), then in the dead-letter queue; the
    // host goes on serving.
    sqs.run(&["send", &queue, "{not json"]);
    wait_until("the malformed message to reach the dead-letter queue", Duration::from_secs(60), || (sqs.count(&dlq) == 1).then_some(()));
    assert_eq!(sqs.run(&["bodies", &dlq]), "[\"{not json\"]");
    assert_eq!(sqs.count(&queue), 0);
    assert_eq!(get(addr, "/v1/videos").json()["videos"].as_array().unwrap().len(), 1, "one video, registered once");
    assert_eq!(get(addr, "/v1/jobs").json()["jobs"].as_array().unwrap().len(), 1, "one job: the upload's event ran once");

    // SIGTERM while the consumer long-polls: out at once, exit 0.
    let exit = server.terminate(Duration::from_secs(10)).expect("the server exits after SIGTERM");
    assert!(exit.success(), "{exit:?}: {}", server.stderr());
}

fn scratch_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = frameflow_testkit::scratch_dir("queue-files").join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Work messages: two hosts on one bucket read one moto queue that carries jobs' chunks
/// (`work = true`). A 24-chunk job is planned by one host, which sends a work message per
/// chunk; both hosts run chunks from messages;
/// the host holding a chunk is killed with SIGKILL mid-job, its message comes back after the
/// visibility timeout and the other host runs it; every output is written once.
#[test]
fn two_hosts_share_a_job_through_work_messages_and_one_is_killed() {
    let Some(sqs) = Sqs::new() else { return };
    let wired: Value = serde_json::from_str(&sqs.run(&["mkqueue", &format!("ff-work-{}", std::process::id())])).unwrap();
    let (queue, dlq) = (wired["queue"].as_str().unwrap().to_string(), wired["dlq"].as_str().unwrap().to_string());
    let manifest = format!("{JOBS_ROUTES}[[trigger.queue]]\nurl = \"{queue}\"\nwork = true\nvisibility_timeout_s = 4\nwait_s = 1\nmax_messages = 1\n");
    let host = |settings: &'static str| ServerSetup { extra_manifest: Box::leak(manifest.clone().into_boxed_str()), settings, backend: Backend::S3, ..ServerSetup::default() };
    let mut a = ServerProcess::start("queue-work-a", host("host_id = \"host-a\"\njob_lease_ms = 3000\n"));
    let mut b = ServerProcess::start_sharing("queue-work-b", &a, host("host_id = \"host-b\"\njob_lease_ms = 3000\n"));
    // 640x360 with flow: 24 chunks take long enough to kill a host in the middle.
    let bytes = std::fs::read(frameflow_testkit::pattern::video_with_audio()).unwrap();
    let r = frameflow_testkit::http_client::request(a.addr, "POST", "/v1/videos?name=wide.mp4", &[], frameflow_testkit::http_client::Body::Sized(&bytes));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let key = r.json()["key"].as_str().unwrap().to_string();
    let id = crate::jobs::create_job(
        b.addr,
        serde_json::json!({"videos": [key], "modality": "rgb+flow", "seed": 11, "chunk_clips": 1, "params": {"num_clips": 24, "frames_per_clip": 8}}),
    );
    // Both hosts take chunks from the queue before one is killed.
    let ran = |server: &ServerProcess| server.stderr().matches("ran a chunk from a work message").count();
    wait_until("both hosts to run chunks from work messages", Duration::from_secs(120), || (ran(&a) >= 1 && ran(&b) >= 1).then_some(()));
    assert!(a.stderr().contains("a work message per chunk sent") || b.stderr().contains("a work message per chunk sent"), "the planning host sent the chunks");
    let survivor = crate::jobs::kill_a_claim_holder(&mut a, &mut b, &id, 24);
    crate::jobs::assert_finished_once(survivor, &id, 24, 8, Duration::from_secs(240));
    wait_until("the queue to be empty", Duration::from_secs(30), || (sqs.count(&queue) == 0).then_some(()));
    assert_eq!(sqs.count(&dlq), 0, "no work message dead-lettered");
}
