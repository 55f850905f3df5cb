#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Rayleigh fading (flat or frequency-selective) + AWGN set by average Es/N0 in dB."""

import numpy as np
from gnuradio import analog, blocks, channels, gr

from .awgn_channel import noise_voltage


class rayleigh_channel(gr.hier_block2):
    """channels.fading_model (flat) or selective_fading_model (``delays`` in samples,
    ``mags`` normalised to unit total power), channel_model for CFO, then exact Gaussian
    noise (analog.noise_source_c).

    fd_ts: normalised Doppler (max Doppler x sample period); esn0_db: average Es/N0
    (E|h|^2 = 1); seed: fading seed (noise seed = seed + 1).
    """

    def __init__(self, esn0_db=20.0, sps=4, signal_power=1.0, fd_ts=0.0, selective=False,
                 cfo=0.0, seed=0, delays=(0.0, 1.5, 3.0), mags=(1.0, 0.5, 0.25), n_sinusoids=8):
        gr.hier_block2.__init__(self, "lgmtsc_rayleigh_channel",
                                gr.io_signature(1, 1, gr.sizeof_gr_complex),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex))
        self.sps, self.signal_power = sps, signal_power
        if selective:
            m = np.asarray(mags, float)
            m = m / np.sqrt(np.sum(m ** 2))
            ntaps = int(np.ceil(max(delays))) + 8
            self.fading = channels.selective_fading_model(n_sinusoids, fd_ts, False, 0.0, seed,
                                                          list(map(float, delays)), list(m), ntaps)
        else:
            self.fading = channels.fading_model(n_sinusoids, fd_ts, False, 0.0, seed)
        self.chan = channels.channel_model(noise_voltage=0.0, frequency_offset=cfo, epsilon=1.0,
                                           taps=[1.0 + 0j], noise_seed=seed + 1, block_tags=False)
        self.noise = analog.noise_source_c(analog.GR_GAUSSIAN,
                                           noise_voltage(esn0_db, sps, signal_power), seed + 1)
        self.add = blocks.add_cc()
        self.connect(self, self.fading, self.chan, (self.add, 0))
        self.connect(self.noise, (self.add, 1))
        self.connect(self.add, self)

    def set_esn0_db(self, esn0_db):
        self.noise.set_amplitude(noise_voltage(esn0_db, self.sps, self.signal_power))
