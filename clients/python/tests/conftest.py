"""Test videos made with the FFmpeg CLI, and its decode of a frame as the reference."""

import shutil
import subprocess

import pytest


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def video(tmp_path_factory):
    """A 320x240, 60-frame H.264 MP4 with B-frames and a keyframe every 25 frames."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("no ffmpeg CLI on PATH (scripts/setup.sh installs it)")
    path = tmp_path_factory.mktemp("videos") / "testsrc.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2.4", "-c:v", "libx264", "-preset", "veryfast",
           "-g", "25", "-bf", "2", "-pix_fmt", "yuv420p", str(path))
    return path


def reference_frame(path, index):
    """RGB24 bytes of frame `index` as `ffmpeg -vf select=eq(n,N)` decodes it."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-vf", f"select=eq(n\\,{index}),format=rgb24",
         "-frames:v", "1", "-f", "rawvideo", "-"],
        check=True, capture_output=True,
    )
    return out.stdout


def fuzz(calls, values, allowed, max_examples=60):
    """Calls ``calls[k](value)`` for hypothesis-drawn ``k`` and ``value`` (from the strategy
    ``values``): each must return or raise one of ``allowed``; never crash, hang or raise
    another type. Skips without hypothesis."""
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    @hypothesis.settings(max_examples=max_examples, deadline=None)
    @hypothesis.given(st.sampled_from(range(len(calls))), values)
    def check(which, value):
        try:
            calls[which](value)
        except allowed:
            pass

    check()
