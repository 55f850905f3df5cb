#!/usr/bin/env python3
#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""rayleigh_channel: unit mean fading power, Rayleigh envelope, noise level."""

import numpy as np
from gnuradio import analog, blocks, gr, gr_unittest
from gnuradio.lgmtsc import rayleigh_channel


class qa_rayleigh_channel(gr_unittest.TestCase):

    def run_ch(self, n, **kw):
        tb = gr.top_block()
        src = analog.sig_source_c(1.0, analog.GR_CONST_WAVE, 0, 1.0)
        head = blocks.head(gr.sizeof_gr_complex, n)
        ch = rayleigh_channel(**kw)
        snk = blocks.vector_sink_c()
        tb.connect(src, head, ch, snk)
        tb.run()
        return np.array(snk.data())

    def test_001_flat_statistics(self):
        y = self.run_ch(400000, esn0_db=300.0, sps=4, fd_ts=0.01, seed=3)
        p = np.abs(y) ** 2
        self.assertAlmostEqual(np.mean(p), 1.0, delta=0.1)
        # Rayleigh: |h|^2 exponential -> P(|h|^2 < 0.1) = 1 - exp(-0.1)
        self.assertAlmostEqual(np.mean(p < 0.1), 1 - np.exp(-0.1), delta=0.03)

    def test_002_selective_power(self):
        y = self.run_ch(400000, esn0_db=300.0, sps=4, fd_ts=0.01, selective=True, seed=4)
        self.assertAlmostEqual(np.mean(np.abs(y[100:]) ** 2), 1.0, delta=0.15)

    def test_003_noise(self):
        tb = gr.top_block()
        src = blocks.null_source(gr.sizeof_gr_complex)
        head = blocks.head(gr.sizeof_gr_complex, 200000)
        ch = rayleigh_channel(esn0_db=10.0, sps=4, fd_ts=0.001, seed=5)
        snk = blocks.vector_sink_c()
        tb.connect(src, head, ch, snk)
        tb.run()
        p = np.mean(np.abs(np.array(snk.data())) ** 2)
        self.assertAlmostEqual(p / 0.4, 1.0, delta=0.02)


if __name__ == '__main__':
    gr_unittest.run(qa_rayleigh_channel)
