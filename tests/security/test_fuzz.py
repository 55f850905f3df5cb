"""Seeded small versions of the fuzzing benchmarks (benchmarks/fuzz_burst_rx.py, benchmarks/fuzz_rx_host.py)."""

from __future__ import annotations

import importlib.util

import pytest

from host_pipeline.paths import REPO_ROOT


def _bench(name):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_burst_receiver_survives_random_truncated_and_corrupted_bursts():
    res = _bench("fuzz_burst_rx").run(50, seed=1, every=25, block=25, progress=lambda m: None)
    assert res["cases"] == 50 and not res["crashed"]
    assert res["counts"].get("misattributed", 0) == 0
    assert res["per_kind"]["genuine"].get("right_header", 0) >= 1  # the receiver still works between the junk
    assert res["max_rx_buf"] < 1 << 20  # the stream buffer is trimmed


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_receiver_pair_survives_fuzzing_with_both_preambles():
    """burst_rx's two receivers (long and short preamble) over the same fuzzed stream."""
    res = _bench("fuzz_burst_rx").run(120, seed=3, every=60, block=30, progress=lambda m: None, preambles="both")
    assert res["cases"] == 120 and not res["crashed"]
    assert res["counts"].get("misattributed", 0) == 0
    assert res["counts"].get("pdus_short_preamble", 0) >= 1  # short-preamble bursts come through the junk too
    assert res["max_rx_buf"] < 1 << 20


def test_receiver_host_survives_malformed_forged_and_replayed_pdus():
    res = _bench("fuzz_rx_host").run(100, seed=2, every=100, progress=lambda m: None)
    assert res["served_to_the_end"], res["host_error"]
    assert res["genuine"] >= 5 and res["genuine_ok"] == res["genuine"]  # every genuine message, exactly
    assert res["ok_not_genuine_or_wrong_text"] == 0 and res["ok_twice"] == 0  # nothing else passes as the sender
    assert res["bad_reports"] == 0 and res["verified_reports"] == res["genuine"]  # SNR fed back for those only
    kinds = res["kinds"]
    assert all(kinds.get(k, 0) > 0 for k in ("junk", "fields", "payload", "forged", "replay"))
