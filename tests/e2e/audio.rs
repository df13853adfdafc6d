//! `GET /v1/videos/{id}/audio`: an uploaded video's audio over HTTP, float32 samples exactly
//! as the FFmpeg CLI gives that span (`-f f32le`, with `-ar`/`-ac` for conversions), as a
//! float WAV or a NumPy array; bad parameters and a video without audio get problem JSON.

use std::path::Path;
use std::process::Command;

use frameflow_testkit::http_client::get;
use frameflow_testkit::pattern::{pattern_video, video_with_audio};

use crate::http::{assert_error, upload};
use crate::server::{ServerProcess, ServerSetup};

/// `ffmpeg -map 0:1 -f f32le [-ac C] [-ar R]`, channels interleaved.
fn cli_f32(path: &Path, extra: &[&str]) -> Vec<f32> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(path)
        .args(["-map", "0:1", "-f", "f32le"])
        .args(extra)
        .arg("-")
        .output()
        .expect("ffmpeg CLI");
    assert!(out.status.success());
    out.stdout.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
}

/// Frames `lo..hi` of interleaved `samples` with `channels` channels, as (channels, n) rows.
fn planar(samples: &[f32], channels: usize, lo: usize, hi: usize) -> Vec<f32> {
    (0..channels).flat_map(|c| (lo..hi).map(move |i| samples[i * channels + c])).collect()
}

#[test]
fn audio_over_http_is_the_cli_span() {
    let server = ServerProcess::start("audio", ServerSetup::default());
    let path = video_with_audio();
    let id = upload(server.addr, &path)["id"].as_str().unwrap().to_string();
    let native = cli_f32(&path, &[]);

    // [1 s, 2.5 s) as NumPy (channels, samples) float32.
    let r = get(server.addr, &format!("/v1/videos/{id}/audio?start=1&end=2.5&format=npy"));
    assert_eq!((r.status, r.header("content-type"), r.header("x-sample-rate")), (200, Some("application/x-npy"), Some("48000")));
    let channels: usize = r.header("x-channels").unwrap().parse().unwrap();
    let header = u16::from_le_bytes([r.body[8], r.body[9]]) as usize + 10;
    let dict = std::str::from_utf8(&r.body[10..header]).unwrap();
    assert!(dict.contains("'descr': '<f4'") && dict.contains(&format!("'shape': ({channels}, 72000)")), "{dict}");
    assert!(floats(&r.body[header..]) == planar(&native, channels, 48000, 120000), "npy samples differ from the CLI's");

    // The same span as a float WAV, interleaved; ETag'd like a frame.
    let r = get(server.addr, &format!("/v1/videos/{id}/audio?start=1&end=2.5"));
    assert_eq!((r.status, r.header("content-type")), (200, Some("audio/wav")));
    assert_eq!((&r.body[..4], &r.body[8..16], u16::from_le_bytes([r.body[20], r.body[21]])), (&b"RIFF"[..], &b"WAVEfmt "[..], 3));
    assert_eq!(&r.body[50..54], b"data");
    assert!(floats(&r.body[58..]) == native[48000 * channels..120000 * channels], "wav samples differ from the CLI's");
    assert!(r.header("etag").is_some());

    // Converted: 16 kHz stereo, cut out of the CLI's whole converted output.
    let converted = cli_f32(&path, &["-ac", "2", "-ar", "16000"]);
    let r = get(server.addr, &format!("/v1/videos/{id}/audio?start=0.5&end=1.5&sample_rate=16000&num_channels=2&format=npy"));
    assert_eq!((r.status, r.header("x-sample-rate"), r.header("x-channels")), (200, Some("16000"), Some("2")));
    let header = u16::from_le_bytes([r.body[8], r.body[9]]) as usize + 10;
    assert!(floats(&r.body[header..]) == planar(&converted, 2, 8000, 24000), "converted samples differ from the CLI's");

    // Everything, by default.
    let r = get(server.addr, &format!("/v1/videos/{id}/audio?format=npy"));
    let header = u16::from_le_bytes([r.body[8], r.body[9]]) as usize + 10;
    assert_eq!(floats(&r.body[header..]).len(), native.len());

    for bad in ["start=abc", "start=2&end=1", "format=mp3", "num_channels=9", "sample_rate=0", "start=nan", "volume=2"] {
        assert_error(&get(server.addr, &format!("/v1/videos/{id}/audio?{bad}")), 400, "bad_request");
    }
    assert_eq!(get(server.addr, &format!("/v1/videos/{id}/audio?start=999")).status, 404);
    assert_eq!(get(server.addr, &format!("/v1/videos/{id}/audio?stream=0")).status, 415, "the video stream");
    let silent = upload(server.addr, &pattern_video("h264_bframes_gop250.mp4").path)["id"].as_str().unwrap().to_string();
    assert_eq!(get(server.addr, &format!("/v1/videos/{silent}/audio")).status, 415, "a video without audio");
}
