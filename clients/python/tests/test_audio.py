"""frameflow.AudioDecoder: samples bit-identical to the FFmpeg CLI (`-f f32le`, with `-ac` and
`-ar` for conversions), ranges cut from that whole-stream output with torchcodec's rounding,
audio-only files, and bad input as torchcodec's exception types. NumPy only (runs in
`make test`); the comparison with torchcodec itself is in test_compat.py."""

import io
import math
import os
import pickle
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import frameflow
from conftest import fuzz
from frameflow import AudioDecoder

_ROOT = Path(__file__).resolve().parents[3]
MEDIA = (_ROOT / os.environ.get("FRAMEFLOW_MEDIA", "../shared/media")).resolve() / "videos"

TONES = "aevalsrc=0.5*sin(2*PI*440*t)|0.3*sin(2*PI*1000*t+1):s=44100:d=2.5"


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-nostdin", *args], check=True)


def cli_samples(path, stream, channels, ac=None, ar=None):
    """`ffmpeg -map 0:stream -f f32le` as (channels, samples)."""
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-map", f"0:{stream}", "-f", "f32le"]
    if ac:
        cmd += ["-ac", str(ac)]
    if ar:
        cmd += ["-ar", str(ar)]
    out = subprocess.run([*cmd, "-"], check=True, capture_output=True).stdout
    c = ac or channels
    return np.frombuffer(out, dtype="<f4").reshape(-1, c).T


def arr(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


@pytest.fixture(scope="session")
def audio_files(tmp_path_factory):
    if shutil.which("ffmpeg") is None:
        pytest.skip("no ffmpeg CLI on PATH (scripts/setup.sh installs it)")
    d = tmp_path_factory.mktemp("audio")
    files = {}
    for name, args in [("s16.wav", ["-c:a", "pcm_s16le"]), ("mono.mp3", ["-ac", "1", "-ar", "22050", "-c:a", "libmp3lame"]),
                       ("aac.m4a", ["-ar", "32000", "-c:a", "aac"])]:
        files[name] = d / name
        ffmpeg("-f", "lavfi", "-i", TONES, *args, str(files[name]))
    files["video.mp4"] = d / "video.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x48:r=25:d=2", "-f", "lavfi", "-i", TONES, "-c:v", "libx264",
           "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(files["video.mp4"]))
    files["silent.mp4"] = d / "silent.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x48:r=25:d=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(files["silent.mp4"]))
    return files


@pytest.mark.parametrize("name", ["s16.wav", "mono.mp3", "aac.m4a", "video.mp4"])
@pytest.mark.parametrize("conv", [(None, None), (1, 16000), (2, 48000)])
def test_all_samples_match_the_cli(audio_files, name, conv):
    ac, ar = conv
    path = audio_files[name]
    dec = AudioDecoder(path, num_channels=ac, sample_rate=ar)
    md = dec.metadata
    samples = dec.get_all_samples()
    want = cli_samples(path, dec.stream_index, md.num_channels, ac, ar)
    got = arr(samples.data)
    assert got.dtype == np.float32 and got.shape == want.shape
    assert got.tobytes() == want.tobytes()
    assert samples.sample_rate == (ar or md.sample_rate)
    assert samples.duration_seconds == got.shape[1] / samples.sample_rate


def test_metadata_of_audio_only_and_video_files(audio_files):
    wav = AudioDecoder(audio_files["s16.wav"]).metadata
    assert (wav.sample_rate, wav.num_channels, wav.sample_format, wav.codec, wav.media_type) == (44100, 2, "s16", "pcm_s16le", "audio")
    assert wav.stream_index == 0 and wav.duration_seconds_from_header == pytest.approx(2.5)
    mp3 = AudioDecoder(audio_files["mono.mp3"])
    assert (mp3.metadata.sample_rate, mp3.metadata.num_channels, mp3.metadata.sample_format) == (22050, 1, "fltp")
    video = AudioDecoder(audio_files["video.mp4"])
    assert video.stream_index == video.metadata.stream_index == 1
    # The source's rate and channels, not the conversion's.
    converted = AudioDecoder(audio_files["video.mp4"], sample_rate=8000, num_channels=1)
    assert (converted.metadata.sample_rate, converted.metadata.num_channels) == (44100, 2)
    assert isinstance(video.metadata, frameflow.AudioStreamMetadata)


@pytest.mark.parametrize("name", ["s16.wav", "mono.mp3", "video.mp4"])
@pytest.mark.parametrize("ar", [None, 16000])
def test_ranges_are_slices_of_the_cli_output(audio_files, name, ar):
    path = audio_files[name]
    dec = AudioDecoder(path, sample_rate=ar)
    want = cli_samples(path, dec.stream_index, dec.metadata.num_channels, None, ar)
    first = dec.get_all_samples().pts_seconds
    rate = ar or dec.metadata.sample_rate
    rng = np.random.default_rng(31)
    total = want.shape[1] / rate
    windows = [(0.0, 1.0), (1.0, 2.0), (0.3, None), (-5.0, 0.5), (1.9, 99.0)]
    windows += [(float(a), float(a + rng.uniform(0.01, 1.0))) for a in rng.uniform(0, total * 0.95, 10)]
    for start, stop in windows:  # forward and backward, one decoder
        s = dec.get_samples_played_in_range(start, stop)
        lo = max(0, math.floor((start - first) * rate + 0.5))
        hi = want.shape[1] if stop is None else min(want.shape[1], math.floor((stop - first) * rate + 0.5))
        assert arr(s.data).tobytes() == want[:, lo:max(lo, hi)].tobytes(), (start, stop)
        assert s.pts_seconds == (start if start > first else first)
        assert s.duration_seconds == s.data.shape[1] / rate


def test_one_second_windows_are_one_second(audio_files):
    dec = AudioDecoder(audio_files["s16.wav"])
    s = dec.get_samples_played_in_range(1, 2)
    assert s.data.shape == (2, 44100) and s.duration_seconds == 1 and s.pts_seconds == 1.0
    assert dec.get_samples_played_in_range(1.5, 1.5).data.shape == (2, 0)
    s = dec.get_samples_played_in_range(-1300)
    assert s.pts_seconds == 0.0 and s.data.shape[1] == dec.get_all_samples().data.shape[1]


def test_bad_ranges_raise_torchcodec_types(audio_files):
    dec = AudioDecoder(audio_files["s16.wav"])
    with pytest.raises(ValueError, match="Invalid start seconds"):
        dec.get_samples_played_in_range(3, 2)
    for bad in [(math.nan, None), (0.0, math.nan)]:
        with pytest.raises(ValueError):
            dec.get_samples_played_in_range(*bad)
    for bad in [(9999, None), (math.inf, None), (1e300, None), (-3.0, 0.0), (0.0, -0.5)]:
        with pytest.raises((RuntimeError, ValueError), match="No audio frames were decoded|Invalid start"):
            dec.get_samples_played_in_range(*bad)
    with pytest.raises(TypeError):
        dec.get_samples_played_in_range("a")
    # Still exact after the errors.
    assert dec.get_samples_played_in_range(0, math.inf).data.shape == (2, 110250)


def test_bad_sources_and_options(audio_files, tmp_path):
    video = audio_files["video.mp4"]
    with pytest.raises(ValueError, match="no audio stream"):
        AudioDecoder(audio_files["silent.mp4"])
    with pytest.raises(ValueError, match="not an audio stream"):
        AudioDecoder(video, stream_index=0)
    with pytest.raises(ValueError):
        AudioDecoder(video, stream_index=9)
    with pytest.raises(ValueError):
        AudioDecoder(video, stream_index=-1)
    with pytest.raises(TypeError):
        AudioDecoder(video, stream_index=1.5)
    for kw in [dict(num_channels=0), dict(num_channels=9), dict(sample_rate=0), dict(sample_rate=-1), dict(sample_rate=1.5)]:
        with pytest.raises(RuntimeError):
            AudioDecoder(video, **kw)
    with pytest.raises(RuntimeError):
        AudioDecoder(b"not audio, only words " * 40)
    with pytest.raises(FileNotFoundError):
        AudioDecoder(tmp_path / "missing.wav")
    truncated = tmp_path / "cut.m4a"
    truncated.write_bytes(audio_files["aac.m4a"].read_bytes()[:3000])
    try:  # whatever a cut file gives, it is an exception or samples, never a crash
        AudioDecoder(truncated).get_all_samples()
    except (RuntimeError, ValueError):
        pass


def test_bytes_file_objects_and_pickling(audio_files):
    path = audio_files["mono.mp3"]
    want = arr(AudioDecoder(path).get_all_samples().data)
    assert arr(AudioDecoder(path.read_bytes()).get_all_samples().data).tobytes() == want.tobytes()
    assert arr(AudioDecoder(io.BytesIO(path.read_bytes())).get_all_samples().data).tobytes() == want.tobytes()
    again = pickle.loads(pickle.dumps(AudioDecoder(str(path))))
    assert arr(again.get_all_samples().data).tobytes() == want.tobytes()
    samples = again.get_all_samples()
    data, pts, duration, rate = samples
    assert "data (shape)" in repr(samples) and rate == 22050 and pts == samples.pts_seconds


def test_corpus_audio_streams_match_the_cli():
    if not MEDIA.is_dir():
        pytest.skip(f"media corpus not found at {MEDIA} (set FRAMEFLOW_MEDIA)")
    for name, stream in [("nasa_13013.mp4", 1), ("nasa_13013.mp4", 4), ("no_duration.webm", 1), ("filetype_fixture-mjpeg.mov", 1),
                         ("filetype_fixture-raw.mts", 1), ("transparent.webm", 1)]:
        dec = AudioDecoder(MEDIA / name, stream_index=stream)
        want = cli_samples(MEDIA / name, stream, dec.metadata.num_channels)
        assert arr(dec.get_all_samples().data).tobytes() == want.tobytes(), name


def test_fuzzed_arguments_raise_torchcodecs_types(audio_files):
    """Any argument gives samples or one of the exception types torchcodec raises; never a
    crash, a hang or another type."""
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    path = audio_files["mono.mp3"]
    d = AudioDecoder(path)
    allowed = (ValueError, TypeError, RuntimeError)
    values = st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
                       st.text(max_size=3))
    calls = [lambda v: d.get_samples_played_in_range(v), lambda v: d.get_samples_played_in_range(0.0, v),
             lambda v: d.get_samples_played_in_range(v, v), lambda v: AudioDecoder(path, sample_rate=v),
             lambda v: AudioDecoder(path, num_channels=v), lambda v: AudioDecoder(path, stream_index=v)]

    fuzz(calls, values, allowed, max_examples=80)
    fuzz([lambda data: AudioDecoder(data).get_all_samples()], st.binary(max_size=2048), allowed, max_examples=30)
