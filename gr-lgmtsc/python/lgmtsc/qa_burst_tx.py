#!/usr/bin/env python3
#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""burst_tx: PDUs posted, ('system','done'), samples and tags checked."""

import numpy as np
import pmt
from gnuradio import gr, gr_unittest, blocks

try:
    from gnuradio.lgmtsc import burst_tx, pdu_format as pf, frame
except ImportError:
    import os, sys
    sys.path.append(os.path.join(os.path.dirname(__file__), "..", ".."))
    from gnuradio.lgmtsc import burst_tx, pdu_format as pf, frame

META = dict(version=1, mode="semantic", sender_id=3, seq=9, n_tokens=2, prompt_class=0,
            flags=0, auth_tag=0xDEADBEEFCAFEF00D)


class qa_burst_tx(gr_unittest.TestCase):

    def setUp(self):
        self.tb = gr.top_block()

    def tearDown(self):
        self.tb = None

    def run_tx(self, pdus, **kw):
        tx = burst_tx(**kw)
        snk = blocks.vector_sink_c()
        self.tb.connect(tx, snk)
        for p in pdus:
            tx.to_basic_block()._post(pmt.intern("in"), p)
        tx.to_basic_block()._post(pmt.intern("system"), pmt.cons(pmt.intern("done"), pmt.from_long(1)))
        self.tb.run()
        return tx, np.array(snk.data()), snk.tags()

    def test_001_bursts_and_tags(self):
        rng = np.random.default_rng(1)
        pays = [np.exp(2j * np.pi * rng.random(n)) for n in (100, 300)]
        tx, x, tags = self.run_tx([pf.make_pdu(dict(META, seq=i), p) for i, p in enumerate(pays)])
        f = frame.Frame()
        lens = [f.burst_samples(p.size) + f.tail for p in pays]
        self.assertEqual(x.size, sum(lens))
        keys = [(pmt.symbol_to_string(t.key), t.offset) for t in tags]
        self.assertEqual(keys, [("tx_sob", 0), ("tx_eob", lens[0] - 1),
                                ("tx_sob", lens[0]), ("tx_eob", sum(lens) - 1)])
        b0 = x[:f.burst_samples(100)]
        self.assertAlmostEqual(float(np.mean(np.abs(b0) ** 2)), 1.0, places=4)
        # identical to the framing module's burst
        ref, _ = f.build_burst(dict(META, seq=0), pays[0])
        np.testing.assert_allclose(x[:lens[0]], ref, atol=1e-6)

    def test_002_malformed_dropped(self):
        bad = [pmt.intern("junk"),
               pf.make_pdu({"mode": "semantic"}, np.ones(4, np.complex64)),          # missing keys
               pf.make_pdu(dict(META, prompt_class=7), np.ones(4, np.complex64)),    # bad value
               pf.make_pdu(dict(META, mode="digital"), np.ones(4, np.complex64)),    # wrong payload type
               pf.make_pdu(META, np.array([np.nan], np.complex64)),
               pf.make_pdu(dict(META, mode="digital"), np.arange(10, dtype=np.uint8))]  # good
        tx, x, tags = self.run_tx(bad)
        self.assertEqual(tx.n_dropped, 5)
        self.assertEqual(tx.n_sent, 1)
        self.assertEqual(len(tags), 2)

    def test_003_digital_sizes(self):
        f = frame.Frame()
        data = np.random.default_rng(2).integers(0, 256, 500, dtype=np.uint8).tobytes()
        for mod in ("bpsk", "qpsk", "16qam"):
            for fec in ("none", "cc", "ldpc"):
                s = f.digital_symbols(data, mod, fec)
                self.assertEqual(s.size, f.digital_n_symbols(500, mod, fec))
                self.assertAlmostEqual(float(np.mean(np.abs(s) ** 2)), 1.0, delta=0.1)


if __name__ == '__main__':
    gr_unittest.run(qa_burst_tx)
