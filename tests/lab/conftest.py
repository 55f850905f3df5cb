"""Fixtures of the lab-course tests: a virtual X display (Xvfb), free TCP ports, the environment of a user."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from host_pipeline.paths import REPO_ROOT


@pytest.fixture
def xvfb(tmp_path):
    """A fresh Xvfb display (1280x1024, 24-bit) for the test: yields its DISPLAY value. Xvfb missing is a failure:
    `make setup` installs it (Debian's xvfb), and a lab test that skips in CI would prove nothing."""
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.fail("Xvfb is not installed, so the lab window cannot be shown: run `make setup` "
                    "(or apt-get install xvfb x11-apps)", pytrace=False)
    rfd, wfd = os.pipe()
    log = tmp_path / "xvfb.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([exe, "-displayfd", str(wfd), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                                pass_fds=(wfd,), stdout=subprocess.DEVNULL, stderr=err)
    os.close(wfd)
    with os.fdopen(rfd) as r:
        number = r.readline().strip()   # written once the server accepts clients
    if not number:
        proc.kill()
        pytest.fail(f"Xvfb did not start: {log.read_text(errors='replace')[-500:]}", pytrace=False)
    try:
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def user_env(tmp_path):
    """The environment a user's shell gives the venv's commands: the venv's bin first, Qt's settings and the
    compiled flowgraphs in the test's own folder, nothing on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GRC_BLOCKS_PATH", "DISPLAY",
                                                             "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["LGMTSC_GRC_OUT"] = str(tmp_path / "grc")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def repo() -> Path:
    return REPO_ROOT
