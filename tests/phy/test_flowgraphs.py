"""System tests: every .grc compiles with grcc (output checked), the loopback flowgraph
round-trips PDUs over ZeroMQ, USRP flowgraphs fail fast without a radio."""
import glob
import os
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)
PY = "/usr/bin/python3"
RUN = os.path.join(ROOT, "grc_flowgraphs", "run_flowgraph.py")
GRCS = sorted(glob.glob(os.path.join(ROOT, "grc_flowgraphs", "*.grc")))


def test_all_flowgraphs_present():
    names = {os.path.basename(g) for g in GRCS}
    assert {"lgmtsc_loopback.grc", "lgmtsc_usrp_tx.grc", "lgmtsc_usrp_rx.grc",
            "lgmtsc_lab_gui.grc"} <= names


@pytest.mark.parametrize("grc", GRCS, ids=os.path.basename)
def test_grcc_compiles(grc, lgmtsc_env, tmp_path):
    r = subprocess.run(["grcc", "-o", str(tmp_path), grc], capture_output=True, text=True,
                       env=lgmtsc_env, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    for bad in ("Error", "error:", "Traceback", "ScannerError", "failed", "invalid"):
        assert bad not in out, out
    py = tmp_path / (os.path.basename(grc)[:-4] + ".py")
    assert py.exists()
    subprocess.run([PY, "-m", "py_compile", str(py)], check=True)
    code = py.read_text()
    if "loopback" in grc or "lab_gui" in grc:   # the channel parameter must reach the block
        assert "lgmtsc.phy(link='loopback'" in code and "channel=channel," in code


@pytest.mark.parametrize("name", ["usrp_tx", "usrp_rx"])
def test_usrp_fails_fast_without_radio(name, lgmtsc_env):
    t = time.time()
    r = subprocess.run([PY, RUN, name, "--dev-args", "serial=NOPE"], capture_output=True, text=True,
                       env=lgmtsc_env, timeout=60)
    assert r.returncode == 2
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("lgmtsc: no usable USRP"), r.stderr
    assert "Traceback" not in r.stderr
    assert time.time() - t < 30


def test_loopback_over_zeromq(lgmtsc_env):
    from host_pipeline.link import PhyLink
    ports = ["tcp://127.0.0.1:%d" % p for p in (15550, 15551, 15552)]
    proc = subprocess.Popen([PY, RUN, "loopback", "--channel", "awgn", "--esn0-db", "25",
                             "--tx-addr", ports[0], "--rx-addr", ports[1], "--snr-addr", ports[2]],
                            env=lgmtsc_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    link = PhyLink(*ports)
    try:
        time.sleep(3.0)
        assert proc.poll() is None, proc.stderr.read()
        rng = np.random.default_rng(0)
        sym = ((rng.standard_normal(512) + 1j * rng.standard_normal(512)) / np.sqrt(2)).astype(np.complex64)
        from gnuradio.lgmtsc import header
        meta = dict(version=header.FORMAT_VERSION, mode=header.Mode.SEMANTIC.label, sender_id=9, seq=1234,
                    n_tokens=4, prompt_class=header.PromptClass.HIGH, auth_tag=2 ** 32 - 3)
        link.send(meta, sym)
        data = rng.integers(0, 256, 300).astype(np.uint8)
        link.send(dict(meta, mode=header.Mode.DIGITAL.label, seq=1235, n_tokens=300, fec="ldpc", modulation="16qam"),
                  data)
        got = {}
        t0 = time.time()
        while len(got) < 2 and time.time() - t0 < 20:
            r = link.recv(timeout=1.0)
            if r is not None:
                got[r[0]["seq"]] = r
        assert set(got) == {1234, 1235}
        m, p = got[1234]
        assert m["mode"] == "semantic" and m["auth_tag"] == 2 ** 32 - 3 and m["sender_id"] == 9
        assert m["n_tokens"] == 4 and m["uses_per_token"] == 128 and m["prompt_class"] == header.PromptClass.HIGH
        assert p.size == 512 and np.mean(np.abs(p - sym) ** 2) < 0.02
        assert m["noise_var"].size == 512 and 20 < m["snr_db"] < 30
        m, p = got[1235]
        assert m["crc_ok"] is True and bytes(p) == bytes(data)
        s = link.recv_snr(timeout=2.0)
        assert s is not None and s["seq"] in (1234, 1235) and "snr_db" in s
    finally:
        link.close()
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.slow
def test_lab_gui_runs_headless(lgmtsc_env):
    """The Qt lab flowgraph starts offscreen, decodes its strobe PDUs and keeps running."""
    ports = ["tcp://127.0.0.1:%d" % p for p in (16550, 16551, 16552)]
    from host_pipeline.link import PhyLink
    proc = subprocess.Popen([PY, RUN, "lab_gui", "--tx-addr", ports[0], "--rx-addr", ports[1],
                             "--snr-addr", ports[2]], env=lgmtsc_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    link = PhyLink(*ports)
    try:
        r, t0 = None, time.time()   # a strobe sends a 16-QAM + cc digital PDU every 100 ms (another a semantic one)
        while time.time() - t0 < 45.0 and (r is None or r[0]["mode"] != "digital"):
            r = link.recv(timeout=5.0)
        assert proc.poll() is None
        assert r is not None and r[0]["mode"] == "digital" and r[0]["crc_ok"] is True
    finally:
        link.close()
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert b"Traceback" not in err, err.decode(errors="replace")[-2000:]
