"""The loopback flowgraph's TX input (:5550, gr-lgmtsc's pdu_pull_source) survives the PMT bombs that crashed
GNU Radio's zeromq_pull_msg_source, and goes on putting good PDUs on the air."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from host_pipeline.paths import REPO_ROOT
from host_pipeline.ports import free_ports

BOMBS = [bytes([0x0A, 9]) + (1 << 28).to_bytes(4, "big") + b"\x01\x00",  # claims 2**28 complex items (2 GiB)
         bytes([7, 6]) * 200_000 + b"\x06",  # 200,000 nested pairs: a stack overflow when pmt frees them
         bytes([8]) + (1 << 31).to_bytes(4, "big"), b"\x63 junk"]


@pytest.mark.slow
def test_pmt_bombs_on_the_tx_port_do_not_crash_the_flowgraph():
    import pmt
    import zmq
    from gnuradio.lgmtsc import pdu_format as pf

    tx, rx, snr = (f"tcp://127.0.0.1:{p}" for p in free_ports(3))
    proc = subprocess.Popen([sys.executable, str(REPO_ROOT / "grc_flowgraphs" / "run_flowgraph.py"), "loopback",
                             "--channel", "none", "--tx-addr", tx, "--rx-addr", rx, "--snr-addr", snr],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ctx = zmq.Context()
    sub, push = ctx.socket(zmq.SUB), ctx.socket(zmq.PUSH)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(rx)
    push.setsockopt(zmq.LINGER, 0)
    push.connect(tx)
    meta = dict(version=pf.FORMAT_VERSION, mode="semantic", sender_id=7, seq=1, n_tokens=4, prompt_class=2,
                auth_tag=5)
    sym = np.exp(2j * np.pi * np.arange(16) / 7).astype(np.complex64)

    def through(seq, timeout):  # send a good PDU until it comes out of the receiver (the flowgraph may be starting)
        t_end = time.time() + timeout
        while time.time() < t_end and proc.poll() is None:
            push.send(pmt.serialize_str(pf.make_pdu(dict(meta, seq=seq), sym)))
            t_try = time.time() + 2
            while time.time() < t_try:
                if sub.poll(200) and pf.parse_pdu(pmt.deserialize_str(sub.recv()))[0]["seq"] == seq:
                    return True
        return False

    try:
        assert through(1, 60), "the flowgraph never passed a PDU"
        for b in BOMBS:
            push.send(b)
        time.sleep(1.0)
        assert proc.poll() is None, "the flowgraph died of a malformed PDU"
        assert through(2, 10)  # and it still works
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        sub.close(0)
        push.close(0)
        ctx.term()
    assert "dropped malformed message #1" in out, out[-2000:]
