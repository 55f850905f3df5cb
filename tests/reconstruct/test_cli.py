"""The reconstructor's commands as a user runs them: clear errors, non-zero exits, no tracebacks; an mp4 out."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.conftest import run_cli


@pytest.fixture
def env(tmp_path):
    return {"LGMTSC_DATA": str(tmp_path / "data")}


def _clean_failure(r, code: int, text: str) -> None:
    assert r.returncode == code, r.stderr
    assert text in r.stderr and "Traceback" not in r.stderr
    _no_native_log(r.stderr)


def _no_native_log(stderr: str) -> None:
    """MediaPipe/TFLite/absl load-time lines (``W0000 00:00:...``) never reach a user's terminal."""
    import re

    noise = [ln for ln in stderr.splitlines()
             if re.match(r"[IWE]\d{4} [\d:.]+\s+\d+ \S+:\d+\]", ln) or "absl::InitializeLog" in ln
             or "TensorFlow Lite" in ln or "Axes3D" in ln]
    assert not noise, noise


def test_enroll_without_a_face_fails_cleanly(tmp_path, env, real_data):
    img = tmp_path / "wall.png"
    Image.fromarray((np.random.default_rng(0).random((200, 200, 3)) * 255).astype(np.uint8)).save(img)
    r = run_cli("enroll", "--user", "u", "--image", str(img), "--audio", str(real_data / "speech" / "LJ001-0002.wav"),
                env=env)
    _clean_failure(r, 4, "wall.png: no face found")
    assert len(r.stderr.strip().splitlines()) <= 2, r.stderr  # the error and its hint, nothing else


def test_enroll_with_missing_or_silent_input_fails_cleanly(tmp_path, env, real_data):
    import wave

    r = run_cli("enroll", "--user", "u", "--image", str(tmp_path / "none.jpg"), "--audio", "x.wav", env=env)
    _clean_failure(r, 4, "none.jpg: no such file")
    r = run_cli("enroll", "--user", "u", env=env)
    _clean_failure(r, 4, "--video FILE")
    silent = tmp_path / "silent.wav"
    with wave.open(str(silent), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.zeros(48000, np.int16).tobytes())
    r = run_cli("enroll", "--user", "u", "--image", str(real_data / "faces" / "face_recognition_obama.jpg"),
                "--audio", str(silent), env=env)
    _clean_failure(r, 4, "no usable speech")


def test_speak_for_an_unknown_user_fails_cleanly(env):
    r = run_cli("speak", "--user", "ghost", "hello", "-o", "/tmp/never.mp4", env=env)
    _clean_failure(r, 4, "not enrolled")


@pytest.mark.slow
def test_enroll_then_speak_writes_an_mp4(tmp_path, env, demo_video):
    r = run_cli("enroll", "--user", "demo", "--video", str(demo_video), env=env)
    assert r.returncode == 0, r.stderr
    assert "enrolled demo" in r.stdout
    _no_native_log(r.stderr)
    out = tmp_path / "o.mp4"
    r = run_cli("speak", "--user", "demo", "Glad to see you again.", "-o", str(out), env=env)
    assert r.returncode == 0, r.stderr
    from host_pipeline.reconstruct.output import stream_durations

    v, a = stream_durations(out)
    assert v > 0.8 and abs(v - a) <= 1 / 25
