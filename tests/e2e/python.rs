//! The Python package against a server job: `frameflow.samplers` in Python and a job's
//! sampler component plan the same clips from the same video, params and seed (they run
//! the same sampling code). Needs the package installed in the tools venv
//! (`scripts/test-python.sh`, which `make test` runs first); says SKIP otherwise.

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
    let python = frameflow_testkit::python_tool("python");
    let installed = std::process::Command::new(&python).args(["-c", "import frameflow"]).output();
    if !installed.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIP: the frameflow Python package is not installed in {} (scripts/test-python.sh)", python.display());
        return;
    }
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
