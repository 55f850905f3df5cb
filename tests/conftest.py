"""Shared fixtures: paths to the real data beside the checkout and to the repo's sample."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from host_pipeline.paths import REPO_ROOT, real_data_dir

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def real_data() -> Path:
    d = real_data_dir()
    if not (d / "speech" / "transcripts.tsv").exists():
        pytest.fail(f"the real test data is missing: expected {d} (the repo's data/ folder, or $LGMTSC_REAL_DATA)")
    return d


@pytest.fixture(scope="session")
def demo_video() -> Path:
    return REPO_ROOT / "samples" / "demo" / "talking_face_demo.mp4"


def run_cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``lgmtsc ARGS`` in a subprocess, as a user would, and capture its output."""
    return subprocess.run([sys.executable, "-m", "host_pipeline.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, cwd=REPO_ROOT)


# ---------------------------------------------------------------- the public KB (tests/publickb, tests/reconstruct)
@pytest.fixture(scope="session")
def enroller():
    from host_pipeline.publickb.enroll import Enroller

    return Enroller()


@pytest.fixture(scope="session")
def kb(tmp_path_factory):
    from host_pipeline.publickb.config import PublicKbConfig
    from host_pipeline.publickb.store import PublicKb

    return PublicKb(PublicKbConfig(db_path=str(tmp_path_factory.mktemp("kb") / "publickb.sqlite")))


@pytest.fixture(scope="session")
def obama(enroller, kb, real_data):
    p = enroller.enroll("obama", image=real_data / "faces" / "face_recognition_obama.jpg",
                        audio=real_data / "speech" / "cmu_arctic_us_aew_a0001.wav")
    kb.put(p)
    return kb.get("obama")
