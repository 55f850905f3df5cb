"""scripts/setup.sh and the doctor in the bad states users meet: no root for apt, no disk, numpy 2."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from host_pipeline.paths import REPO_ROOT

SETUP = str(REPO_ROOT / "scripts" / "setup.sh")
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch user / mount a tmpfs")


@root_only
def test_missing_packages_without_root_name_the_command():
    # nobody must be able to read the script wherever the clone lives: give it a world-readable copy
    import tempfile

    with tempfile.TemporaryDirectory(prefix="lgmtsc-setup-") as top:
        os.chmod(top, 0o755)
        scripts = os.path.join(top, "scripts")
        os.mkdir(scripts)
        shutil.copytree(REPO_ROOT / "requirements", os.path.join(top, "requirements"))
        script = shutil.copy(SETUP, scripts)
        home = os.path.join(top, "home")
        os.mkdir(home)
        shutil.chown(home, "nobody")
        env = {"PATH": "/usr/sbin:/usr/bin:/bin", "LGMTSC_HOME": home, "HOME": home,
               "LGMTSC_EXTRA_APT": "lgmtsc-no-such-package"}
        r = subprocess.run(["runuser", "-u", "nobody", "--", "env", *[f"{k}={v}" for k, v in env.items()], "bash",
                            script], capture_output=True, text=True, timeout=60, cwd=top)
    assert r.returncode != 0
    assert "missing Debian packages: lgmtsc-no-such-package (installing them needs root)" in r.stderr
    assert "sudo apt-get install -y --no-install-recommends lgmtsc-no-such-package" in r.stderr


@root_only
def test_full_disk_is_refused_before_anything_is_written(tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(small)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        r = subprocess.run(["bash", SETUP], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "LGMTSC_HOME": str(small)})
        assert r.returncode != 0 and "not enough disk space" in r.stderr and "10 GiB needed" in r.stderr
        assert not any(small.glob("venv-*"))
    finally:
        subprocess.run(["umount", str(small)])


@pytest.mark.slow
def test_numpy_2_is_detected(tmp_path):
    """A venv where numpy 2 shadows Debian's: GNU Radio breaks, and the doctor says why and what to do."""
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--only-binary=:all:",
                          "numpy>=2,<3"],
                         capture_output=True, text=True, timeout=300)
    if pip.returncode != 0:
        pytest.skip(f"no numpy 2 wheel reachable: {pip.stderr[-300:]}")
    code = ("from host_pipeline.doctor import check_python\n"
            "for c in check_python(): print(c.status, c.name, c.detail, '|', c.fix)\n")
    r = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, timeout=120)
    line = next(l for l in r.stdout.splitlines() if " numpy " in l)
    assert line.startswith("fail numpy 2.") and "GNU Radio 3.10.5 needs numpy<2" in line
