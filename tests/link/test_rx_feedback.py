"""The receiver host feeds back, MAC'd and marked, the SNR of the bursts it verified; the transmitter's gate takes
those only. Scrambled semantic payloads decode for the key holder only."""

from __future__ import annotations

import os

import pytest

from host_pipeline.link.feedback import FeedbackGate, parse_report

from ..system.test_link_hosts import _message


@pytest.fixture
def receiver(make_receiver):
    return make_receiver()


def _reports(sub) -> list[bytes]:
    out = []
    while sub.poll(300):
        out.append(sub.recv())
    return out


def test_reports_are_authenticated_marked_and_only_verified_ones_steer(receiver):
    rx, alice, sub = receiver
    gate = FeedbackGate(alice.key, alice.sender_id, stale_s=30)
    for seq in (1, 2):
        gate.sent(seq)
    genuine = _message(rx.codec, alice.key, alice.sender_id, 1, "meet me at the station at noon")
    genuine[0].update(snr_db=14.0, noise_var=[1e-3] * len(genuine[1]))
    forged = _message(rx.codec, os.urandom(32), alice.sender_id, 2, "transfer all my savings to bob")
    forged[0].update(snr_db=40.0, noise_var=[1e-3] * len(forged[1]))  # a loud forger on alice's sender id
    nobody = _message(rx.codec, os.urandom(32), 999, 1, "hello from nobody")
    nobody[0].update(snr_db=40.0, noise_var=[1e-3] * len(nobody[1]))
    wild = _message(rx.codec, alice.key, alice.sender_id, 3, "see you")
    wild[0].update(snr_db=634445.0, noise_var=[1e-3] * len(wild[1]))  # an SNR the PHY cannot produce
    recs = [rx.handle(m, s, 0.0) for m, s in (genuine, forged, nobody, wild)]
    assert [r.status for r in recs] == ["ok", "unverified", "unknown_sender", "ok"]
    assert recs[0].received_text == "meet me at the station at noon"
    assert "savings" not in (recs[1].received_text or "")  # unscrambled with alice's key: not the forger's text
    reports = _reports(sub)
    parsed = [parse_report(r) for r in reports]
    assert [(p["seq"], p["verified"]) for p in parsed] == [(1, True), (2, False)]  # no report: unknown, wild SNR
    assert [gate.offer(r) for r in reports] == ["accepted", "unverified"]
    assert gate.snr_db() == 14.0


def test_an_eavesdropper_without_the_key_does_not_read_a_semantic_message(receiver):
    """The public codec on the scrambled symbols (no unscrambling): the text is not there."""
    rx, alice, _ = receiver
    meta, symbols = _message(rx.codec, alice.key, alice.sender_id, 4, "meet me at the station at noon")
    heard = rx.codec.decode(symbols, 1e-3, meta["n_tokens"])
    words = set("meet me at the station at noon".split())
    assert len(words & set(heard.split())) <= 1, heard
