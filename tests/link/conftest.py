"""Fixtures shared by the receiver-host tests of this folder."""

from __future__ import annotations

import time

import pytest

from host_pipeline.link.auth import KeyStore

from ..system.test_link_hosts import _cfg


@pytest.fixture
def make_receiver(tmp_path):
    """``make_receiver(*overrides) -> (rx, alice, sub)``: a receiver host (no KB, no rendering) with alice's key
    provisioned and a SUB socket on its SNR feedback; closed at the end of the test."""
    import zmq

    from host_pipeline.system.rx import Receiver

    opened = []

    def make(*overrides: str):
        cfg = _cfg(tmp_path, *overrides)
        alice = KeyStore(cfg.link.keystore).provision("alice")
        rx = Receiver(cfg, tmp_path / "out", use_kb=False, reconstruct=False, progress=lambda m: None)
        sub = zmq.Context.instance().socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(cfg.link.feedback_address)
        time.sleep(0.3)
        opened.append((rx, sub))
        return rx, alice, sub

    yield make
    for rx, sub in opened:
        sub.close(0)
        rx.close_feedback()
