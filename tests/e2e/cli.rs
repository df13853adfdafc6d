//! The `frameflow` command line: probe JSON, single frames, many frames, one-line errors.

use std::path::Path;
use std::process::{Command, Output};

use frameflow_testkit::pattern::{decode_pattern, pattern_video};
use frameflow_testkit::reference::ffmpeg_rgb24;
use crate::frameflow_bin;
use frameflow_testkit::scratch_dir;
use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(frameflow_bin()).args(args).output().expect("run frameflow")
}

fn ok(args: &[&str]) -> Vec<u8> {
    let out = run(args);
    assert!(out.status.success(), "frameflow {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Runs a command that must fail; returns its single stderr line.
fn fails(args: &[&str]) -> String {
    let out = run(args);
    assert!(!out.status.success(), "frameflow {args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(err.lines().count(), 1, "one line expected, got: {err}");
    err
}

fn probe(video: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["probe", video.to_str().unwrap()];
    args.extend_from_slice(extra);
    serde_json::from_slice(&ok(&args)).expect("probe prints JSON")
}

#[test]
fn probe_prints_the_documented_fields() {
    let pv = pattern_video("h264_bframes_gop250.mp4");
    let p = probe(&pv.path, &["--frames"]);
    for key in ["frame_count", "width", "height", "rotation", "time_base", "avg_fps", "start_pts", "duration_seconds", "codec", "keyframes"] {
        assert!(p.get(key).is_some(), "probe lacks {key}: {p}");
    }
    assert_eq!(p["frame_count"], 300);
    assert_eq!(p["codec"], "h264");
    assert_eq!((p["width"].as_u64(), p["height"].as_u64()), (Some(320), Some(240)));
    assert_eq!(p["keyframes"], serde_json::json!([0, 250]));
    assert_eq!(p["time_base"].as_array().unwrap().len(), 2);
    assert!((p["duration_seconds"].as_f64().unwrap() - 12.0).abs() < 0.05);
    let frames = p["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 300);
    assert_eq!(frames[7]["index"], 7);
    for f in frames {
        for key in ["index", "pts", "seconds", "key"] {
            assert!(f.get(key).is_some(), "frame lacks {key}");
        }
    }
}

#[test]
fn frame_by_index_pts_and_time_is_the_ffmpeg_frame() {
    let pv = pattern_video("h264_vfr.mkv");
    let v = pv.path.to_str().unwrap();
    let p = probe(&pv.path, &["--frames"]);
    let f = &p["frames"][77];
    let by_index = ok(&["frame", v, "--index", "77", "--format", "rgb24"]);
    assert!(by_index == ffmpeg_rgb24(&pv.path, None, 77, ""), "differs from ffmpeg CLI");
    assert_eq!(decode_pattern(&by_index, 320, 240), 77);
    let pts = f["pts"].as_i64().unwrap().to_string();
    assert!(ok(&["frame", v, "--pts", &pts, "--format", "rgb24"]) == by_index);
    let t = f["seconds"].as_f64().unwrap().to_string();
    assert!(ok(&["frame", v, "--time", &t, "--format", "rgb24"]) == by_index);
    let png = scratch_dir("cli").join("f77.png");
    ok(&["frame", v, "--index", "77", "--format", "png", "-o", png.to_str().unwrap()]);
    assert_eq!(&std::fs::read(&png).unwrap()[..4], b"\x89PNG");
    let jpeg = ok(&["frame", v, "--index", "77", "--quality", "60", "--width", "160"]);
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
}

#[test]
fn frames_to_a_directory_and_to_stdout() {
    let pv = pattern_video("vp8.webm");
    let v = pv.path.to_str().unwrap();
    let dir = scratch_dir("cli").join("frames-out");
    let _ = std::fs::remove_dir_all(&dir);
    ok(&["frames", v, "--indices", "17,0,5", "--format", "png", "--out", dir.to_str().unwrap()]);
    for name in ["000000.png", "000005.png", "000017.png"] {
        assert!(dir.join(name).is_file(), "{name} missing");
    }
    let ids = std::fs::read_to_string(dir.join("frames.jsonl")).unwrap();
    let ids: Vec<Value> = ids.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(ids.iter().map(|i| i["index"].as_u64().unwrap()).collect::<Vec<_>>(), vec![0, 5, 17]);
    assert!(ids.iter().all(|i| i.get("pts").is_some() && i.get("seconds").is_some()));

    let all = ok(&["frames", v, "--all", "--format", "rgb24", "-o", "-"]);
    let size = 320 * 240 * 3;
    assert_eq!(all.len(), 90 * size);
    for (i, frame) in all.chunks(size).enumerate() {
        assert_eq!(decode_pattern(frame, 320, 240) as usize, i);
    }
    // In the order asked, back to back.
    let some = ok(&["frames", v, "--indices", "40,2", "--format", "rgb24", "-o", "-"]);
    assert_eq!(decode_pattern(&some[..size], 320, 240), 40);
    assert_eq!(decode_pattern(&some[size..], 320, 240), 2);
}

#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    use std::io::Read;
    // `frameflow frames V --all -o - | head -c N`: the pipe closes after one frame.
    let v = pattern_video("h264_bframes_gop250.mp4").path;
    let mut child = Command::new(frameflow_bin())
        .args(["frames", v.to_str().unwrap(), "--all", "--format", "rgb24", "-o", "-"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run frameflow");
    let mut first = vec![0u8; 320 * 240 * 3];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    assert_eq!(decode_pattern(&first, 320, 240), 0);
    // The reader is gone (stdout dropped above); the writer meets a broken pipe.
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "nothing said: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn saved_index_is_reused() {
    let pv = pattern_video("h264_nonzero_start.ts");
    let v = pv.path.to_str().unwrap();
    let index = scratch_dir("cli").join("ts.index.json");
    ok(&["probe", v, "--save-index", index.to_str().unwrap()]);
    let a = ok(&["frame", v, "--index", "99", "--format", "rgb24", "--index-file", index.to_str().unwrap()]);
    assert_eq!(decode_pattern(&a, 320, 240), 99);
}

#[test]
fn errors_are_one_line_that_names_the_problem() {
    let pv = pattern_video("vp8.webm");
    let v = pv.path.to_str().unwrap();
    let e = fails(&["frame", "/no/such/video.mp4", "--index", "0"]);
    assert!(e.contains("no such file"), "{e}");
    let e = fails(&["frame", v, "--index", "90"]);
    assert!(e.contains("out of range") && e.contains("0..=89"), "{e}");
    let e = fails(&["frame", v, "--crop", "1,2,3"]);
    assert!(e.contains("crop"), "{e}");
    let e = fails(&["frame", v, "--index", "1", "--crop", "300,200,50,50"]);
    assert!(e.contains("does not fit"), "{e}");
    let e = fails(&["probe", v, "--stream", "4"]);
    assert!(e.contains("stream 4"), "{e}");
    let text = scratch_dir("cli").join("readme.txt");
    std::fs::write(&text, "hello\n".repeat(100)).unwrap();
    let e = fails(&["probe", text.to_str().unwrap()]);
    assert!(e.contains("not a recognised media file") || e.contains("no video stream"), "{e}");
}
