"""A message the receiver never reported on makes the transmitter send the link association again (a receiver that
missed it drops every message until it has one; docs/phy.md, link association); a high, fresh report on a heard
message makes the next one go with the short preamble."""

from __future__ import annotations

import json
import threading

import pmt
import pytest
import zmq

from .test_link_hosts import _cfg


@pytest.mark.slow
def test_unreported_message_makes_the_next_one_carry_the_association(tmp_path, demo_video):
    from gnuradio.lgmtsc import pdu_format as pf

    from host_pipeline.link.feedback import make_report
    from host_pipeline.system.protocol import JsonlLog
    from host_pipeline.system.tx import Transmitter

    cfg = _cfg(tmp_path, "link.feedback_wait_s=1.5", "link.reassociate_after_s=0.5")
    log = JsonlLog(tmp_path / "tx.jsonl")
    tx = Transmitter(cfg, "alice", use_kb=False, log=log, progress=lambda m: None)
    ctx = zmq.Context.instance()
    pull, pub = ctx.socket(zmq.PULL), ctx.socket(zmq.PUB)
    pull.bind(cfg.link.tx_address)
    pub.bind(cfg.link.feedback_address)
    pdus: list[dict] = []
    stop = threading.Event()

    def flowgraph_and_receiver():
        """The receiver's PHY missed the first message (no report); it reports on the second and later ones (15 dB,
        verified)."""
        while not stop.is_set():
            if pull.poll(100):
                meta, _ = pf.parse_pdu(pmt.deserialize_str(pull.recv()))
                pdus.append(meta)
                if len(pdus) >= 2:
                    pub.send(make_report(tx.key.key, tx.key.sender_id, meta["seq"], 15.0, True))

    t = threading.Thread(target=flowgraph_and_receiver, daemon=True)
    t.start()
    try:
        assert tx.run(str(demo_video)) == 3
    finally:
        stop.set()
        t.join(2)
        pull.close(0)
        pub.close(0)
        log.close()
    asked = [bool(m.get(pf.KEY_ASSOCIATE, False)) for m in pdus]
    assert asked == [False, True, False]  # only after the unreported one
    records = [r for r in map(json.loads, (tmp_path / "tx.jsonl").read_text().splitlines())
               if r.get("event") == "sent"]
    assert [r["reassociated"] for r in records] == asked
    assert records[1]["burst_channel_uses"] > records[1]["channel_uses"] + tx.frame.association_symbols()
    # no report yet, then the association: the long preamble; after a 15 dB report on a heard message: the short one
    assert [m.get(pf.KEY_PREAMBLE, pf.PREAMBLE_LONG) for m in pdus] == ["long", "long", "short"]
    assert [r["preamble"] for r in records] == ["long", "long", "short"]
    assert records[2]["burst_channel_uses"] == tx.frames["short"].burst_symbols(records[2]["channel_uses"])
    # 136 preamble symbols fewer, and the header and tag in 40 16-QAM uses instead of 128 QPSK (96 header bits)
    assert records[2]["burst_channel_uses"] < tx.frame.burst_symbols(records[2]["channel_uses"]) - 136 - 88
    assert [r["header_bits"] for r in records] == [192, 192, 96]
