"""The receiver's decode queue is bounded (link.rx_queue_max): what does not fit is dropped at once and reported
lost with the reason, so a flood cannot grow its memory and the run's accounting stays complete."""

from __future__ import annotations

import threading
import time

from host_pipeline.link.auth import KeyStore
from host_pipeline.system import report as report_mod
from host_pipeline.system.protocol import JsonlLog, read_log
from host_pipeline.system.report import merge_logs

from ..system.test_link_hosts import _cfg, _message
from ..system.test_report_merge import _sent

TEXTS = ["meet me at the station at noon", "see you tomorrow", "call me back", "the train is late again",
         "we are almost there", "bring the documents please"]


def test_a_full_decode_queue_drops_and_reports_lost_with_the_reason(tmp_path, monkeypatch):
    import pmt
    import zmq
    from gnuradio.lgmtsc import pdu_format as pf

    from host_pipeline.system.rx import Receiver

    cfg = _cfg(tmp_path, "link.rx_queue_max=2")
    alice = KeyStore(cfg.link.keystore).provision("alice")
    log = JsonlLog(tmp_path / "rx.jsonl")
    rx = Receiver(cfg, tmp_path / "out", use_kb=False, reconstruct=False, log=log, progress=lambda m: None)
    assert rx.queue.maxsize == 2
    release, first_taken = threading.Event(), threading.Event()
    receive = rx.receive

    def slow_receive(meta, payload, t):  # the decoder busy with the first message while the others arrive
        first_taken.set()
        release.wait(20)
        return receive(meta, payload, t)

    rx.receive = slow_receive
    pub = zmq.Context.instance().socket(zmq.PUB)
    pub.bind(cfg.link.rx_address)
    stop = threading.Event()
    th = threading.Thread(target=rx.run, args=(stop,), daemon=True)
    th.start()
    try:
        time.sleep(1.0)  # SUB connect
        msgs = [_message(rx.codec, alice.key, alice.sender_id, i + 1, t) for i, t in enumerate(TEXTS)]
        for meta, sym in msgs[:1]:
            pub.send(pmt.serialize_str(pf.make_pdu(dict(meta, snr_db=30.0, noise_var=[1e-3] * len(sym)), sym)))
        assert first_taken.wait(10)
        for meta, sym in msgs[1:]:  # 2 fit in the queue, 3 do not
            pub.send(pmt.serialize_str(pf.make_pdu(dict(meta, snr_db=30.0, noise_var=[1e-3] * len(sym)), sym)))
        t_end = time.time() + 10
        while rx.dropped < 3 and time.time() < t_end:
            time.sleep(0.05)
        release.set()
        t_end = time.time() + 30
        while len([e for e in read_log(tmp_path / "rx.jsonl") if e["event"] == "done"]) < 6 and time.time() < t_end:
            time.sleep(0.1)
    finally:
        release.set()
        stop.set()
        th.join(30)
        pub.close(0)
        log.close()
    assert rx.dropped == 3 and not th.is_alive()
    done = {e["seq"]: e for e in read_log(tmp_path / "rx.jsonl") if e["event"] == "done"}
    assert [done[s]["status"] for s in range(1, 7)] == ["ok"] * 3 + ["lost"] * 3, \
        [(s, e["status"], e["reason"]) for s, e in done.items()]
    assert all(done[s]["received_text"] == TEXTS[s - 1] for s in (1, 2, 3))
    assert all("receiver overloaded" in done[s]["reason"] for s in (4, 5, 6))
    tx = JsonlLog(tmp_path / "tx.jsonl")  # the transmitter's side of the same six messages: all accounted for
    for s in range(1, 7):
        tx.write("sent", dict(_sent(s, TEXTS[s - 1]), sender_id=alice.sender_id))
    tx.close()
    monkeypatch.setattr(report_mod, "_similarities",  # accounting only: no sentence model
                        lambda utts: [u.update(similarity=None) for u in utts])
    report = merge_logs(tmp_path / "tx.jsonl", tmp_path / "rx.jsonl", {})
    assert report["summary"]["verified"] == 3 and report["summary"]["lost"] == 3
    assert all("receiver overloaded" in u["reason"] for u in report["utterances"] if u["status"] == "lost")
