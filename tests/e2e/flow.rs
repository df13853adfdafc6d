//! `frameflow flow` and `flow-pair`: denseflow names, step alignment, errors.

use std::process::Command;

use frameflow_testkit::pattern::pattern_video;
use crate::frameflow_bin;
use frameflow_testkit::scratch_dir;

fn frameflow(args: &[&str]) -> std::process::Output {
    Command::new(frameflow_bin()).args(args).output().expect("run frameflow")
}

#[test]
fn flow_writes_denseflow_pairs_with_zero_based_names() {
    let pv = pattern_video("h264_bframes_gop250.mp4");
    let out = scratch_dir("flow").join("xy");
    let _ = std::fs::remove_dir_all(&out);
    let r = frameflow(&["flow", pv.path.to_str().unwrap(), "--from-index", "20", "--count", "4", "--step", "3", "--out", out.to_str().unwrap()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    for k in 0..4 {
        for axis in ["x", "y"] {
            let f = out.join(format!("flow_{axis}_{k:05}.jpg"));
            assert_eq!(&std::fs::read(&f).unwrap()[..2], &[0xFF, 0xD8], "{}", f.display());
        }
    }
    assert!(!out.join("flow_x_00004.jpg").exists());
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(out.join("flows.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    for (k, l) in lines.iter().enumerate() {
        assert_eq!(l["from_index"], 20 + k);
        assert_eq!(l["to_index"], 23 + k);
        assert_eq!(l["bound"], 20.0);
    }
}

#[test]
fn flo_output_is_readable_and_sized_like_the_frames() {
    let pv = pattern_video("vp8.webm");
    let out = scratch_dir("flow").join("flo");
    let r = frameflow(&["flow", pv.path.to_str().unwrap(), "--count", "1", "--format", "flo", "--width", "160", "--algorithm", "farneback", "--out", out.to_str().unwrap()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let flo = frameflow_flow::FlowField::from_flo(&std::fs::read(out.join("flow_00000.flo")).unwrap()).unwrap();
    assert_eq!((flo.width, flo.height), (160, 120));
}

#[test]
fn flow_errors_name_the_problem() {
    let pv = pattern_video("vp8.webm");
    let v = pv.path.to_str().unwrap();
    let out = scratch_dir("flow").join("bad");
    let r = frameflow(&["flow", v, "--from-index", "88", "--count", "2", "--out", out.to_str().unwrap()]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("has 90 frames"));
    let r = frameflow(&["flow", v, "--algorithm", "lucas-kanade", "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(stderr.contains("invalid value 'lucas-kanade'") && stderr.contains("dis-medium"), "{stderr}");
    let a = scratch_dir("flow").join("a.png");
    let png = frameflow(&["frame", v, "--index", "0", "--format", "png", "-o", a.to_str().unwrap()]);
    assert!(png.status.success());
    let b = scratch_dir("flow").join("b.png");
    assert!(frameflow(&["frame", v, "--index", "1", "--format", "png", "--width", "100", "-o", b.to_str().unwrap()]).status.success());
    let r = frameflow(&["flow-pair", a.to_str().unwrap(), b.to_str().unwrap(), "-o", out.join("x.flo").to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&r.stderr).contains("differ in size"));
}
