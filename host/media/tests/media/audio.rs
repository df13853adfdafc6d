//! Audio: every sample bit-identical to `ffmpeg -i F -map 0:N -f f32le [-ac C] [-ar R] -`,
//! on generated files (audio-only WAV, MP3, FLAC, M4A; a video with AAC) and on every audio
//! stream of the corpus; ranges are slices of that whole-stream output; bad input is a
//! typed error.

use std::path::{Path, PathBuf};
use std::process::Command;

use frameflow_media::{Audio, AudioOptions, MediaError};
use rand::{Rng, SeedableRng};

/// The ffmpeg CLI's samples for stream `stream`, one vector per channel.
fn cli_samples(path: &Path, stream: usize, channels: Option<u32>, rate: Option<u32>) -> Vec<Vec<f32>> {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-nostdin", "-i"]).arg(path).args(["-map", &format!("0:{stream}"), "-f", "f32le"]);
    if let Some(c) = channels {
        cmd.args(["-ac", &c.to_string()]);
    }
    if let Some(r) = rate {
        cmd.args(["-ar", &r.to_string()]);
    }
    let out = cmd.arg("-").output().expect("ffmpeg CLI must be installed");
    assert!(out.status.success(), "ffmpeg on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    let c = channels.map(|c| c as usize).unwrap_or_else(|| probe_channels(path, stream));
    let floats: Vec<f32> = out.stdout.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
    (0..c).map(|ch| floats.iter().skip(ch).step_by(c).copied().collect()).collect()
}

fn probe_channels(path: &Path, stream: usize) -> usize {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", &stream.to_string(), "-show_entries", "stream=channels", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().find_map(|l| l.trim().trim_end_matches(',').parse().ok()).expect("channel count")
}

/// Generated audio files, made once with the ffmpeg CLI (two different tones left and right).
fn generated() -> Vec<PathBuf> {
    static GENERATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = GENERATING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = frameflow_testkit::scratch_dir("audio-v1");
    let tones = "aevalsrc=0.5*sin(2*PI*440*t)|0.3*sin(2*PI*1000*t+1):s=44100:d=3.3";
    let specs: &[(&str, &[&str])] = &[
        ("stereo_s16_44100.wav", &["-c:a", "pcm_s16le"]),
        ("mono_u8_8000.wav", &["-ac", "1", "-ar", "8000", "-c:a", "pcm_u8"]),
        ("stereo_22050.mp3", &["-ar", "22050", "-c:a", "libmp3lame", "-b:a", "64k"]),
        ("stereo_48000.flac", &["-ar", "48000", "-c:a", "flac"]),
        ("stereo_aac_32000.m4a", &["-ar", "32000", "-c:a", "aac"]),
    ];
    let mut paths = Vec::new();
    for (name, args) in specs {
        let path = dir.join(name);
        if !path.exists() {
            let tmp = dir.join(format!("tmp{}.{name}", std::process::id()));
            let status = Command::new("ffmpeg")
                .args(["-v", "error", "-y", "-nostdin", "-f", "lavfi", "-i", tones])
                .args(*args)
                .arg(&tmp)
                .status()
                .expect("ffmpeg CLI must be installed");
            assert!(status.success(), "generating {name}");
            std::fs::rename(&tmp, &path).expect("publish generated audio");
        }
        paths.push(path);
    }
    paths.push(frameflow_testkit::pattern::video_with_audio());
    paths
}

/// Every (file, audio stream) of the corpus.
fn corpus_streams() -> Vec<(PathBuf, usize)> {
    let Some(corpus) = frameflow_testkit::corpus::corpus_dir() else { return Vec::new() };
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus.join("videos")).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let probe = Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "a", "-show_entries", "stream=index", "-of", "csv=p=0"])
            .arg(&file)
            .output()
            .expect("ffprobe");
        for line in String::from_utf8_lossy(&probe.stdout).lines() {
            if let Ok(i) = line.trim().trim_end_matches(',').parse() {
                if !out.contains(&(file.clone(), i)) {
                    out.push((file.clone(), i));
                }
            }
        }
    }
    out
}

/// Bit-exact comparison, with the first difference in the message.
fn assert_same(what: &str, got: &[Vec<f32>], want: &[Vec<f32>]) {
    assert_eq!(got.len(), want.len(), "{what}: channels");
    for (c, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.len(), w.len(), "{what}: channel {c} has {} samples, the CLI {}", g.len(), w.len());
        if let Some(i) = g.iter().zip(w).position(|(a, b)| a.to_bits() != b.to_bits()) {
            panic!("{what}: channel {c} sample {i}: {} vs the CLI's {}", g[i], w[i]);
        }
    }
}

fn channels_of(samples: &frameflow_media::AudioSamples) -> Vec<Vec<f32>> {
    (0..samples.num_channels).map(|c| samples.channel(c).to_vec()).collect()
}

fn check_whole(path: &Path, stream: Option<usize>, channels: Option<u32>, rate: Option<u32>) -> Vec<Vec<f32>> {
    let mut audio = Audio::open_with(path, AudioOptions { stream, sample_rate: rate, num_channels: channels, ..Default::default() }).expect("open audio");
    let stream = audio.info().stream_index;
    let got = audio.all_samples().expect("all samples");
    let want = cli_samples(path, stream, channels, rate);
    let what = format!("{} stream {stream} -ac {channels:?} -ar {rate:?}", path.display());
    assert_same(&what, &channels_of(&got), &want);
    assert!(!want[0].is_empty(), "{what}: no samples");
    want
}

#[test]
fn generated_audio_is_sample_exact_against_the_cli() {
    for path in generated() {
        check_whole(&path, None, None, None);
        check_whole(&path, None, Some(1), Some(16_000));
        check_whole(&path, None, Some(2), Some(44_100));
    }
}

#[test]
fn corpus_audio_streams_are_sample_exact_against_the_cli() {
    let streams = corpus_streams();
    if streams.is_empty() {
        return; // corpus_dir said SKIP
    }
    for (path, stream) in streams {
        check_whole(&path, Some(stream), None, None);
        check_whole(&path, Some(stream), Some(1), Some(16_000));
    }
}

/// `[start, stop)` in seconds is `floor((t - first_pts) * rate + 0.5)` cut out of the CLI's
/// whole output, in any order of requests (forward continues, backward restarts).
#[test]
fn ranges_are_slices_of_the_whole_stream() {
    let mut files: Vec<(PathBuf, Option<usize>)> = generated().into_iter().map(|p| (p, None)).collect();
    files.extend(corpus_streams().into_iter().filter(|(p, _)| p.ends_with("nasa_13013.mp4") || p.ends_with("no_duration.webm")).map(|(p, s)| (p, Some(s))));
    let mut rng = rand::rngs::StdRng::seed_from_u64(31);
    for (path, stream) in files {
        // Kept samples: the default budget, none (every backward window decodes from the
        // start) and 64 KiB (dropped from the front as decoding goes on).
        for (rate, keep_bytes) in [(None, None), (Some(16_000), None), (None, Some(0)), (Some(16_000), Some(1 << 16))] {
            let mut audio = Audio::open_with(&path, AudioOptions { stream, sample_rate: rate, keep_bytes, ..Default::default() }).unwrap();
            let want = cli_samples(&path, audio.info().stream_index, None, rate);
            let r = audio.info().output_sample_rate as f64;
            let first = audio.all_samples().unwrap().pts_seconds;
            let total = want[0].len() as f64 / r;
            let mut windows = vec![(0.0, Some(1.0)), (0.5, Some(1.5)), (0.25, None), (first, Some(first + 0.1))];
            for _ in 0..12 {
                let a = first + rng.gen_range(0.0..total * 0.9);
                windows.push((a, Some(a + rng.gen_range(0.001..1.0))));
            }
            for (start, stop) in windows {
                let got = audio.samples_in_range(start, stop).unwrap_or_else(|e| panic!("{} [{start}, {stop:?}): {e}", path.display()));
                let offset = |t: f64| (((t - first) * r + 0.5).floor().max(0.0) as usize).min(want[0].len());
                let (lo, hi) = (offset(start), stop.map_or(want[0].len(), offset));
                let slice: Vec<Vec<f32>> = want.iter().map(|c| c[lo..hi.max(lo)].to_vec()).collect();
                assert_same(&format!("{} [{start}, {stop:?}) at {rate:?} keeping {keep_bytes:?}", path.display()), &channels_of(&got), &slice);
                assert_eq!(got.first_sample, lo as u64);
                assert_eq!(got.pts_seconds, if start > first { start } else { first });
            }
        }
    }
}

#[test]
fn audio_errors_are_typed() {
    let files = generated();
    let wav = &files[0];
    let mut audio = Audio::open(wav).unwrap();
    assert_eq!((audio.info().sample_rate, audio.info().num_channels, audio.info().sample_format.as_str()), (44_100, 2, "s16"));
    assert!(matches!(audio.samples_in_range(2.0, Some(1.0)), Err(MediaError::InvalidOption(m)) if m.contains("Invalid start seconds")));
    assert!(matches!(audio.samples_in_range(f64::NAN, None), Err(MediaError::InvalidOption(_))));
    assert!(matches!(audio.samples_in_range(0.0, Some(f64::NAN)), Err(MediaError::InvalidOption(_))));
    assert!(matches!(audio.samples_in_range(f64::INFINITY, None), Err(MediaError::InvalidOption(_))));
    assert!(matches!(audio.samples_in_range(9999.0, None), Err(MediaError::NoAudioInRange { .. })));
    assert!(matches!(audio.samples_in_range(1e300, Some(1e301)), Err(MediaError::NoAudioInRange { .. })));
    assert!(matches!(audio.samples_in_range(-5.0, Some(0.0)), Err(MediaError::NoAudioInRange { .. })));
    let empty = audio.samples_in_range(1.0, Some(1.0)).unwrap();
    assert_eq!((empty.len(), empty.num_channels), (0, 2));
    // -inf to +inf is everything, and still exact after the errors above.
    let all = audio.samples_in_range(f64::NEG_INFINITY, Some(f64::INFINITY)).unwrap();
    assert_eq!(all.len(), cli_samples(wav, 0, None, None)[0].len());
    for bad in [AudioOptions { num_channels: Some(0), ..Default::default() }, AudioOptions { num_channels: Some(9), ..Default::default() }, AudioOptions { sample_rate: Some(0), ..Default::default() }] {
        assert!(matches!(Audio::open_with(wav, bad), Err(MediaError::InvalidOption(_))));
    }
    let video = frameflow_testkit::pattern::video_with_audio();
    assert!(matches!(Audio::open_with(&video, AudioOptions { stream: Some(0), ..Default::default() }), Err(MediaError::NotAnAudioStream { stream: 0, .. })));
    assert!(matches!(Audio::open_with(&video, AudioOptions { stream: Some(7), ..Default::default() }), Err(MediaError::NoSuchStream { stream: 7, count: 2, .. })));
    let silent = frameflow_testkit::pattern::pattern_videos().remove(0).path;
    assert!(matches!(Audio::open(&silent), Err(MediaError::NoAudioStream { .. })), "a video without audio");
    let text = frameflow_testkit::scratch_dir("audio-v1").join("notes.txt");
    std::fs::write(&text, "not audio at all, just words\n".repeat(50)).unwrap();
    assert!(matches!(Audio::open(&text), Err(MediaError::NotMedia { .. })));
    let junk = frameflow_testkit::scratch_dir("audio-v1").join("junk.wav");
    std::fs::write(&junk, [0x52u8, 0x49, 0x46, 0x46, 1, 2, 3].repeat(20)).unwrap();
    assert!(Audio::open(&junk).is_err());
    assert!(matches!(Audio::open("/no/such/file.wav"), Err(MediaError::NotFound(_))));
}
