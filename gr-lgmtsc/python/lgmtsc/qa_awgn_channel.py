#!/usr/bin/env python3
#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""awgn_channel: Es/N0 -> noise-voltage mapping and measured noise power (1e6 samples)."""

import numpy as np
from gnuradio import analog, blocks, gr, gr_unittest
from gnuradio.lgmtsc import awgn_channel, noise_voltage


class qa_awgn_channel(gr_unittest.TestCase):

    def setUp(self):
        self.tb = gr.top_block()

    def tearDown(self):
        self.tb = None

    def test_001_mapping(self):
        self.assertAlmostEqual(noise_voltage(0.0, 4), 2.0)
        self.assertAlmostEqual(noise_voltage(10.0, 1), np.sqrt(0.1))
        self.assertAlmostEqual(noise_voltage(20.0, 8, 2.0), np.sqrt(0.16))

    def noise_power(self, esn0, sps, n=10 ** 6, **kw):
        src = blocks.null_source(gr.sizeof_gr_complex)
        head = blocks.head(gr.sizeof_gr_complex, n)
        ch = awgn_channel(esn0_db=esn0, sps=sps, seed=7, **kw)
        snk = blocks.vector_sink_c()
        self.tb = gr.top_block()
        self.tb.connect(src, head, ch, snk)
        self.tb.run()
        y = np.array(snk.data())
        return y

    def test_002_noise_power_within_2_percent(self):
        for esn0, sps in ((0.0, 4), (10.0, 2), (25.0, 8)):
            y = self.noise_power(esn0, sps)
            p = np.mean(np.abs(y) ** 2)
            theory = sps * 10 ** (-esn0 / 10)
            self.assertLess(abs(p / theory - 1), 0.02, (esn0, sps, p, theory))
            # circular: equal power in I and Q
            self.assertLess(abs(np.var(y.real) / np.var(y.imag) - 1), 0.02)

    def test_003_symbol_level_convention(self):
        """After matched filtering, per-real-dimension noise std = 1/sqrt(2*10^(EsN0/10))."""
        from gnuradio.lgmtsc import frame
        f = frame.Frame(sps=4)
        y = self.noise_power(6.0, 4, n=400000)
        mf = np.convolve(y, f.rrc)[::4] / np.sqrt(4)   # tx symbols carry sqrt(sps) gain
        std = np.std(mf.real)
        self.assertAlmostEqual(std / (1 / np.sqrt(2 * 10 ** 0.6)), 1.0, delta=0.02)

    def test_004_cfo(self):
        src = analog.sig_source_c(1.0, analog.GR_CONST_WAVE, 0, 1.0)
        head = blocks.head(gr.sizeof_gr_complex, 4096)
        ch = awgn_channel(esn0_db=200.0, sps=4, cfo=0.01)
        snk = blocks.vector_sink_c()
        self.tb.connect(src, head, ch, snk)
        self.tb.run()
        y = np.array(snk.data())
        f = np.angle(np.vdot(y[:-1], y[1:])) / (2 * np.pi)
        self.assertAlmostEqual(f, 0.01, places=5)


if __name__ == '__main__':
    gr_unittest.run(qa_awgn_channel)
