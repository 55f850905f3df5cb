"""The sweep engine at scale: 200 codec cells (10 SNRs x 2 channels x 10 seeds, 5 held-out messages each) on
2 local worker processes and on a local Ray instance with 2 CPUs; same results required, wall times reported.

    nice -n 10 python benchmarks/eval_sweep_scale.py [--out out/bench/eval_sweep_scale]
    (docs cite benchmarks/eval_results/sweep_scale: pass it as --out to refresh them)

Writes ``<out>/local_cells.jsonl``, ``<out>/ray_cells.jsonl`` and ``<out>/sweep_scale.json``. Existing results
files are removed first (the point is to time a full run); the sweep's resumption is tested in tests/evaluation.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from host_pipeline.evaluation.sweep import Sweep, results_by_params, run_sweep


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/bench/eval_sweep_scale")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sweep = Sweep("sweep_scale", "host_pipeline.evaluation.codec_cell:codec_cell",
                  {"snr_db": [-6.0, -4.0, -2.0, 0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 15.0], "channel": ["awgn", "rayleigh"]},
                  list(range(10)), {"n": 5, "checkpoint": "minilm-l6-u16"})
    report = {"cells": len(sweep.cells()), "workers": args.workers, "load_before": os.getloadavg()[0],
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}
    results = {}
    for name, ray in (("local", None), ("ray", "local")):
        path = out / f"{name}_cells.jsonl"
        path.unlink(missing_ok=True)
        t0 = time.perf_counter()
        results[name] = results_by_params(run_sweep(sweep, path, workers=args.workers, ray_address=ray))
        report[f"{name}_wall_s"] = round(time.perf_counter() - t0, 1)
        report[f"{name}_load_after"] = os.getloadavg()[0]
    report["identical"] = results["local"] == results["ray"] and len(results["local"]) == report["cells"]
    (out / "sweep_scale.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return 0 if report["identical"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
