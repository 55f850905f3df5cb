#!/usr/bin/env python3
"""Encode + decode latency of a 30-token sentence on one CPU core, codec loaded once.

    HF_HUB_OFFLINE=1 python benchmarks/codec_latency.py [--checkpoint minilm-l6-u16] [--runs 50]

Target (issue 4): < 50 ms per encode + decode. Prints median and 90th percentile of wall time, and the median
CPU time (equal to wall time on an idle core; the better figure when the machine is shared).
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

from host_pipeline.codec import CodecConfig, SemanticCodec

SENTENCE = ("The quick brown fox jumps over the lazy dog while the children watch quietly from the old wooden "
            "bridge near the river on a sunny afternoon in late september.")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=CodecConfig().checkpoint)
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    torch.set_num_threads(1)
    codec = SemanticCodec.load(CodecConfig(checkpoint=args.checkpoint, threads=1))
    n = len(codec.encoder.tokenize(SENTENCE))
    rng = np.random.default_rng(0)
    for _ in range(5):  # warm-up
        m = codec.encode(SENTENCE)
        codec.decode(m.symbols, 0.1, m.n_tokens)
    enc, dec, both, cpu = [], [], [], []
    for _ in range(args.runs):
        c0 = time.process_time()
        t0 = time.perf_counter()
        m = codec.encode(SENTENCE)
        t1 = time.perf_counter()
        y = m.symbols + np.sqrt(0.05) * (rng.standard_normal(m.symbols.size) + 1j * rng.standard_normal(m.symbols.size))
        t2 = time.perf_counter()
        codec.decode(y.astype(np.complex64), 0.1, m.n_tokens)
        t3 = time.perf_counter()
        cpu.append(time.process_time() - c0)
        enc.append(t1 - t0)
        dec.append(t3 - t2)
        both.append(t1 - t0 + t3 - t2)
    def q(v, p):
        return 1000 * sorted(v)[int(p * (len(v) - 1))]

    print(f"checkpoint {args.checkpoint}, {n} tokens, {m.symbols.size} symbols, 1 thread, {args.runs} runs")
    print(f"encode  median {1000 * statistics.median(enc):6.1f} ms  p90 {q(enc, 0.9):6.1f} ms")
    print(f"decode  median {1000 * statistics.median(dec):6.1f} ms  p90 {q(dec, 0.9):6.1f} ms")
    print(f"total   median {1000 * statistics.median(both):6.1f} ms  p90 {q(both, 0.9):6.1f} ms  (target < 50 ms)")
    print(f"CPU time of encode + noise + decode: median {1000 * statistics.median(cpu):6.1f} ms "
          f"(what one uncontended core needs; wall time above includes waiting on a shared machine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
