"""Speed of the header codes' wrap-around Viterbi (``TailBitingCode.decode``) against the plain reference decoder
kept in gr-lgmtsc's qa_header.py (the implementation before the vectorised one, which ctest checks it matches bit
for bit).

CPU time per call (best of ``--repeat`` runs, process time so that other processes' load counts less), for the
batch sizes the receiver uses (1: a header's first hypothesis, the association and the tag; 4: the other CFO slope
hypotheses) and larger ones (the benchmarks' batches). The machine's load average is recorded with the numbers.

    nice -n 19 python benchmarks/header_viterbi_speed.py [--repeat 5] [--out out/bench/header_viterbi_speed]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from gnuradio.lgmtsc import header as H  # noqa: E402


def _reference():
    spec = importlib.util.spec_from_file_location("qa_header", ROOT / "gr-lgmtsc/python/lgmtsc/qa_header.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.reference_decode


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
    load.append(os.getloadavg())
    print("load average before/after:", load)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "header_viterbi_speed.json").write_text(json.dumps({"rows": rows, "load": load}, indent=1))
    return 0 if all(r["bit_identical"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
