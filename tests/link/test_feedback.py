"""Authenticated SNR feedback: the transmitter takes only authentic, fresh, in-range reports on verified bursts."""

from __future__ import annotations

import json

from host_pipeline.link.feedback import FeedbackGate, make_report, parse_report

KEY, OTHER = bytes(range(32)), bytes(32)


def _gate():
    g = FeedbackGate(KEY, 5, stale_s=30.0)
    for seq in (10, 11, 12):
        g.sent(seq, t=100.0)
    return g


def test_authentic_report_is_taken_and_everything_else_refused_with_its_reason():
    g = _gate()
    assert g.offer(make_report(KEY, 5, 11, 12.5, True), now=101.0) == "accepted"
    assert g.snr_db(now=102.0) == 12.5
    assert g.offer(make_report(KEY, 5, 11, 3.0, True), now=101.0) == "replay"  # the same burst again
    assert g.offer(make_report(KEY, 5, 10, 3.0, True), now=101.0) == "replay"  # an older one
    assert g.offer(make_report(OTHER, 5, 12, 3.0, True), now=101.0) == "unauthenticated"  # not the sender's key
    assert g.offer(make_report(KEY, 6, 12, 3.0, True), now=101.0) == "other_sender"
    assert g.offer(make_report(KEY, 5, 12, 634445.0, True), now=101.0) == "out_of_range"
    assert g.offer(make_report(KEY, 5, 12, float("nan"), True), now=101.0) in ("out_of_range", "malformed")
    assert g.offer(make_report(KEY, 5, 12, 20.0, False), now=101.0) == "unverified"  # would raise it: not verified
    assert g.offer(make_report(KEY, 5, 99, 3.0, True), now=101.0) == "unknown"  # never sent
    assert g.offer(make_report(KEY, 5, 12, 3.0, True), now=131.0) == "stale"  # burst sent > 30 s ago
    assert g.offer(b"\xff garbage", now=101.0) == "malformed"
    assert g.snr_db(now=102.0) == 12.5  # none of them moved it
    assert g.snr_db(now=200.0) is None  # and it ages out
    assert g.offer(make_report(KEY, 5, 12, -3.0, True), now=101.0) == "accepted"


def test_an_unverified_burst_can_only_lower_the_assumed_snr():
    """At low SNR tags fail: the SNR of a burst whose tag did not verify is taken when it makes the transmitter
    more careful (nothing assumed yet, or lower), never when it would make it compress less."""
    g = _gate()
    assert g.offer(make_report(KEY, 5, 10, 1.5, False), now=101.0) == "accepted"  # nothing assumed yet
    assert g.snr_db(now=101.5) == 1.5
    assert g.offer(make_report(KEY, 5, 11, 9.0, False), now=101.0) == "unverified"  # would raise it
    assert g.offer(make_report(KEY, 5, 11, 0.5, False), now=101.0) == "accepted"  # lowers it
    assert g.offer(make_report(KEY, 5, 12, 9.0, True), now=101.0) == "accepted"  # a verified one may raise it
    assert g.snr_db(now=101.5) == 9.0


def test_the_gate_remembers_which_bursts_were_reported_but_not_forged_reports():
    """A file is sent as fast as it is transcribed; the transmitter waits for the report on the previous burst
    (``link.feedback_wait_s``): an authentic report counts as heard even when its SNR is not taken, a forged one
    never does."""
    g = _gate()
    assert g.offer(make_report(OTHER, 5, 12, 3.0, True), now=101.0) == "unauthenticated" and g.heard == -1
    assert g.offer(make_report(KEY, 5, 10, 4.0, True), now=101.0) == "accepted" and g.heard == 10
    assert g.offer(make_report(KEY, 5, 11, 9.0, False), now=101.0) == "unverified" and g.heard == 11
    assert g.offer(make_report(KEY, 5, 10, 4.0, True), now=101.0) == "replay" and g.heard == 11


def test_a_burst_never_reported_makes_the_next_message_carry_the_association():
    """No authentic report on a burst sent ``after_s`` ago, nor on a later one: the receiver may have missed the link
    association (its PHY drops every message until it has one), so the next message asks for it again. A forged
    report does not silence that; a report on a later burst does."""
    g = FeedbackGate(KEY, 5, stale_s=30.0)
    assert not g.unconfirmed(2.0, now=100.0)  # nothing sent yet: the flowgraph sends one before the first message
    g.sent(10, t=100.0)
    assert not g.unconfirmed(2.0, now=101.0)  # too early to tell
    assert g.unconfirmed(2.0, now=102.5)
    g.offer(make_report(OTHER, 5, 10, 3.0, True), now=102.5)
    assert g.unconfirmed(2.0, now=102.5)
    g.sent(11, t=103.0)
    g.offer(make_report(KEY, 5, 11, -1.0, False), now=103.5)  # an unverified burst: its header got through
    assert not g.unconfirmed(2.0, now=106.0)


def test_a_changed_field_breaks_the_mac():
    g = _gate()
    msg = json.loads(make_report(KEY, 5, 12, 3.0, True))
    for field, value in (("snr_db", 30.0), ("seq", 11), ("verified", False), ("t", msg["t"] + 1)):
        assert g.offer(json.dumps(dict(msg, **{field: value})).encode(), now=101.0) == "unauthenticated", field
    assert g.offer(json.dumps(msg).encode(), now=101.0) == "accepted"

def test_parse_rejects_wrong_types_and_sizes():
    good = json.loads(make_report(KEY, 5, 12, 3.0, True))
    assert parse_report(json.dumps(good).encode())
    for bad in (dict(good, seq="12"), dict(good, seq=2 ** 40), dict(good, sender_id=-1), dict(good, verified=1),
                dict(good, mac=123), dict(good, v=1), dict(good, snr_db=True), dict(good, t="now")):
        assert parse_report(json.dumps(bad).encode()) is None
    assert parse_report(b"[" * 100000) is None
    assert parse_report(json.dumps(dict(good, pad="x" * 600)).encode()) is None


def test_the_transmitters_listener_takes_only_reports_that_pass_the_gate():
    import time

    import zmq

    from host_pipeline.link.auth import SenderKey
    from host_pipeline.ports import free_ports
    from host_pipeline.system.tx import FeedbackListener

    addr = f"tcp://127.0.0.1:{free_ports(1)[0]}"
    pub = zmq.Context.instance().socket(zmq.PUB)
    pub.bind(addr)
    fb = FeedbackListener(addr, SenderKey("alice", 5, KEY), stale_s=30.0)
    try:
        fb.sent(3)
        time.sleep(0.5)  # SUB connect
        for raw in (make_report(OTHER, 5, 3, 25.0, True), make_report(KEY, 5, 3, 634445.0, True),
                    make_report(KEY, 5, 3, 7.5, True), make_report(KEY, 5, 3, 25.0, False),
                    make_report(KEY, 5, 4, 25.0, True), b"not json"):
            pub.send(raw)
        deadline = time.time() + 5
        while sum(fb.ignored().values()) < 5 and time.time() < deadline:
            time.sleep(0.05)
        assert fb.snr_db() == 7.5
        assert fb.ignored() == {"unauthenticated": 1, "out_of_range": 1, "unverified": 1, "unknown": 1, "malformed": 1}
        assert fb.wait_for(4, timeout_s=0.2) and not fb.wait_for(5, timeout_s=0.2)
    finally:
        fb.close()
        pub.close(0)
