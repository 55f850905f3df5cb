"""The whole live link with its view: `lgmtsc loopback --view --view-wait` on the demo sample, watched by headless
Chromium: the transmitter waits for the page, and the page gets every utterance's frames, sound and text."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from host_pipeline.system.report import CRITICAL_PATH

from ..system.test_loopback import _link_overrides
from .test_view import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make setup adds it)")
def test_loopback_view_in_chromium(tmp_path, demo_video):
    from playwright.sync_api import sync_playwright

    cmd = [sys.executable, "-m", "host_pipeline.cli", *_link_overrides(), "loopback", str(demo_video), "--snr", "20",
           "--no-kb", "--user", "speaker", "--enroll", "--hotwords", "Whittemore", "Philip", "--out", str(tmp_path),
           "--view", "127.0.0.1:0", "--view-wait", "600",
           "--set", "reconstruct.voice=af_heart"]  # a configured voice: no matching at enrollment (tested elsewhere)
    env = {**os.environ, "LGMTSC_DATA": str(tmp_path / "data"), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        url = None
        deadline = time.monotonic() + 900
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            m = re.search(r"live view at (http://\S+)", line)
            url = m.group(1) if m else None
        assert url, "".join(lines[-30:])
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url)
            lines += proc.stdout.readlines()  # the run ends once every message is resolved
            assert proc.wait(60) == 0, "".join(lines[-30:])
            stats = page.evaluate("window.lgmtscView")
            body = page.inner_text("#messages")
            page.screenshot(path=str(tmp_path / "live_view.png"))
            browser.close()
    finally:
        if proc.poll() is None:
            proc.kill()
    report = json.loads((tmp_path / "report.json").read_text())
    utts = report["utterances"]
    assert len(utts) == 3 and all(u["status"] == "ok" for u in utts)
    assert stats["messages"] == 3 and stats["phrases_received"] >= 3 and stats["frames_received"] > 100
    assert stats["audio_decoded"] == stats["phrases_received"] and not stats["errors"]
    for u in utts:
        assert u["sent_text"].split()[0] in body  # the sent text is shown, from the transmitter's log
        lat = u["latency_s"]
        assert {"tts_first_s", "render_wait_s", "first_frame_s", "e2e_first_frame_s"} <= set(lat)
        # the stages from the transcript on (a file read as fast as possible: e2e starts there) account for the
        # whole delay; what is left between them is bookkeeping
        stages = sum(lat.get(k, 0.0) for k in CRITICAL_PATH if k not in ("endpoint_s", "asr_s"))
        assert abs(stages - lat["e2e_first_frame_s"]) < 0.1 * lat["e2e_first_frame_s"] + 0.5, lat
