#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""AWGN channel set by Es/N0 in dB (channels.channel_model), with CFO and timing offset."""

import numpy as np
from gnuradio import analog, blocks, channels, gr


def noise_voltage(esn0_db, sps, signal_power=1.0):
    """Complex noise std per sample giving Es/N0 = esn0_db for a signal of
    ``signal_power`` per sample at ``sps`` samples/symbol (Es = signal_power*sps,
    N0 = noise variance per complex sample)."""
    return float(np.sqrt(signal_power * sps * 10.0 ** (-esn0_db / 10.0)))


class awgn_channel(gr.hier_block2):
    """y = x * exp(j 2 pi cfo n) (resampled by epsilon) + n,  n ~ CN(0, noise_voltage^2).

    esn0_db: symbol Es/N0 after matched filtering; cfo: cycles/sample;
    epsilon: sample-rate ratio (1.0 = none); seed: noise seed (0 = from the clock).
    CFO and timing come from channels.channel_model; the noise from analog.noise_source_c
    (exact Gaussian: channel_model's fast_noise_source draws from a pool of 8192 values,
    which misrepresents the tails that set the BER at high SNR).
    """

    def __init__(self, esn0_db=20.0, sps=4, signal_power=1.0, cfo=0.0, epsilon=1.0, seed=0):
        gr.hier_block2.__init__(self, "lgmtsc_awgn_channel",
                                gr.io_signature(1, 1, gr.sizeof_gr_complex),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex))
        self.sps, self.signal_power = sps, signal_power
        self.esn0_db = esn0_db
        self.chan = channels.channel_model(noise_voltage=0.0, frequency_offset=cfo, epsilon=epsilon,
                                           taps=[1.0 + 0j], noise_seed=seed, block_tags=False)
        self.noise = analog.noise_source_c(analog.GR_GAUSSIAN,
                                           noise_voltage(esn0_db, sps, signal_power), seed)
        self.add = blocks.add_cc()
        self.connect(self, self.chan, (self.add, 0))
        self.connect(self.noise, (self.add, 1))
        self.connect(self.add, self)

    def set_esn0_db(self, esn0_db):
        self.esn0_db = esn0_db
        self.noise.set_amplitude(noise_voltage(esn0_db, self.sps, self.signal_power))

    def set_cfo(self, cfo):
        self.chan.set_frequency_offset(cfo)
