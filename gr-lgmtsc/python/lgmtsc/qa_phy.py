#!/usr/bin/env python3
#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""phy: the hierarchical PHY block in its three links (loopback, tx -> rx as two radios would, bad arguments)."""

import time

import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest
from gnuradio.lgmtsc import pdu_format as pf
from gnuradio.lgmtsc import phy

META = dict(version=pf.FORMAT_VERSION, mode="digital", sender_id=7, seq=0, n_tokens=0, prompt_class=2, flags=0,
            auth_tag=99)
DONE = pmt.cons(pmt.intern("done"), pmt.from_long(1))


def _wait(dbg, n, timeout=30.0):
    t0 = time.monotonic()
    while dbg.num_messages() < n and time.monotonic() - t0 < timeout:
        time.sleep(0.05)
    return [pf.parse_pdu(dbg.get_message(i)) for i in range(dbg.num_messages())]


class qa_phy(gr_unittest.TestCase):

    def test_001_loopback_through_the_hier_ports(self):
        """A PDU strobed into 'in' comes out of 'pdus' (and a report out of 'snr') decoded and CRC-checked."""
        data = np.random.default_rng(1).integers(0, 256, 120, dtype=np.uint8)
        tb = gr.top_block()
        p = phy(link="loopback", samp_rate=4e6, channel="awgn", esn0_db=25.0, seed=3)
        pdu = pf.make_pdu(dict(META, n_tokens=data.size, modulation="16qam", fec="cc"), data)
        strobe = blocks.message_strobe(pdu, 100)
        dbg, snr = blocks.message_debug(), blocks.message_debug()
        sink = blocks.null_sink(gr.sizeof_gr_complex)   # the stream output (channel output) may feed a scope
        tb.msg_connect(strobe, "strobe", p, "in")
        tb.msg_connect(p, "pdus", dbg, "store")
        tb.msg_connect(p, "snr", snr, "store")
        tb.connect(p, sink)
        tb.start()
        try:
            out = _wait(dbg, 3)
            reports = _wait(snr, 1)
        finally:
            tb.stop()
            tb.wait()
        self.assertGreaterEqual(len(out), 3)
        for m, payload in out:
            self.assertEqual(m[pf.KEY_MODE], "digital")
            self.assertIs(m[pf.KEY_CRC_OK], True)
            self.assertEqual(bytes(payload), bytes(data))
            self.assertGreater(m[pf.KEY_SNR_DB], 18.0)
        self.assertEqual(reports[0][0][pf.KEY_SENDER_ID], 7)

    def test_002_loopback_without_a_stream_consumer_and_esn0_setter(self):
        """The stream output may stay unconnected; set_esn0_db moves the receiver's SNR estimate."""
        rng = np.random.default_rng(2)
        sym = ((rng.standard_normal(600) + 1j * rng.standard_normal(600)) / np.sqrt(2)).astype(np.complex64)
        tb = gr.top_block()
        p = phy(link="loopback", samp_rate=4e6, channel="awgn", esn0_db=25.0, seed=4)
        strobe = blocks.message_strobe(pf.make_pdu(dict(META, mode="semantic", n_tokens=3), sym), 100)
        dbg = blocks.message_debug()
        tb.msg_connect(strobe, "strobe", p, "in")
        tb.msg_connect(p, "pdus", dbg, "store")
        tb.start()
        try:
            high = [m[pf.KEY_SNR_DB] for m, _ in _wait(dbg, 3)]
            p.set_esn0_db(8.0)
            time.sleep(0.5)   # bursts in flight at the old Es/N0 pass first
            n0 = dbg.num_messages()
            low = [m[pf.KEY_SNR_DB] for m, _ in _wait(dbg, n0 + 3)[n0:]]
        finally:
            tb.stop()
            tb.wait()
        self.assertGreaterEqual(len(low), 3)
        self.assertAlmostEqual(float(np.median(high)), 25.0, delta=2.0)
        self.assertAlmostEqual(float(np.median(low)), 8.0, delta=1.5)

    def test_003_tx_and_rx_halves(self):
        """link='tx' feeds a radio sink with tagged bursts; link='rx' decodes what a radio source delivers."""
        data = np.arange(200, dtype=np.uint8)
        tb = gr.top_block()
        ptx, prx = phy(link="tx", amplitude=0.5), phy(link="rx", calibration="none")
        tags = blocks.tag_debug(gr.sizeof_gr_complex, "tags")
        tags.set_display(False)
        dbg = blocks.message_debug()
        tb.connect(ptx, prx)
        tb.connect(ptx, tags)
        tb.msg_connect(prx, "pdus", dbg, "store")
        for seq in range(3):
            ptx.tx.to_basic_block()._post(pmt.intern("in"), pf.make_pdu(dict(META, seq=seq, n_tokens=data.size), data))
        ptx.tx.to_basic_block()._post(pmt.intern("system"), DONE)
        tb.run()   # burst mode: the stream ends when the TX has nothing more to send
        out = _wait(dbg, 3)  # returns as soon as the 3 PDUs are in (no wall-clock bound in a test)
        self.assertEqual([m[pf.KEY_SEQ] for m, _ in out], [0, 1, 2])
        self.assertTrue(all(m[pf.KEY_CRC_OK] and bytes(p) == bytes(data) for m, p in out))
        keys = [pmt.symbol_to_string(t.key) for t in tags.current_tags()]
        # every burst (the 3 messages, in one or more, and any association burst before them) is tagged for the radio
        self.assertEqual(keys.count("tx_sob"), ptx.tx.n_sent)
        self.assertEqual(keys.count("tx_eob"), ptx.tx.n_sent)
        self.assertEqual(ptx.tx.n_messages, 3)   # queued together: they share a burst (after the association)
        self.assertGreaterEqual(ptx.tx.n_sent, 2)
        self.assertIsNone(ptx.rx)
        self.assertIsNone(prx.tx)

    def test_004_bad_arguments(self):
        with self.assertRaises(ValueError):
            phy(link="duplex")
        with self.assertRaises(ValueError):
            phy(link="loopback", channel="rician")
        with self.assertRaises(FileNotFoundError):
            phy(link="rx", calibration="/nonexistent.json")


if __name__ == '__main__':
    gr_unittest.run(qa_phy)
