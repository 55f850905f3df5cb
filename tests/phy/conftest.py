"""Fixtures for the PHY system tests: gr-lgmtsc installed into a temporary prefix."""
import os
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture(scope="session")
def lgmtsc_env(tmp_path_factory):
    """Build + install gr-lgmtsc (cmake) and return an environment that finds it."""
    if not os.path.exists("/usr/bin/grcc"):
        pytest.skip("GNU Radio (grcc) not installed")
    prefix = tmp_path_factory.mktemp("prefix")
    build = tmp_path_factory.mktemp("build")
    pydir = os.path.join(prefix, "lib", "python3.11", "site-packages")
    subprocess.run(["cmake", "-S", os.path.join(ROOT, "gr-lgmtsc"), "-B", str(build),
                    "-DCMAKE_INSTALL_PREFIX=%s" % prefix, "-DGR_PYTHON_DIR=%s" % pydir],
                   check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(build), "--target", "install"], check=True, capture_output=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = pydir + os.pathsep + env.get("PYTHONPATH", "")
    env["GRC_BLOCKS_PATH"] = os.path.join(prefix, "share", "gnuradio", "grc", "blocks")
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["LGMTSC_GRC_OUT"] = str(tmp_path_factory.mktemp("grcout"))
    env["UHD_LOG_CONSOLE_LEVEL"] = "error"
    return env
