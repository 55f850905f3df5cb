#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""numpy channel for Monte-Carlo scripts (same Es/N0 mapping as awgn_channel)."""

import numpy as np


def noise_voltage(esn0_db, sps, signal_power=1.0):
    return float(np.sqrt(signal_power * sps * 10.0 ** (-esn0_db / 10.0)))


def awgn(x, esn0_db, sps, rng, signal_power=1.0):
    s = noise_voltage(esn0_db, sps, signal_power) / np.sqrt(2)
    return x + s * (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size))


def cfo(x, f, phase=0.0, n0=0):
    return x * np.exp(1j * (2 * np.pi * f * (np.arange(x.size) + n0) + phase))


def delay(x, d):
    """Delay by d samples (fractional, FFT based; x should end in zeros)."""
    n = x.size
    nf = 1 << int(np.ceil(np.log2(n + int(np.ceil(d)) + 64)))
    X = np.fft.fft(x, nf)
    k = np.fft.fftfreq(nf)
    y = np.fft.ifft(X * np.exp(-2j * np.pi * k * d))
    return y[:n + int(np.ceil(d))]


def channel(x, rng, esn0_db=None, sps=4, cfo_=0.0, delay_=0.0, h=None, lead=0):
    """x -> [zeros(lead)] + (taps h) + delay + cfo + AWGN. h: complex taps at sample spacing."""
    y = np.concatenate([np.zeros(lead, complex), np.asarray(x, complex)])
    if h is not None:
        y = np.convolve(y, h)
    if delay_:
        y = delay(y, delay_)
    if cfo_:
        y = cfo(y, cfo_, rng.uniform(0, 2 * np.pi))
    if esn0_db is not None:
        y = awgn(y, esn0_db, sps, rng)
    return y.astype(np.complex64)
