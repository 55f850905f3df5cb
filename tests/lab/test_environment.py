"""The environment GNU Radio Companion and grcc get: Debian's python3 finds gr-lgmtsc and nothing else of the venv.

GRC and grcc are scripts of Debian's /usr/bin/python3. They see the venv's gr-lgmtsc through a PYTHONPATH directory
that holds only ``gnuradio/lgmtsc`` (``gnuradio.lgmtsc.installation``); the venv's own site-packages must never
reach them (its packages shadow Debian's). The venv itself must not hold the 2016 ``typing`` backport
(pulled in by Resemblyzer), which shadows the standard library's module.
"""

from __future__ import annotations

import glob
import importlib.metadata
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from host_pipeline.lab import grc_env
from host_pipeline.paths import REPO_ROOT

DEBIAN_PYTHON = "/usr/bin/python3"
FLOWGRAPHS = sorted(glob.glob(str(REPO_ROOT / "grc_flowgraphs" / "*.grc"))
                    + glob.glob(str(REPO_ROOT / "gr-lgmtsc" / "examples" / "*.grc")))


def test_the_venv_has_no_typing_backport():
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution("typing")
    import typing

    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert Path(typing.__file__).resolve().parent == stdlib, f"typing comes from {typing.__file__}, not {stdlib}"
    site = Path(sysconfig.get_paths()["purelib"])
    assert not list(site.glob("typing.py")) and not list(site.glob("typing-*.dist-info")), \
        "a typing backport sits in the venv's site-packages"


def test_the_pythonpath_for_grc_holds_only_gr_lgmtsc():
    from gnuradio import lgmtsc
    from gnuradio.lgmtsc import installation

    root = Path(installation.PYTHONPATH_DIR)
    assert sorted(p.name for p in root.iterdir()) == ["gnuradio"]
    assert sorted(p.name for p in (root / "gnuradio").iterdir()) == ["lgmtsc"]
    assert (root / "gnuradio" / "lgmtsc").resolve() == Path(lgmtsc.__file__).resolve().parent
    assert (Path(installation.GRC_BLOCKS_DIR) / "lgmtsc_phy.block.yml").is_file()
    env = grc_env()
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(root)
    assert env["GRC_BLOCKS_PATH"].split(os.pathsep)[0] == installation.GRC_BLOCKS_DIR


def test_debian_python_imports_gr_lgmtsc_and_nothing_else_from_the_venv():
    probe = ("import json, sys, typing, numpy, yaml, mako, gi\n"
             "from gnuradio import gr, lgmtsc\n"
             "from gnuradio.grc.core.platform import Platform\n"
             "files = {n: getattr(m, '__file__', None) for n, m in list(sys.modules.items())}\n"
             "print(json.dumps({n: f for n, f in files.items() if f}))\n")
    r = subprocess.run([DEBIAN_PYTHON, "-c", probe], env=grc_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    files = json.loads(r.stdout.strip().splitlines()[-1])
    from gnuradio import lgmtsc

    assert os.path.realpath(os.path.dirname(files["gnuradio.lgmtsc"])) == os.path.dirname(os.path.realpath(
        lgmtsc.__file__)), "Debian's python3 imports another gr-lgmtsc than the venv's"
    venv = os.path.realpath(sys.prefix)
    leaked = {n: f for n, f in files.items()
              if os.path.realpath(f).startswith(venv + os.sep) and not n.startswith("gnuradio.lgmtsc")}
    assert not leaked, f"Debian's python3 loaded these from the venv: {leaked}"
    assert files["typing"].startswith("/usr/lib/python3")


@pytest.mark.slow
@pytest.mark.parametrize("grc", FLOWGRAPHS, ids=os.path.basename)
def test_grcc_compiles_every_flowgraph_with_the_installed_module(grc, tmp_path):
    """As `run_flowgraph.py` and `lgmtsc grc` run it: Debian's grcc in grc_env(), against the venv's installation."""
    r = subprocess.run(["grcc", "-o", str(tmp_path), grc], env=grc_env(), capture_output=True, text=True, timeout=180)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    for bad in ("Error", "error:", "Traceback", "not found", "failed", "invalid"):
        assert bad not in out, out
    code = (tmp_path / (os.path.basename(grc)[:-4] + ".py")).read_text()
    assert "lgmtsc.phy(link=" in code   # every flowgraph is built on the one PHY block
    subprocess.run([DEBIAN_PYTHON, "-m", "py_compile", str(tmp_path / (os.path.basename(grc)[:-4] + ".py"))],
                   check=True)
