"""gr-lgmtsc is a Python-only module without gr_modtool's leftovers, and its QA cannot be skipped silently."""

from __future__ import annotations

import shutil
import subprocess

from host_pipeline.paths import REPO_ROOT

LEFTOVERS = ("gr-lgmtsc/docs/", "gr-lgmtsc/lib/", "gr-lgmtsc/include/", "gr-lgmtsc/apps/", "gr-lgmtsc/.conda/",
             "gr-lgmtsc/.clang-format", "gr-lgmtsc/cmake/Modules/", "gr-lgmtsc/examples/README")


def _tracked(prefix: str) -> list[str]:
    return subprocess.run(["git", "ls-files", prefix], cwd=REPO_ROOT, capture_output=True, text=True,
                          check=True).stdout.split()


def test_no_gr_modtool_leftovers():
    files = _tracked("gr-lgmtsc")
    left = [f for f in files if f.startswith(LEFTOVERS) and f != "gr-lgmtsc/examples/README.md"]
    assert not left, f"gr_modtool leftovers in a Python-only module: {left}"
    assert "gr-lgmtsc/examples/lgmtsc_phy_loopback.grc" in files
    assert not [f for f in files if f.endswith((".h", ".cc", ".cpp"))]


def test_every_flowgraph_is_built_on_the_phy_block():
    for grc in [*(REPO_ROOT / "grc_flowgraphs").glob("*.grc"), *(REPO_ROOT / "gr-lgmtsc" / "examples").glob("*.grc")]:
        text = grc.read_text()
        assert "id: lgmtsc_phy" in text, grc.name
        assert "id: lgmtsc_burst_tx" not in text and "id: lgmtsc_burst_rx" not in text, grc.name


def test_a_missing_ctest_build_fails_the_test_script(tmp_path):
    """scripts/test.sh in a checkout without build/gr-lgmtsc: an error naming the fix and a failing status."""
    (tmp_path / "scripts").mkdir()
    for name in ("test.sh", "setup.sh"):
        shutil.copy(REPO_ROOT / "scripts" / name, tmp_path / "scripts" / name)
    r = subprocess.run(["bash", str(tmp_path / "scripts" / "test.sh"), "--version"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "test: error: build/gr-lgmtsc has no ctest build, so gr-lgmtsc's QA cannot run" in r.stderr, r.stderr
    assert "hint: make setup" in r.stderr
