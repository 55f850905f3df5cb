#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""AWGN channel set by Es/N0 in dB (channels.channel_model), with CFO and timing offset."""

import numpy as np
from gnuradio import gr, channels


def noise_voltage(esn0_db, sps, signal_power=1.0):
    """Complex noise std per sample giving Es/N0 = esn0_db for a signal of
    ``signal_power`` per sample at ``sps`` samples/symbol (Es = signal_power*sps,
    N0 = noise variance per complex sample)."""
    return float(np.sqrt(signal_power * sps * 10.0 ** (-esn0_db / 10.0)))


class awgn_channel(gr.hier_block2):
    """y = x * exp(j 2 pi cfo n) (resampled by epsilon) + n,  n ~ CN(0, noise_voltage^2).

    esn0_db: symbol Es/N0 after matched filtering; cfo: cycles/sample;
    epsilon: sample-rate ratio (1.0 = none); seed: noise seed.
    """

    def __init__(self, esn0_db=20.0, sps=4, signal_power=1.0, cfo=0.0, epsilon=1.0, seed=0):
        gr.hier_block2.__init__(self, "lgmtsc_awgn_channel",
                                gr.io_signature(1, 1, gr.sizeof_gr_complex),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex))
        self.sps, self.signal_power = sps, signal_power
        self.esn0_db = esn0_db
        self.chan = channels.channel_model(noise_voltage=noise_voltage(esn0_db, sps, signal_power),
                                           frequency_offset=cfo, epsilon=epsilon, taps=[1.0 + 0j],
                                           noise_seed=seed, block_tags=False)
        self.connect(self, self.chan, self)

    def set_esn0_db(self, esn0_db):
        self.esn0_db = esn0_db
        self.chan.set_noise_voltage(noise_voltage(esn0_db, self.sps, self.signal_power))

    def set_cfo(self, cfo):
        self.chan.set_frequency_offset(cfo)
