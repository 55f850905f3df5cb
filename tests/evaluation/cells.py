"""A cheap, model-free sweep cell for the engine's tests: a seeded Monte-Carlo BPSK bit error rate."""

from __future__ import annotations

import time

import numpy as np


def bpsk_ber_cell(params: dict, seed: int) -> dict:
    """Bit error rate of uncoded BPSK over AWGN at ``snr_db`` (Eb/N0), ``bits`` seeded bits; optional sleep."""
    time.sleep(float(params.get("sleep_s", 0.0)))
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, int(params.get("bits", 20000)))
    n0 = 10 ** (-float(params["snr_db"]) / 10)
    y = (1 - 2 * bits) + rng.normal(0, np.sqrt(n0 / 2), bits.size)
    return {"ber": float(np.mean((y < 0) != bits.astype(bool)))}
