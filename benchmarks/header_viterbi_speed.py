"""Speed of the header codes' wrap-around Viterbi (``TailBitingCode.decode``) against the plain reference decoder
kept in gr-lgmtsc's qa_header.py (the implementation before the vectorised one, which ctest checks it matches bit
for bit).

CPU time per call (best of ``--repeat`` runs, process time so that other processes' load counts less), for the
batch sizes the receiver uses (1: a header's first hypothesis, the association and the tag; 4: the other CFO slope
hypotheses) and larger ones (the benchmarks' batches). The machine's load average is recorded with the numbers.
``--fuzz-cases N`` also runs N cases of benchmarks/fuzz_burst_rx.py (seed 0) through the receiver with the reference
decoder patched in and with the current one, and compares their CPU time and results (which must be equal).

    nice -n 19 python benchmarks/header_viterbi_speed.py [--repeat 5] [--fuzz-cases 2000]
        [--out out/bench/header_viterbi_speed]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # as benchmarks/fuzz_burst_rx.py runs

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from gnuradio.lgmtsc import header as H  # noqa: E402


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _reference():
    return _load("qa_header", ROOT / "gr-lgmtsc/python/lgmtsc/qa_header.py").reference_decode


def fuzz_comparison(n_cases: int) -> dict:
    """The fuzzer's first n_cases (seed 0) with the reference decoder, then with the current one."""
    fuzz = _load("fuzz_burst_rx", ROOT / "benchmarks/fuzz_burst_rx.py")
    reference = _reference()
    current = H.TailBitingCode.decode
    out = {}
    for name, decode in (("reference", lambda self, llr: reference(self, llr)), ("current", current)):
        H.TailBitingCode.decode = decode
        try:
            t = time.process_time()
            res = fuzz.run(n_cases, 0, every=n_cases, progress=lambda m: None)
            out[name] = {"cpu_s": round(time.process_time() - t, 2), "counts": res["counts"],
                         "per_kind": res["per_kind"], "rx_counters": res["rx_counters"]}
        finally:
            H.TailBitingCode.decode = current
        print("fuzz %d cases, %-9s decoder: %.1f CPU s, %.1f cases per CPU s"
              % (n_cases, name, out[name]["cpu_s"], n_cases / out[name]["cpu_s"]))
    r, c = out["reference"], out["current"]
    out["same_results"] = all(r[k] == c[k] for k in ("counts", "per_kind", "rx_counters"))
    out["speedup"] = round(r["cpu_s"] / c["cpu_s"], 2)
    print("fuzz speed-up x%.2f, same results: %s" % (out["speedup"], out["same_results"]))
    return out


def cpu_per_call(fn, args, calls: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        for _ in range(calls):
            fn(*args)
        best = min(best, (time.process_time() - t) / calls)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--fuzz-cases", type=int, default=0, help="also compare the burst-receiver fuzz rate")
    ap.add_argument("--out", type=Path, default=Path("out/bench/header_viterbi_speed"))
    a = ap.parse_args()
    reference = _reference()
    rng = np.random.default_rng(0)
    rows = []
    load = [os.getloadavg()]
    cases = [("header", H.HEADER_CODE, 48, B) for B in (1, 4, 16, 256)] + \
        [("association", H.HEADER_CODE, 136, 1), ("tag", H.TAG_CODE, 32, 1)]
    for name, code, k, B in cases:
        llr = rng.standard_normal((B, k * code.n)) * 2
        calls = max(2, 64 // B)
        same = all(np.array_equal(x, y) for x, y in zip(code.decode(llr), reference(code, llr)))
        ref = cpu_per_call(reference, (code, llr), calls, a.repeat)
        new = cpu_per_call(code.decode, (llr,), calls, a.repeat)
        rows.append({"code": name, "bits": k, "batch": B, "reference_ms": round(ref * 1e3, 3),
                     "decode_ms": round(new * 1e3, 3), "speedup": round(ref / new, 2), "bit_identical": same})
        print("%-11s k=%3d B=%3d  reference %8.3f ms  now %8.3f ms  x%.2f  identical %s"
              % (name, k, B, ref * 1e3, new * 1e3, ref / new, same))
    fuzz = fuzz_comparison(a.fuzz_cases) if a.fuzz_cases else None
    load.append(os.getloadavg())
    print("load average before/after:", load)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "header_viterbi_speed.json").write_text(json.dumps({"rows": rows, "fuzz": fuzz, "load": load,
                                                                "blas_threads": os.environ.get(
                                                                    "OPENBLAS_NUM_THREADS")}, indent=1))
    return 0 if all(r["bit_identical"] for r in rows) and (fuzz is None or fuzz["same_results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
