"""The receiver host keeps serving when one message's later stages fail, and records every message."""

from __future__ import annotations

import threading

import pytest

from host_pipeline.link.auth import KeyStore
from host_pipeline.system.protocol import JsonlLog, read_log

from .test_link_hosts import _cfg, _message


@pytest.fixture
def receiver(tmp_path):
    from host_pipeline.system.rx import Receiver

    cfg = _cfg(tmp_path)
    alice = KeyStore(cfg.link.keystore).provision("alice")
    log = JsonlLog(tmp_path / "rx.jsonl")
    rx = Receiver(cfg, tmp_path / "out", use_kb=False, reconstruct=False, log=log, progress=lambda m: None)
    yield rx, alice
    rx.feedback.close()
    log.close()


def test_a_failed_render_keeps_the_authentic_text(receiver):
    rx, alice = receiver

    def broken_render(user, rec, stream=None):
        raise RuntimeError("ffmpeg exploded")

    rx._render = broken_render
    meta, symbols = _message(rx.codec, alice.key, alice.sender_id, 1, "meet me at the station at noon")
    meta.update(snr_db=30.0, noise_var=[1e-3] * len(symbols))
    rec = rx.handle(meta, symbols, 0.0)
    assert rec.status == "ok" and rec.verified and rec.received_text == "meet me at the station at noon"
    assert "not rendered" in rec.reason and "ffmpeg exploded" in rec.reason and rec.video is None


def test_an_unexpected_error_is_recorded_and_the_service_goes_on(receiver, tmp_path):
    rx, alice = receiver
    good = _message(rx.codec, alice.key, alice.sender_id, 2, "see you tomorrow")
    good[0].update(snr_db=30.0, noise_var=[1e-3] * len(good[1]))
    bad = dict(good[0], seq=1, n_tokens="many")  # a header field the decoder cannot use
    rx.queue.put((bad, good[1], 1.0))
    rx.queue.put((good[0], good[1], 2.0))
    stop = threading.Event()
    stop.set()  # finish what is queued, then return
    assert rx.run(stop) == 2
    done = {e["seq"]: e for e in read_log(tmp_path / "rx.jsonl") if e["event"] == "done"}
    assert done[1]["status"] == "undecodable" and "receiver error" in done[1]["reason"]
    assert done[1]["sender_id"] == alice.sender_id
    assert done[2]["status"] == "ok" and done[2]["received_text"] == "see you tomorrow"
