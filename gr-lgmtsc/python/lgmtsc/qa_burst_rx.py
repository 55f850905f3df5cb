#!/usr/bin/env python3
#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""burst_rx: loopback through burst_tx (flowgraph), header checks, detection, fuzz."""

import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest
from gnuradio.lgmtsc import awgn_channel, burst_rx, burst_tx, frame, rayleigh_channel, sim
from gnuradio.lgmtsc import pdu_format as pf
from gnuradio.lgmtsc.waveform import PREAMBLES, TRIGGER_THRESHOLDS

META = dict(version=pf.FORMAT_VERSION, mode="semantic", sender_id=513, seq=70000, n_tokens=4, prompt_class=2,
            auth_tag=0xFEDCBA98)
DONE = pmt.cons(pmt.intern("done"), pmt.from_long(1))


def _pdus(dbg):
    return [pf.parse_pdu(dbg.get_message(i)) for i in range(dbg.num_messages())]


class qa_burst_rx(gr_unittest.TestCase):

    def setUp(self):
        self.tb = gr.top_block()

    def tearDown(self):
        self.tb = None

    def loopback(self, pdus, chan=None, lead=0, **txkw):
        tx, rx = burst_tx(**txkw), burst_rx(calibration="none")
        self.last_tx, self.last_rx = tx, rx
        dbg, snr = blocks.message_debug(), blocks.message_debug()
        lead_src = blocks.vector_source_c(np.zeros(lead, np.complex64))
        cat = blocks.stream_mux(gr.sizeof_gr_complex, [lead, 10 ** 9]) if lead else None
        src = tx
        if cat is not None:
            self.tb.connect(lead_src, (cat, 0))
            self.tb.connect(tx, (cat, 1))
            src = cat
        if chan is not None:
            self.tb.connect(src, chan, rx)
        else:
            self.tb.connect(src, rx)
        self.tb.msg_connect(rx, "pdus", dbg, "store")
        self.tb.msg_connect(rx, "snr", snr, "store")
        for p in pdus:
            tx.to_basic_block()._post(pmt.intern("in"), p)
        tx.to_basic_block()._post(pmt.intern("system"), DONE)
        self.tb.run()
        return _pdus(dbg), _pdus(snr)

    def test_001_noiseless_semantic(self):
        rng = np.random.default_rng(11)
        pays = [(rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64) / np.sqrt(2)
                for n in (256, 1000, 37)]
        out, snr = self.loopback([pf.make_pdu(dict(META, seq=i, n_tokens=p.size), p) for i, p in enumerate(pays)],
                                 lead=1234)
        self.assertEqual(len(out), 3)
        for i, (m, p) in enumerate(out):
            for k in pf.REQUIRED_TX_KEYS:
                if k not in (pf.KEY_SEQ, pf.KEY_MODE, pf.KEY_N_TOKENS):
                    self.assertEqual(m[k], META[k], k)
            self.assertEqual(m[pf.KEY_N_TOKENS], pays[i].size)
            self.assertEqual(m[pf.KEY_SEQ], i)
            self.assertEqual(m[pf.KEY_MODE], "semantic")
            self.assertEqual(p.size, pays[i].size)
            self.assertLess(np.max(np.abs(p - pays[i])), 1e-5)
            self.assertEqual(m[pf.KEY_NOISE_VAR].size, p.size)
            self.assertGreater(m[pf.KEY_SNR_DB], 40)
        f = frame.Frame()   # the first message follows the association burst
        _, assoc = f.build_burst(dict(META, n_tokens=256), pays[0])
        self.assertEqual(out[0][0][pf.KEY_SAMPLE_OFFSET], 1234 + f.association_burst(assoc).size)
        self.assertEqual([s[0][pf.KEY_SEQ] for s in snr], [0, 1, 2])

    def test_002_digital_awgn(self):
        rng = np.random.default_rng(12)
        pdus, datas = [], []
        for mod, fec in (("bpsk", "none"), ("qpsk", "cc"), ("16qam", "ldpc"), ("qpsk", "ldpc")):
            d = rng.integers(0, 256, 200, dtype=np.uint8)
            datas.append(d)
            pdus.append(pf.make_pdu(dict(META, mode="digital", modulation=mod, fec=fec, n_tokens=200), d))
        out, _ = self.loopback(pdus, chan=awgn_channel(esn0_db=18.0, cfo=0.003, seed=5))
        self.assertEqual(len(out), 4)
        for (m, p), d in zip(out, datas):
            self.assertTrue(m[pf.KEY_CRC_OK])
            np.testing.assert_array_equal(p, d)
            self.assertAlmostEqual(m[pf.KEY_CFO], 0.003, delta=2e-4)
            self.assertAlmostEqual(m[pf.KEY_SNR_DB], 18.0, delta=2.0)

    def test_002b_digital_without_crc(self):
        """A link without the payload CRC (the host's): the association says so, the payload is 4 bytes shorter
        on air, the bytes come out without ``crc_ok`` and with the link's text model."""
        f = frame.Frame()
        d = np.random.default_rng(13).integers(0, 256, 40, dtype=np.uint8)
        meta = dict(META, mode="digital", modulation="qpsk", fec="cc", n_tokens=40, payload_crc=False,
                    text_model=0xBEEF)
        self.assertEqual(f.digital_n_symbols(40, "qpsk", "cc", False) + 32, f.digital_n_symbols(40, "qpsk", "cc"))
        out, _ = self.loopback([pf.make_pdu(meta, d)], chan=awgn_channel(esn0_db=10.0, cfo=-0.002, seed=8))
        self.assertEqual(len(out), 1)
        m, p = out[0]
        np.testing.assert_array_equal(p, d)
        self.assertNotIn(pf.KEY_CRC_OK, m)
        self.assertEqual((m[pf.KEY_PAYLOAD_CRC], m[pf.KEY_TEXT_MODEL]), (False, 0xBEEF))

    def test_003_crc_failure_reported(self):
        f = frame.Frame()
        data = bytes(range(100))
        x, assoc = f.build_burst(dict(META, mode="digital", fec="none", modulation="qpsk", n_tokens=100),
                                 np.frombuffer(data, np.uint8))
        rng = np.random.default_rng(3)
        y = sim.channel(x, rng, 8.0, lead=500)   # uncoded QPSK at 8 dB: bit errors, CRC fails
        out = frame.Receiver(f, association=assoc).feed(y)
        self.assertEqual(len(out), 1)
        self.assertFalse(out[0][0][pf.KEY_CRC_OK])

    def test_004_detection_cfo_timing(self):
        f = frame.Frame()
        rng = np.random.default_rng(4)
        ok = 0
        for i in range(20):
            pay = np.exp(2j * np.pi * rng.random(300))
            x, assoc = f.build_burst(dict(META, seq=i, n_tokens=300), pay)
            y = sim.channel(x, rng, 0.0, cfo_=rng.uniform(-0.01, 0.01), delay_=rng.uniform(0, 50),
                            lead=int(rng.integers(100, 3000)))
            y = np.concatenate([y, sim.awgn(np.zeros(1000), 0.0, 4, rng).astype(np.complex64)])
            out = frame.Receiver(f, association=assoc).feed(y)
            ok += len(out) == 1 and out[0][0][pf.KEY_SEQ] == i
        self.assertGreaterEqual(ok, 19)

    def test_005_header_corruption_caught(self):
        """Every 1-3 bit error of a header is caught (CRC-24); random words pass at the CRC's rate."""
        from gnuradio.lgmtsc import header as H
        raw = H.Header(H.Kind.SEMANTIC, 70000, 10, H.PromptClass.LOW).pack()
        self.assertEqual(H.Header.unpack(raw, 70003).seq, 70000)
        rng = np.random.default_rng(5)
        for _ in range(300):
            b = raw.copy()
            b[rng.choice(b.size, int(rng.integers(1, 4)), replace=False)] ^= 1
            self.assertIsNone(H.Header.unpack(b))
        words = rng.integers(0, 2, (200000, H.HEADER_BITS), dtype=np.uint8)
        self.assertLessEqual(int(H.Header.check(words).sum()), 1)   # expected 200000 * 2^-24 * 3/8 = 0.004

    def test_006_fuzz_never_crashes(self):
        f = frame.Frame()
        rng = np.random.default_rng(6)
        x, assoc = f.build_burst(dict(META, n_tokens=500), np.ones(500, complex))
        rx = frame.Receiver(f, association=assoc)
        for i in range(30):
            kind = i % 3
            if kind == 0:
                y = (rng.standard_normal(5000) + 1j * rng.standard_normal(5000)) * 10 ** rng.uniform(-3, 3)
            elif kind == 1:
                y = x[:int(rng.integers(1, x.size))]          # truncated burst
            else:
                y = np.frombuffer(rng.bytes(8 * 4000), np.complex64).copy()  # raw bytes: NaN/inf too
                if i % 2:
                    y[:x.size // 2] = x[:x.size // 2]      # half a burst, then garbage
            with np.errstate(all="ignore"):
                for chunk in np.array_split(y.astype(np.complex64), int(rng.integers(1, 6))):
                    rx.feed(chunk)
        rx.feed(np.zeros(100000, np.complex64))
        out = rx.feed(sim.channel(x, rng, 20.0, lead=100))
        out += rx.feed(np.zeros(20000, np.complex64))
        self.assertEqual(len(out), 1)

    def test_007_default_calibration(self):
        from gnuradio.lgmtsc.snr_calibration import SnrCalibration
        cal = SnrCalibration.load()
        self.assertGreaterEqual(cal.raw.size, 10)
        self.assertTrue(np.all(np.diff(cal.raw) > 0))
        self.assertTrue(np.all(np.abs(cal.raw - cal.true) < 1.5))
        self.assertAlmostEqual(SnrCalibration.load("none").correct(7.0), 7.0)
        self.assertEqual(burst_rx().rx.cal.raw.size, cal.raw.size)

    def fading_run(self, chan, n=16, n_sym=2000):
        rng = np.random.default_rng(8)
        pays = [((rng.standard_normal(n_sym) + 1j * rng.standard_normal(n_sym)) / np.sqrt(2)).astype(np.complex64)
                for _ in range(n)]
        out, _ = self.loopback([pf.make_pdu(dict(META, seq=i, n_tokens=n_sym // 4), p) for i, p in enumerate(pays)],
                               chan=chan)
        ratio, mse = [], []
        for m, p in out:
            e = np.abs(p - pays[m[pf.KEY_SEQ]]) ** 2
            ratio.append(np.mean(e / m[pf.KEY_NOISE_VAR]))
            mse.append(np.mean(e))
        return len(out), np.array(ratio), np.array(mse)

    def test_008_flat_fading_csi(self):
        """Time-varying flat Rayleigh at 20 dB: all decoded, noise_var matches the real error."""
        n, ratio, _ = self.fading_run(rayleigh_channel(esn0_db=20.0, fd_ts=5e-5, seed=3))
        self.assertEqual(n, 16)
        self.assertAlmostEqual(float(np.mean(ratio)), 1.0, delta=0.2)

    def test_009_selective_fading(self):
        """3-path selective Rayleigh (0/1.5/3 samples) at 25 dB: decoded and equalised."""
        n, ratio, mse = self.fading_run(rayleigh_channel(esn0_db=25.0, fd_ts=1e-6, selective=True, seed=3))
        self.assertGreaterEqual(n, 15)
        self.assertLess(10 * np.log10(np.mean(mse)), -15.0)
        self.assertLess(float(np.mean(ratio)), 1.6)

    def test_010_other_sps(self):
        """Framing at sps 2, 3 and 8: noiseless recovery to 1e-5 with fractional delay and CFO."""
        rng = np.random.default_rng(10)
        for sps in (2, 3, 8):
            f = frame.Frame(sps=sps)
            pay = np.exp(2j * np.pi * rng.random(300))
            x, assoc = f.build_burst(dict(META, n_tokens=300), pay)
            y = sim.channel(x, rng, None, sps, delay_=0.37, lead=777)
            out = frame.Receiver(f, association=assoc).feed(np.concatenate([y, np.zeros(2000, np.complex64)]))
            self.assertEqual(len(out), 1, sps)
            self.assertLess(np.max(np.abs(out[0][1] - pay)), 1e-5, sps)

    def test_011_backlog_in_one_burst(self):
        """5 queued messages (one burst: 5 headers, 4 with ``more``) at Es/N0 8 dB with CFO: all out, in order."""
        rng = np.random.default_rng(11)
        pays = [np.exp(2j * np.pi * rng.random(4 * n)).astype(np.complex64) for n in (30, 2, 90, 11, 45)]
        out, snr = self.loopback([pf.make_pdu(dict(META, seq=70000 + i, n_tokens=p.size // 4), p)
                                  for i, p in enumerate(pays)], chan=awgn_channel(esn0_db=8.0, cfo=-0.004, seed=2))
        self.assertEqual(self.last_tx.n_sent, 2)            # the association, then one burst for all
        self.assertEqual([m[pf.KEY_SEQ] for m, _ in out], [70000 + i for i in range(5)])
        self.assertEqual(self.last_rx.rx.n_header_fail, 0)
        err = []
        for (m, p), ref in zip(out, pays):
            self.assertEqual(m[pf.KEY_AUTH_TAG], META[pf.KEY_AUTH_TAG])
            self.assertEqual(p.size, ref.size)
            self.assertEqual(m[pf.KEY_NOISE_VAR].size, ref.size)
            self.assertAlmostEqual(m[pf.KEY_SNR_DB], 8.0, delta=1.5)
            err.append(np.abs(p - ref) ** 2)
        self.assertLess(10 * np.log10(np.mean(np.concatenate(err))), -7.0)     # Es/N0 8 dB: about -8 dB
        self.assertEqual(len({m[pf.KEY_SAMPLE_OFFSET] for m, _ in out}), 1)

    def test_012_lost_later_header(self):
        """A burst whose second header is destroyed is lost whole (its layout is unknown), never misread; the
        next burst decodes. The body: the 3 headers, then each message's tag block and payload. Both formats."""
        for kind, pre in PREAMBLES.items():                 # both burst formats (robust and dense headers)
            f = frame.Frame(**pre)
            rng = np.random.default_rng(12)
            pays = [np.exp(2j * np.pi * rng.random(4 * n)) for n in (20, 20, 20)]
            msgs = [f.parse_tx(dict(META, seq=i, n_tokens=20), p)[1:] for i, p in enumerate(pays)]
            assoc = f.parse_tx(dict(META, seq=0, n_tokens=20), pays[0])[0]
            hdrs = [dataclass_more(h, i < 2).symbols(f.coding) for i, (h, _, _) in enumerate(msgs)]
            sym = np.concatenate(hdrs + [np.concatenate([f.coding.tag_symbols(t), s]) for _, t, s in msgs])
            np.testing.assert_allclose(f.burst(sym), f.messages_burst(msgs))      # the layout
            sym[f.n_hdr:2 * f.n_hdr] = np.exp(2j * np.pi * rng.random(f.n_hdr))    # the second header: garbage
            rx = frame.Receiver(f, threshold=TRIGGER_THRESHOLDS[kind], association=assoc)
            out = rx.feed(sim.channel(f.burst(sym), rng, 15.0, lead=300))
            out += rx.feed(sim.channel(f.messages_burst(msgs[1:]), rng, 15.0, lead=300))
            out += rx.feed(np.zeros(5000, np.complex64))
            self.assertEqual([m[pf.KEY_SEQ] for m, _ in out], [1, 2], kind)
            self.assertGreaterEqual(rx.n_header_fail, 1, kind)
            for (_, p), ref in zip(out, pays[1:]):
                self.assertLess(np.mean(np.abs(p - ref) ** 2), 2 * 10 ** -1.5, kind)     # Es/N0 15 dB
            with self.assertRaises(ValueError):
                f.messages_burst(msgs * 6)     # 18 > MAX_MESSAGES

    def test_014_short_and_long_preambles(self):
        """burst_rx receives both preambles in one stream at 12 dB with CFO: each message once, with its preamble
        named, the short ones decoded under the association the long receiver learnt."""
        rng = np.random.default_rng(14)
        kinds = [pf.PREAMBLE_SHORT, pf.PREAMBLE_LONG, pf.PREAMBLE_SHORT, pf.PREAMBLE_SHORT, pf.PREAMBLE_LONG]
        pays = [np.exp(2j * np.pi * rng.random(4 * 24)).astype(np.complex64) for _ in kinds]
        out, snr = self.loopback([pf.make_pdu(dict(META, seq=70000 + i, n_tokens=24, preamble=k), p)
                                  for i, (p, k) in enumerate(zip(pays, kinds))], lead=3000, max_messages=1,
                                 chan=awgn_channel(esn0_db=12.0, cfo=0.004, seed=14))
        self.assertEqual([m[pf.KEY_SEQ] for m, _ in out], [70000 + i for i in range(len(kinds))])
        self.assertEqual([m[pf.KEY_PREAMBLE] for m, _ in out], kinds)
        for (_, p), ref in zip(out, pays):
            self.assertLess(np.mean(np.abs(p - ref) ** 2), 0.2)
        self.assertEqual(len(snr), len(kinds))

    def test_015_backlog_on_the_short_preamble(self):
        """5 queued messages on the short preamble (dense headers and tags) at Es/N0 11 dB with CFO: one burst after
        the association, every message out in order with its tag and the short preamble named."""
        rng = np.random.default_rng(15)
        pays = [np.exp(2j * np.pi * rng.random(16 * n)).astype(np.complex64) for n in (6, 1, 20, 3, 9)]
        tags = [int(t) for t in rng.integers(0, 2 ** 32, len(pays))]
        out, snr = self.loopback([pf.make_pdu(dict(META, seq=70000 + i, n_tokens=p.size // 16, auth_tag=t,
                                                   preamble=pf.PREAMBLE_SHORT), p)
                                  for i, (p, t) in enumerate(zip(pays, tags))], lead=2000,
                                 chan=awgn_channel(esn0_db=11.0, cfo=0.003, seed=15))
        self.assertEqual(self.last_tx.n_sent, 2)            # the association (long), then one short burst for all
        self.assertEqual([m[pf.KEY_SEQ] for m, _ in out], [70000 + i for i in range(5)])
        self.assertEqual([m[pf.KEY_AUTH_TAG] for m, _ in out], tags)
        self.assertEqual({m[pf.KEY_PREAMBLE] for m, _ in out}, {pf.PREAMBLE_SHORT})
        self.assertEqual(self.last_rx.rx.n_header_fail, 0)
        for (_, p), ref in zip(out, pays):
            self.assertEqual(p.size, ref.size)
            self.assertLess(np.mean(np.abs(p - ref) ** 2), 0.2)

    def test_013_ltf_timing_under_coarse_cfo_error(self):
        """A coarse CFO off by 0.0025-0.0035 cycles/sample (0.6-0.9 bins of the LTF's Zadoff-Chu; the 0-dB
        coarse estimate's tail) must not move the LTF timing to the Zadoff-Chu's delay-Doppler peak 5 symbols
        away (the non-coherent search alone took it in every noiseless case), and the refined CFO is right."""
        f = frame.Frame()
        rng = np.random.default_rng(13)
        x = f.burst(np.exp(2j * np.pi * rng.random(200)))
        for esn0 in (None, 3.0):
            for err in (-0.0035, -0.0025, 0.0025, 0.0035):
                lead, cfo = int(rng.integers(400, 600)), rng.uniform(-0.006, 0.006)
                y = sim.channel(x, rng, esn0, cfo_=cfo, lead=lead).astype(complex)
                eps1 = cfo + err
                acq = f.acquire(y * np.exp(-2j * np.pi * eps1 * np.arange(y.size)), lead - 100, lead + 200, eps1)
                self.assertIsNotNone(acq)
                S, d_eps, _, frac = acq
                self.assertLessEqual(abs(S + frac - lead), 1.0, (esn0, err))
                self.assertLess(abs(eps1 + d_eps - cfo), 3e-4, (esn0, err))


def dataclass_more(hdr, more):
    import dataclasses
    return dataclasses.replace(hdr, more=more)


if __name__ == '__main__':
    gr_unittest.run(qa_burst_rx)
