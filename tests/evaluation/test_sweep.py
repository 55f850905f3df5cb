"""The sweep engine: cells and keys, local = Ray results, resumption after a kill, plots from the results file."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from math import erfc, sqrt

import pytest

from host_pipeline.evaluation.sweep import Sweep, cell_key, read_results, results_by_params, run_sweep
from host_pipeline.paths import REPO_ROOT

BER_TASK = "tests.evaluation.cells:bpsk_ber_cell"


def test_cells_are_the_grid_with_stable_keys_and_seeds():
    s = Sweep("t", BER_TASK, {"snr_db": [0, 4], "mode": ["a", "b", "c"]}, [0, 1], {"bits": 100})
    cells = s.cells()
    assert len(cells) == 12 and len({c.key for c in cells}) == 12
    again = {c.key: c.seed for c in Sweep("t", BER_TASK, {"mode": ["a", "b", "c"], "snr_db": [0, 4]}, [0, 1],
                                          {"bits": 100}).cells()}
    assert all(again[c.key] == c.seed for c in cells)  # grid order does not matter
    assert cell_key(BER_TASK, {"snr_db": 0}) != cell_key(BER_TASK, {"snr_db": 0.5})


def test_local_workers_give_the_single_process_results_and_real_ber(tmp_path):
    s = Sweep("ber", BER_TASK, {"snr_db": [0.0, 4.0]}, [0, 1, 2], {"bits": 40000})
    one = results_by_params(run_sweep(s, tmp_path / "one.jsonl", workers=1, progress=False))
    two = results_by_params(run_sweep(s, tmp_path / "two.jsonl", workers=2, progress=False))
    assert one == two and len(one) == 6
    for r in read_results(tmp_path / "one.jsonl"):
        theory = 0.5 * erfc(sqrt(10 ** (r["params"]["snr_db"] / 10)))
        assert abs(r["result"]["ber"] - theory) < 5 * sqrt(theory / 40000)


def test_sweep_killed_midway_resumes_without_recomputing(tmp_path):
    desc = tmp_path / "slow.toml"
    desc.write_text(f'name = "slow"\ntask = "{BER_TASK}"\nseeds = [0, 1, 2, 3, 4, 5]\n'
                    '[grid]\nsnr_db = [0.0, 2.0]\n[fixed]\nbits = 1000\nsleep_s = 0.4\n')
    results = tmp_path / "slow.jsonl"
    cmd = [sys.executable, "-m", "host_pipeline.cli", "eval", "sweep", str(desc), "--out", str(results),
           "--workers", "1", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while len(read_results(results)) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = read_results(results)
    assert 3 <= len(before) < 12, "the sweep should have been killed midway"
    res = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    after = read_results(results)
    assert len(after) == 12 and len({r["key"] for r in after}) == 12
    assert after[: len(before)] == before  # finished cells kept as they were (same timings: not recomputed)


def test_bad_sweep_description_is_one_line_config_error(tmp_path):
    desc = tmp_path / "bad.toml"
    desc.write_text('name = "x"\n[grid]\nsnr_db = [0]\n')
    res = subprocess.run([sys.executable, "-m", "host_pipeline.cli", "eval", "sweep", str(desc)], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "task" in res.stderr


def test_ray_local_gives_the_same_codec_results_as_local_processes(tmp_path):
    pytest.importorskip("ray")
    s = Sweep("codec", "host_pipeline.evaluation.codec_cell:codec_cell",
              {"channel": ["awgn", "rayleigh"], "snr_db": [0.0]}, [0, 1], {"n": 4})
    local = run_sweep(s, tmp_path / "local.jsonl", workers=2, progress=False)
    ray = run_sweep(s, tmp_path / "ray.jsonl", workers=2, ray_address="local", progress=False)
    assert results_by_params(local) == results_by_params(ray) and len(local) == 4
    acc = {(r["params"]["channel"], r["params"]["seed"]): r["result"]["token_accuracy"] for r in local}
    assert all(a > 0.85 for (c, _), a in acc.items() if c == "awgn")  # u16 at 0 dB AWGN: about 0.91
    assert acc[("awgn", 0)] != acc[("awgn", 1)] or acc[("rayleigh", 0)] != acc[("rayleigh", 1)]  # seeds differ


def test_a_cell_appended_twice_counts_once(tmp_path):
    path = tmp_path / "cells.jsonl"
    path.write_text('{"key": "a", "result": {"x": 1}}\n{"key": "b", "result": {"x": 2}}\n'
                    '{"key": "a", "result": {"x": 3}}\n{"key": "c", "res')  # two runs at once, one killed
    assert sorted((r["key"], r["result"]["x"]) for r in read_results(path)) == [("a", 3), ("b", 2)]
