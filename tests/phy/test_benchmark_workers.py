"""The PHY benchmarks' workers still speak the current air format (phy_ber.py lost every burst for a day after the
link association was introduced, and its digital metadata lacked n_tokens)."""

from __future__ import annotations

import sys

from host_pipeline.paths import REPO_ROOT


def test_ber_worker_receives_clean_bursts_and_counts_errors_of_uncoded_ones():
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    try:
        from phy_common import run_digital_bursts
    finally:
        sys.path.remove(str(REPO_ROOT / "benchmarks"))
    coded = run_digital_bursts((1, 4, 100, "qpsk", "cc", 8.0, False))
    assert coded["lost"] == 0 and coded["frames"] == 4 and coded["errors"] == 0
    uncoded = run_digital_bursts((2, 4, 100, "qpsk", "none", 3.0, False))
    assert uncoded["lost"] == 0 and 0 < uncoded["errors"] < 0.2 * uncoded["bits"]
