"""`lgmtsc lab` on a virtual X display (Xvfb): the window shows both constellations and the spectrum, with data.

`lgmtsc lab --screenshot PNG` runs the lab flowgraph on its own Xvfb display, grabs the screen (xwd) every 2 s
until the plots have drawn, and writes the window as PNG. The test reads that PNG back and checks what it shows:
two square plot canvases side by side with constellation points spread over them, above a wide canvas whose trace
crosses it and rises in the middle (the signal's band above the noise floor).
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from host_pipeline import screenshot as sc
from host_pipeline.ports import free_ports


@pytest.mark.slow
def test_lab_window_shows_both_constellations_and_the_spectrum(user_env, tmp_path):
    for tool in ("Xvfb", "xwd"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed, so the lab window cannot be shown: run `make setup` "
                        "(Debian's xvfb and x11-apps)", pytrace=False)
    png = tmp_path / "lab_window.png"
    ports = free_ports(3)
    r = subprocess.run([sys.executable, "-m", "host_pipeline.cli", "lab", "--channel", "awgn", "--snr", "15",
                        "--screenshot", str(png), "--timeout", "150",
                        "--set", f"link.tx_address=tcp://127.0.0.1:{ports[0]}",
                        "--set", f"link.rx_address=tcp://127.0.0.1:{ports[1]}",
                        "--set", f"link.snr_address=tcp://127.0.0.1:{ports[2]}"],
                       env=user_env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    img = np.asarray(Image.open(png).convert("RGB"))
    assert img.shape[0] > 600 and img.shape[1] > 800, f"the window is only {img.shape[1]}x{img.shape[0]}"
    found = sc.canvases(img)
    assert sc.lab_window_drawn(found), sc.describe(found)
    squares, wide = sc.constellations(found), sc.spectra(found)
    left, right = squares[0], squares[1]
    assert abs(left.top - right.top) < 20 and left.left + left.width <= right.left, sc.describe(found)
    assert wide[0].top > max(left.top + left.height, right.top + right.height), sc.describe(found)
    # two plots, not one drawn twice: the equalised points sit on a 16-QAM grid, the matched filter's are smeared
    assert not np.array_equal(left.data, right.data)


def test_lab_screenshot_fails_clearly_without_xvfb(user_env, tmp_path):
    env = dict(user_env, PATH=str(tmp_path))   # nothing on PATH: no Xvfb
    r = subprocess.run([sys.executable, "-m", "host_pipeline.cli", "lab", "--screenshot", str(tmp_path / "x.png")],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 5, r.stderr
    assert r.stderr.splitlines()[0] == "lgmtsc: error: Xvfb is not installed, so no virtual display can be made"
