#!/usr/bin/env python3
#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""burst_tx: PDUs posted, ('system','done'), samples and tags checked."""

import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest

try:
    from gnuradio.lgmtsc import burst_tx, frame
    from gnuradio.lgmtsc import pdu_format as pf
except ImportError:
    import os
    import sys
    sys.path.append(os.path.join(os.path.dirname(__file__), "..", ".."))
    from gnuradio.lgmtsc import burst_tx, frame
    from gnuradio.lgmtsc import pdu_format as pf

META = dict(version=pf.FORMAT_VERSION, mode="semantic", sender_id=3, seq=9, n_tokens=2, prompt_class=0,
            auth_tag=0xDEADBEEF)


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
        tx, x, tags = self.run_tx([pf.make_pdu(dict(META, seq=i, n_tokens=p.size // 4), p)
                                   for i, p in enumerate(pays)], max_messages=1)
        f = frame.Frame()
        ref, assoc = f.build_burst(dict(META, seq=0, n_tokens=25), pays[0])
        lens = [f.association_burst(assoc).size] + [f.burst_samples(p.size) + f.guard_samples(f.n_hdr + 32 + p.size)
                                                    for p in pays]
        self.assertEqual(x.size, sum(lens))
        self.assertEqual(assoc.uses_per_token, 4)
        ends = np.cumsum(lens)
        keys = [(pmt.symbol_to_string(t.key), t.offset) for t in tags]
        self.assertEqual(keys, [("tx_sob", 0), ("tx_eob", ends[0] - 1), ("tx_sob", ends[0]), ("tx_eob", ends[1] - 1),
                                ("tx_sob", ends[1]), ("tx_eob", ends[2] - 1)])
        b0 = x[ends[0]:ends[0] + f.burst_samples(100)]
        self.assertAlmostEqual(float(np.mean(np.abs(b0) ** 2)), 1.0, places=4)
        # identical to the framing module's bursts: the association first, then the message
        np.testing.assert_allclose(x[:ends[0]], f.association_burst(assoc), atol=1e-6)
        np.testing.assert_allclose(x[ends[0]:ends[1]], ref, atol=1e-6)
        # channel uses of the message burst: preamble, header, tag, pilots, payload, pulse tail and guard
        self.assertEqual(f.burst_symbols(100) * f.sps, -(-lens[1] // f.sps) * f.sps)

    def test_004_association_repeated(self):
        """The association goes again when the link changes, every ASSOC_EVERY messages, and on a seq jump."""
        from gnuradio.lgmtsc import header as H
        one = np.ones(2, np.complex64)
        pdus = [pf.make_pdu(dict(META, seq=i), one) for i in range(H.ASSOC_EVERY + 1)]   # 2 associations
        pdus.append(pf.make_pdu(dict(META, seq=H.ASSOC_EVERY + 1, sender_id=4), one))       # new sender: 3
        pdus.append(pf.make_pdu(dict(META, seq=H.ASSOC_EVERY + 400, sender_id=4), one))     # seq jump: 4
        pdus.append(pf.make_pdu(dict(META, seq=H.ASSOC_EVERY + 401, sender_id=4, associate=True), one))  # asked: 5
        pdus.append(pf.make_pdu(dict(META, seq=H.ASSOC_EVERY + 402, sender_id=4, associate=False), one))
        pdus.append(pf.make_pdu(dict(META, seq=H.ASSOC_EVERY + 403, sender_id=4, associate="yes"), one))  # dropped
        tx, x, tags = self.run_tx(pdus, max_messages=1)
        self.assertEqual(tx.n_associations, 5)
        self.assertEqual(tx.n_dropped, 1)
        self.assertEqual(tx.n_sent, len(pdus) - 1 + 5)

    def test_006_missed_association_recovered_by_associate(self):
        """A receiver that missed the association drops messages (n_no_association) until one comes with
        ``associate``: then that message and the next are decoded."""
        rng = np.random.default_rng(6)
        pays = [np.exp(2j * np.pi * rng.random(40)).astype(np.complex64) for _ in range(4)]
        pdus = [pf.make_pdu(dict(META, seq=i, n_tokens=10, associate=(i == 2)), p) for i, p in enumerate(pays)]
        tx, x, tags = self.run_tx(pdus, max_messages=1)
        self.assertEqual(tx.n_associations, 2)
        f = frame.Frame()
        first = f.association_burst(f.build_burst(dict(META, seq=0, n_tokens=10), pays[0])[1]).size
        rx = frame.Receiver(f)   # joins after the first association burst
        out = rx.feed(np.concatenate([np.zeros(500, np.complex64), x[first:], np.zeros(4000, np.complex64)]))
        self.assertEqual([m[pf.KEY_SEQ] for m, _ in out], [2, 3])
        self.assertEqual(rx.n_associations, 1)
        self.assertGreaterEqual(rx.n_no_association, 2)   # headers seen without one (re-searches count again)

    def test_005_backlog_shares_a_burst(self):
        """Messages queued together share bursts (max_messages each), one preamble and guard per burst."""
        from gnuradio.lgmtsc import header as H
        rng = np.random.default_rng(5)
        pays = [np.exp(2j * np.pi * rng.random(4 * n)).astype(np.complex64) for n in (3, 10, 1, 7, 5)]
        tx, x, tags = self.run_tx([pf.make_pdu(dict(META, seq=i, n_tokens=p.size // 4), p)
                                   for i, p in enumerate(pays)], max_messages=3)
        self.assertEqual((tx.n_sent, tx.n_messages, tx.n_associations), (3, 5, 1))
        f = frame.Frame()
        msgs = [f.parse_tx(dict(META, seq=i, n_tokens=p.size // 4), p)[1:] for i, p in enumerate(pays)]
        assoc = f.parse_tx(dict(META, seq=0, n_tokens=3), pays[0])[0]
        ref = np.concatenate([f.association_burst(assoc), f.messages_burst(msgs[:3]), f.messages_burst(msgs[3:])])
        np.testing.assert_allclose(x, ref, atol=1e-6)
        self.assertEqual(len(tags), 6)
        # one burst of 3 messages: one preamble, 3 x (header + tag) + payloads, pilots, one guard
        n3 = 3 * (f.n_hdr + H.TAG_USES) + sum(p.size for p in pays[:3])
        self.assertEqual(f.messages_symbols([p.size for p in pays[:3]]), f.burst_symbols(0, n3))
        self.assertLess(f.messages_symbols([p.size for p in pays[:3]]),
                        sum(f.burst_symbols(p.size) for p in pays[:3]) - 2 * f.n_pre)
        # two messages: their two headers, then tag block and payload of each
        b = f.messages_burst(msgs[:2])
        self.assertEqual(b.size, f.burst_samples(0, 2 * (f.n_hdr + H.TAG_USES) + pays[0].size + pays[1].size)
                         + f.guard_samples(2 * (f.n_hdr + H.TAG_USES) + pays[0].size + pays[1].size))
        for bad in (0, H.MAX_MESSAGES + 1):
            with self.assertRaises(ValueError):
                burst_tx(max_messages=bad)

    def test_007_short_preamble(self):
        """A PDU may ask for the short preamble: its burst is the short frame's; long and short messages never
        share a burst; the association burst keeps the long preamble; a bad value is a malformed PDU."""
        from gnuradio.lgmtsc.waveform import PREAMBLES
        rng = np.random.default_rng(7)
        pays = [np.exp(2j * np.pi * rng.random(4 * n)).astype(np.complex64) for n in (3, 5, 2)]
        kinds = [pf.PREAMBLE_SHORT, pf.PREAMBLE_SHORT, pf.PREAMBLE_LONG]
        pdus = [pf.make_pdu(dict(META, seq=i, n_tokens=p.size // 4, preamble=k), p)
                for i, (p, k) in enumerate(zip(pays, kinds))]
        pdus.append(pf.make_pdu(dict(META, seq=3, n_tokens=1, preamble="medium"), pays[0][:4]))
        tx, x, tags = self.run_tx(pdus, max_messages=3)
        self.assertEqual((tx.n_sent, tx.n_messages, tx.n_associations, tx.n_dropped), (3, 3, 1, 1))
        long_f, short_f = frame.Frame(), frame.Frame(**PREAMBLES[pf.PREAMBLE_SHORT])
        msgs = [long_f.parse_tx(dict(META, seq=i, n_tokens=p.size // 4), p)[1:] for i, p in enumerate(pays)]
        assoc = long_f.parse_tx(dict(META, seq=0, n_tokens=3), pays[0])[0]
        ref = np.concatenate([long_f.association_burst(assoc), short_f.messages_burst(msgs[:2]),
                              long_f.messages_burst(msgs[2:])])
        np.testing.assert_allclose(x, ref, atol=1e-6)
        self.assertEqual(long_f.n_pre - short_f.n_pre, 222 - 86)

    def test_002_malformed_dropped(self):
        bad = [pmt.intern("junk"),
               pf.make_pdu({"mode": "semantic"}, np.ones(4, np.complex64)),          # missing keys
               pf.make_pdu(dict(META, prompt_class=7), np.ones(4, np.complex64)),    # bad value
               pf.make_pdu(dict(META, mode="digital"), np.ones(4, np.complex64)),    # wrong payload type
               pf.make_pdu(META, np.array([np.nan], np.complex64)),
               pf.make_pdu(dict(META, auth_tag=1 << 32), np.ones(4, np.complex64)),  # tag too long
               pf.make_pdu(dict(META, n_tokens=3), np.ones(4, np.complex64)),      # 4 symbols are not 3 tokens
               pf.make_pdu(dict(META, mode="digital"), np.arange(10, dtype=np.uint8)),  # n_tokens != bytes
               pf.make_pdu(dict(META, mode="digital", n_tokens=10), np.arange(10, dtype=np.uint8))]  # good
        tx, x, tags = self.run_tx(bad)
        self.assertEqual(tx.n_dropped, 8)
        self.assertEqual(tx.n_sent, 2)          # the association, then the message
        self.assertEqual(len(tags), 4)

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
