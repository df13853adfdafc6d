//! The Python package against a server job: `frameflow.samplers` in Python and a job's
//! sampler component plan the same clips from the same video, params and seed (they run
//! the same sampling code); `frameflow.Client` and `frameflow.torch.JobResultsDataset`
//! against a real server (frames bit-identical to the in-process decoder, typed errors, a
//! job's RGB and flow outputs read back from a download and over HTTP). Needs the package
//! installed in the tools venv (`scripts/test-python.sh`, which `make test` runs first); says
//! SKIP otherwise.

use std::collections::BTreeSet;
use std::time::Duration;

use frameflow_testkit::http_client::{request, Body};
use frameflow_testkit::pattern::pattern_video;
use serde_json::json;

use crate::server::{ServerProcess, ServerSetup, JOBS_ROUTES};

const SCRIPT: &str = r#"
import json, sys
import numpy as np
from frameflow import VideoDecoder
from frameflow.samplers import clips_at_random_indices
d = VideoDecoder(sys.argv[1])
b = clips_at_random_indices(d, num_clips=6, num_frames_per_clip=4, num_indices_between_frames=3, seed=int(sys.argv[2]))
pts = np.asarray(b.pts_seconds)
clips = [[int(np.argmin(np.abs(d._pts_seconds - t))) for t in clip] for clip in pts]
print(json.dumps(clips))
"#;

#[test]
fn the_same_seed_gives_the_same_clips_in_python_and_in_a_server_job() {
    let Some(python) = frameflow_testkit::python_with("frameflow") else {
        eprintln!("SKIP: the frameflow Python package is not installed in the tools venv (scripts/test-python.sh)");
        return;
    };
    let video = pattern_video("h264_bframes_gop250.mp4").path;
    let seed = 11u64;
    let out = std::process::Command::new(&python).arg("-c").arg(SCRIPT).arg(&video).arg(seed.to_string()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let in_python: Vec<Vec<u64>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(in_python.len(), 6);

    let server = ServerProcess::start("python-same-clips", ServerSetup { extra_manifest: JOBS_ROUTES, ..ServerSetup::default() });
    let bytes = std::fs::read(&video).unwrap();
    let key = request(server.addr, "POST", "/v1/videos?name=p.mp4", &[], Body::Sized(&bytes)).json()["key"].as_str().unwrap().to_string();
    let spec = json!({"videos": [key], "modality": "rgb", "seed": seed, "params": {"num_clips": 6, "frames_per_clip": 4, "frame_step": 3}});
    let id = crate::jobs::create_job(server.addr, spec);
    crate::jobs::wait_for(server.addr, &id, "succeeded", Duration::from_secs(120));
    let lines = crate::jobs::manifest(server.addr, &id);
    let mut clips: std::collections::BTreeMap<u64, Vec<(u64, u64)>> = Default::default();
    for line in &lines {
        clips.entry(line["clip"].as_u64().unwrap()).or_default().push((line["k"].as_u64().unwrap(), line["index"].as_u64().unwrap()));
    }
    // A job numbers clips along the video; compare the clips themselves.
    let in_job: BTreeSet<Vec<u64>> = clips.into_values().map(|mut c| {
        c.sort();
        c.into_iter().map(|(_, index)| index).collect()
    }).collect();
    let in_python: BTreeSet<Vec<u64>> = in_python.into_iter().collect();
    assert_eq!(in_python, in_job, "Python and the server job planned different clips for seed {seed}");
}

const CLIENT_SCRIPT: &str = r#"
import json, sys, tempfile
import numpy as np
import frameflow
from frameflow import Client
from frameflow.client import NotFound, BadRequest
from frameflow.torch import JobResultsDataset

base, video = sys.argv[1], sys.argv[2]
c = Client(base)
record = c.upload(video)
vid = record["id"]
assert record["frame_count"] == 300, record
assert [v["id"] for v in c.videos()] == [vid]
frame = c.frame(vid, 137)
assert frame.shape == (240, 320, 3) and frame.dtype == np.uint8
local = frameflow.VideoDecoder(video, dimension_order="NHWC")[137]
assert np.array_equal(np.asarray(local), frame), "the server's frame 137 is the in-process decoder's, bit for bit"
assert np.array_equal(c.frame(vid, time=137 / 25), frame)
batch = c.frames(vid, [137, 3, 137])
assert batch.shape == (3, 240, 320, 3) and np.array_equal(batch[0], frame) and np.array_equal(batch[2], frame)
assert batch.dtype == np.uint8 and batch.flags.writeable, "a batch is an ordinary writable array"
batch[1] = 0
small = c.frame(vid, 3, width=160)
assert np.array_equal(c.frames(vid, [3], width=160)[0], small)
assert small.shape == (120, 160, 3)
flow = c.flow(vid, 10)
assert flow.shape == (2, 240, 320) and flow.dtype == np.float32
in_process = np.asarray(frameflow.VideoDecoder(video).flow(10))
assert np.array_equal(in_process, flow), "the server's flow 10->11 is the in-process flow, bit for bit"
try:
    c.frame(vid, 100000)
    raise AssertionError("frame 100000 should be a 404")
except NotFound as e:
    assert e.status == 404 and e.code == "frame_out_of_range", (e.status, e.code)
try:
    c.frame("0123456789abcdef", 0)
    raise AssertionError("an unknown video should be a 404")
except NotFound:
    pass
try:
    c.create_job([vid], params={"num_clips": -1})
    raise AssertionError("a bad param should be a 400")
except BadRequest as e:
    assert "num_clips" in e.message and e.param == "num_clips", (e.message, e.param)

job = c.create_job([vid], params={"num_clips": 3, "frames_per_clip": 4}, modality="rgb+flow", seed=5, flow={"algorithm": "dis-fast", "bound": 20})
done = c.wait(job["id"], timeout=120)
assert done["state"] == "succeeded", done
entries = list(c.results(job["id"], page_size=7))
assert len(entries) == 3 * 4 * 3, len(entries)
with tempfile.TemporaryDirectory() as d:
    c.download(job["id"], d)
    on_disk = JobResultsDataset(d)
    over_http = JobResultsDataset(c, job["id"])
    assert len(on_disk) == len(over_http) == 3
    for i in range(3):
        a, b = on_disk[i], over_http[i]
        assert a["indices"] == b["indices"] and len(a["indices"]) == 4
        assert np.array_equal(a["rgb"], b["rgb"]) and np.array_equal(a["flow"], b["flow"])
        assert a["rgb"].shape == (4, 240, 320, 3) and a["flow"].shape == (4, 2, 240, 320)
        assert np.all(np.abs(a["flow"]) <= 20.0 + 1e-4)
        exact = c.frame(vid, a["indices"][0]).astype(np.int16)
        err = np.abs(a["rgb"][0].astype(np.int16) - exact).mean()
        assert err < 4.0, f"the JPEG of frame {a['indices'][0]} is that frame (mean error {err:.2f})"
    # The same seed in-process: the same clips, and the job's flow is the in-process flow
    # quantized (bound 20: steps of 40/255 px) and JPEG-compressed.
    from frameflow.samplers import clips_at_random_indices
    mine = clips_at_random_indices(frameflow.VideoDecoder(video), num_clips=3, num_frames_per_clip=4, seed=5,
                                   modality="rgb+flow", algorithm="dis-fast")
    theirs = {tuple(on_disk[i]["indices"]): on_disk[i]["flow"] for i in range(3)}
    assert set(theirs) == {tuple(c) for c in mine["indices"].tolist()}, (sorted(theirs), mine["indices"].tolist())
    worst = 0.0
    for clip, field in zip(mine["indices"].tolist(), np.asarray(mine["flow"])):
        worst = max(worst, float(np.abs(np.clip(field, -20, 20) - theirs[tuple(clip)]).mean()))
    assert worst < 0.2, f"in-process flow vs the job's quantized flow: mean error {worst:.3f} px"
c.delete_video(vid)
assert list(c.videos()) == []
print(json.dumps({"ok": True, "entries": len(entries), "flow_error": worst}))
"#;

#[test]
fn the_client_and_job_results_dataset_work_against_a_server() {
    let Some(python) = frameflow_testkit::python_with("frameflow.client, frameflow.torch") else {
        eprintln!("SKIP: the frameflow Python package is not installed in the tools venv (scripts/test-python.sh)");
        return;
    };
    let server = ServerProcess::start("python-client", ServerSetup { extra_manifest: JOBS_ROUTES, ..ServerSetup::default() });
    let video = pattern_video("h264_bframes_gop250.mp4").path;
    let out = std::process::Command::new(&python).arg("-c").arg(CLIENT_SCRIPT).arg(format!("http://{}", server.addr)).arg(&video).output().unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let said: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(said["entries"], 36);
}

const S3_SCRIPT: &str = r#"
import json, sys
import boto3
import numpy as np
from frameflow import Client
from frameflow.torch import JobResultsDataset

base, video, store = sys.argv[1], sys.argv[2], sys.argv[3]
c = Client(base)
vid = c.upload(video)["id"]
job = c.create_job([vid], params={"num_clips": 2, "frames_per_clip": 3}, modality="rgb+flow", seed=3)
assert c.wait(job["id"], timeout=120)["state"] == "succeeded"
over_http = JobResultsDataset(c, job["id"])
from_s3 = JobResultsDataset(store, job["id"])  # boto3 with the AWS_* settings the server has
bucket, prefix = store[len("s3://"):].split("/", 1)
folder = f"s3://{bucket}/{prefix}/tenants/default/jobs/{job['id']}"
given = JobResultsDataset(folder, s3_client=boto3.client("s3"))
assert len(over_http) == len(from_s3) == len(given) == 2
for i in range(2):
    a, b, g = over_http[i], from_s3[i], given[i]
    assert a["indices"] == b["indices"] == g["indices"]
    for kind in ("rgb", "flow"):
        assert np.array_equal(a[kind], b[kind]) and np.array_equal(a[kind], g[kind]), kind
try:
    JobResultsDataset(store, "no-such-job")
    raise AssertionError("a job that is not there has no manifest")
except FileNotFoundError:
    pass
print(json.dumps({"ok": True}))
"#;

/// `JobResultsDataset` reads a job's outputs straight from the server's S3 store (moto on
/// loopback), by the store's URL and the job id or by the job's folder, equal to the same
/// results over HTTP.
#[test]
fn the_job_results_dataset_reads_a_jobs_outputs_from_s3() {
    let Some(python) = frameflow_testkit::python_with("frameflow.torch, boto3") else {
        eprintln!("SKIP: the frameflow Python package (with boto3) is not installed in the tools venv (scripts/test-python.sh)");
        return;
    };
    let Some(s3) = frameflow_testkit::s3::server() else {
        eprintln!("SKIP: no S3 server (moto_server) in the tools venv");
        return;
    };
    let server = ServerProcess::start(
        "python-s3-results",
        ServerSetup { extra_manifest: JOBS_ROUTES, backend: crate::server::Backend::S3, ..ServerSetup::default() },
    );
    let bucket = std::fs::read_to_string(server.dir.join("bucket")).unwrap();
    let video = pattern_video("h264_bframes_gop250.mp4").path;
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(S3_SCRIPT)
        .arg(format!("http://{}", server.addr))
        .arg(&video)
        .arg(format!("s3://{bucket}/deployment"))
        .envs(s3.env())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

const ANALYTICS_SCRIPT: &str = r#"
import json, sys
from frameflow import Client
from frameflow.client import BadRequest, NotFound

base, video = sys.argv[1], sys.argv[2]
c = Client(base)
vid = c.upload(video)["id"]
face = lambda f, t, x, conf, who: {"frame": f, "trace_id": t, "kind": "face", "bbox": {"x": x, "y": 100, "width": 80, "height": 80},
                                   "confidence": conf, "identity": {"uuid": who, "name": who.title()}}
dets = [face(f, 1, 100, 0.9, "ann") for f in range(10, 21)] + [face(f, 2, 400, 0.8, "bob") for f in range(15, 31)]
stats = c.put_detections(vid, dets)
assert (stats["detections"], stats["traces"], stats["identities"]) == (27, 2, 2), stats
assert len(list(c.detections(vid, trace_id=1, page_size=4))) == 11
rep = c.representative_face(vid, 1)
assert 10 <= rep["representative"]["frame_number"] <= 20 and rep["face_count"] == 11, rep
assert c.face_thumbnail(vid, 1)[:2] == b"\xff\xd8"
together = c.cooccurrence(vid, "ann", "bob")["first_cooccurrence"]
assert (together["frame_number"], together["total_cooccurrence_frames"]) == (15, 6), together
assert c.representative_frame(vid)["frame_number"] == 15
try:
    c.put_detections(vid, [face(999, 1, 100, 0.9, "ann")])
    raise AssertionError("a frame past the video should be a 400")
except BadRequest as e:
    assert "frame 999" in e.message
try:
    c.representative_face(vid, 42)
    raise AssertionError("no trace 42")
except NotFound:
    pass

area = [{"X": 400, "Y": 0}, {"X": 640, "Y": 0}, {"X": 640, "Y": 360}, {"X": 400, "Y": 360}]
task = c.create_task({"id": "py-1", "source": {"address": f"video:{vid}"},
                      "analyzers": [{"name": "area_intrusion", "params": {"DetectInfos": [{"HotArea": area}]}}]})
assert task["id"] == "py-1"
done = c.wait_task("py-1", timeout=120)
assert done["status"]["state"] == "finished" and done["status"]["processed_frames"] == 300, done
events = list(c.task_events("py-1", page_size=1))
assert len(events) == 2 and all(e["delivery"]["state"] == "none" for e in events), events
assert [t["id"] for t in c.tasks()] == ["py-1"]
c.delete_task("py-1")
assert c.tasks() == []
print(json.dumps({"ok": True, "reports": [e["frame_index"] for e in events]}))
"#;

/// The Python client against a server: detections and seed 002's analytics, an analysis
/// task over a stored video and its reports.
#[test]
fn the_client_drives_detections_analytics_and_tasks() {
    let Some(python) = frameflow_testkit::python_with("frameflow.client") else {
        eprintln!("SKIP: the frameflow Python package is not installed in the tools venv (scripts/test-python.sh)");
        return;
    };
    let server = ServerProcess::start("python-analytics", ServerSetup { extra_manifest: crate::tasks::ANALYZERS, ..ServerSetup::default() });
    let video = frameflow_testkit::live::square_video();
    let out = std::process::Command::new(&python).arg("-c").arg(ANALYTICS_SCRIPT).arg(format!("http://{}", server.addr)).arg(&video).output().unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let said: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(said["reports"].as_array().map(Vec::len), Some(2), "{said}");
}
