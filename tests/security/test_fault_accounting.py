"""The loopback supervisor says why a message that never reached the receiver was lost when it was sent around a
process's downtime (benchmarks/fault_injection.py kills each process at random points)."""

from __future__ import annotations

from host_pipeline.system.loopback import Loopback


def test_lost_messages_sent_around_a_downtime_are_blamed_on_it():
    lb = Loopback.__new__(Loopback)  # only the supervisor's bookkeeping: no processes
    lb.sent = {(1, s): {"t_sent": t} for s, t in enumerate([10.0, 20.0, 31.0, 50.0, 60.0, 70.0, 80.0], start=1)}
    lb.done, lb.arrived = {(1, 1), (1, 6)}, {(1, 1), (1, 6), (1, 7)}
    lb.lost_reasons = {(1, 7): "the receiver stopped while handling it"}
    lb.down = [("receiver", 19.5, 30.0), ("flowgraph", 54.0, 56.0), ("transmitter", 69.0, 69.5)]
    lb._explain_lost()
    r = lb.lost_reasons
    assert "receiver host was down" in r[(1, 2)] and "receiver host was down" in r[(1, 3)]  # 31 s: not connected yet
    assert "flowgraph" in r[(1, 4)]  # sent 4 s before the flowgraph died: in flight
    assert (1, 5) not in r  # 4 s after the flowgraph came back: no excuse, the report says no burst was received
    assert (1, 1) not in r and (1, 6) not in r  # received
    lb.sent, lb.done, lb.arrived, lb.lost_reasons = {(1, 9): {"t_sent": 57.7}}, set(), set(), {}
    lb.down = [("flowgraph", 54.2, 56.6), ("receiver", 56.6, 68.5)]  # both near: the one that was down is blamed
    lb._explain_lost()
    assert "receiver host was down" in lb.lost_reasons[(1, 9)]
    assert r[(1, 7)] == "the receiver stopped while handling it"  # arrived: the earlier reason stays
