#!/usr/bin/env python3
#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""pdu_pull_source: malformed, nested, oversized and non-PDU messages over ZeroMQ are dropped and counted; the
good PDUs around them come out, and the flowgraph keeps running."""

import time

import numpy as np
import pmt
import zmq
from gnuradio import blocks, gr, gr_unittest

try:
    from gnuradio.lgmtsc import pdu_format as pf
    from gnuradio.lgmtsc import pdu_pull_source
    from gnuradio.lgmtsc.pdu_pull_source import wire_ok
except ImportError:
    import os
    import sys
    sys.path.append(os.path.join(os.path.dirname(__file__), "..", ".."))
    from gnuradio.lgmtsc import pdu_format as pf
    from gnuradio.lgmtsc import pdu_pull_source
    from gnuradio.lgmtsc.pdu_pull_source import wire_ok

META = dict(version=pf.FORMAT_VERSION, mode="semantic", sender_id=7, seq=1, n_tokens=4, prompt_class=2, auth_tag=5)


def good(seq, n=16):
    return pmt.serialize_str(pf.make_pdu(dict(META, seq=seq, n_tokens=n // 4),
                                         np.exp(2j * np.pi * np.arange(n) / 7).astype(np.complex64)))


def wait_for(cond, timeout=5.0):
    t = time.time() + timeout
    while not cond() and time.time() < t:
        time.sleep(0.02)
    return cond()


class qa_pdu_pull_source(gr_unittest.TestCase):

    def setUp(self):
        self.tb = gr.top_block()
        self.src = pdu_pull_source("tcp://127.0.0.1:*", max_msg_size=1 << 20)
        self.dbg = blocks.message_debug()
        self.tb.msg_connect(self.src, "out", self.dbg, "store")
        self.ctx = zmq.Context()
        self.socks = []

    def tearDown(self):
        for s in self.socks:
            s.close(0)
        self.ctx.term()
        self.tb = None

    def push(self):
        s = self.ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.src.last_endpoint)
        self.socks.append(s)
        return s

    def test_001_bombs_dropped_good_pdus_posted(self):
        rng = np.random.default_rng(1)
        g = good(2)
        bad = [bytes([0x0A, 9]) + (1 << 28).to_bytes(4, "big") + b"\x01\x00",  # claims 2**28 c32 items: 2 GiB
               bytes([7, 6]) * 200_000 + b"\x06",  # 200,000 nested pairs (400 kB): a stack overflow when freed
               b"", rng.bytes(300), g[:-1], g + b"\x00", g[: len(g) // 2],
               bytes([8]) + (1 << 31).to_bytes(4, "big")]  # a vector claiming 2**31 items
        not_pdus = [pmt.serialize_str(pmt.from_long(3)), pmt.serialize_str(pmt.cons(pmt.intern("a"), pmt.PMT_NIL)),
                    pmt.serialize_str(pmt.cons(pmt.make_dict(), pmt.make_vector(2, pmt.PMT_T)))]
        self.assertFalse(any(wire_ok(b) for b in bad))
        self.tb.start()
        try:
            s = self.push()
            s.send(good(1))
            for b in bad + not_pdus:
                s.send(b)
            self.assertTrue(wait_for(lambda: sum(self.src.counts().values()) == 1 + len(bad) + len(not_pdus)),
                            self.src.counts())
            big = self.push()  # larger than max_msg_size: ZeroMQ drops the message and this peer
            big.send(good(3, n=(2 << 20) // 8))
            time.sleep(0.3)
            self.push().send(g)  # a new peer after all that
            self.assertTrue(wait_for(lambda: self.dbg.num_messages() == 2))
            time.sleep(0.2)
        finally:
            self.tb.stop()
            self.tb.wait()
        self.assertEqual(self.src.counts(), {"posted": 2, "malformed": len(bad), "not_a_pdu": len(not_pdus)})
        self.assertEqual(self.dbg.num_messages(), 2)
        got = [pf.parse_pdu(self.dbg.get_message(i)) for i in range(2)]
        self.assertEqual([m["seq"] for m, _ in got], [1, 2])
        self.assertTrue(np.allclose(got[1][1], np.exp(2j * np.pi * np.arange(16) / 7)))

    def test_003_fresh_symbols_are_bounded(self):
        # pmt never frees an interned symbol: a stream of new names would grow the process without end
        seen = set()

        def msg(*names):
            d = pmt.make_dict()
            for k in names:
                d = pmt.dict_add(d, pmt.intern(k), pmt.from_long(1))
            return pmt.serialize_str(pmt.cons(d, pmt.init_u8vector(1, [0])))

        self.assertTrue(wire_ok(msg("mode", "seq"), symbols=seen, max_symbols=3))
        self.assertTrue(wire_ok(msg("seq", "sender_id"), symbols=seen, max_symbols=3))
        self.assertEqual(seen, {b"mode", b"seq", b"sender_id"})
        self.assertFalse(wire_ok(msg("seq", "fresh"), symbols=seen, max_symbols=3))  # a 4th name: refused
        self.assertTrue(wire_ok(msg("mode", "sender_id", "seq"), symbols=seen, max_symbols=3))  # known ones pass
        self.assertFalse(wire_ok(msg("x" * 300), symbols=set()))  # too long a name
        self.assertTrue(wire_ok(msg("x" * 300), symbols=None))

    def test_002_bad_address_fails_when_built(self):
        with self.assertRaises(ValueError):
            pdu_pull_source("tcp://256.0.0.1:5550")


if __name__ == "__main__":
    gr_unittest.run(qa_pdu_pull_source)
