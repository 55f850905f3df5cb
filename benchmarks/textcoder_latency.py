"""Encode + decode time of the LM text coder on 15-word sentences, model loaded (target: under 2 s on 2 cores).

    nice -n 10 python benchmarks/textcoder_latency.py [--sentences 6] [--threads 1]

Takes the first 15-word evaluation sentences (transcripts, SMS, IMDB), times encode and decode of each with the
model already loaded, and appends one JSON line per run to textcoder_results/latency.jsonl with the machine's
load average (timings on a shared machine are only comparable at equal load).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see textcoder_roundtrip.py
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--out", default=str(ROOT / "out" / "bench" / "textcoder_latency.jsonl"))
    args = ap.parse_args()

    from host_pipeline.textcoder.coder import TextCoder
    from host_pipeline.textcoder.config import TextCoderConfig
    from host_pipeline.textcoder.corpus import evaluation_sentences

    coder = TextCoder.load(TextCoderConfig(coder="lm", lm_model=args.model, lm_threads=args.threads,
                                           fallback_static=False))
    lm = coder.lm_model()
    picked = [s for s in evaluation_sentences() if len(s.text.split()) == 15][: args.sentences]
    load_before = os.getloadavg()[0]
    rows = []
    for s in picked:
        t0 = time.perf_counter()
        msg = coder.encode(s.text, coder="lm")
        t1 = time.perf_counter()
        assert coder.decode(msg) == s.text
        t2 = time.perf_counter()
        rows.append({"id": s.id, "tokens": len(lm.tokenize(s.text)), "encode_s": t1 - t0, "decode_s": t2 - t1})
    total = [r["encode_s"] + r["decode_s"] for r in rows]
    tokens = sum(r["tokens"] for r in rows)
    result = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "model": args.model, "threads": args.threads,
              "sentences": len(rows), "median_encode_plus_decode_s": statistics.median(total),
              "max_encode_plus_decode_s": max(total), "median_tokens": statistics.median(r["tokens"] for r in rows),
              "tokens_per_s": 2 * tokens / sum(total), "load_average": [load_before, os.getloadavg()[0]],
              "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "a", encoding="utf-8") as f:
        f.write(json.dumps(result) + "\n")
    print(f"{args.model}, {args.threads} thread(s): 15-word sentences ({result['median_tokens']} tokens median), "
          f"encode+decode median {result['median_encode_plus_decode_s']:.2f} s, max "
          f"{result['max_encode_plus_decode_s']:.2f} s, {result['tokens_per_s']:.1f} tokens/s, load average "
          f"{load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
