#!/usr/bin/env python3
"""The message header's code, measured on its own (numpy Monte-Carlo, seeded, vectorised).

* decoding: random headers (48 bits, CRC-24) -> tail-biting K=9 r=1/4 -> 96 QPSK symbols -> AWGN at Es/N0, with a
  residual phase slope uniform in +-0.01 rad/symbol and a phase error N(0, 0.06 rad) at the LTF's centre (what
  the receiver's synchronisation leaves at 0 dB) -> the receiver's decoder (header.decode_header_bits: slope
  hypotheses, CRC and field checks). A header counts when it passes and equals the one sent.
* false acceptance: corrupted headers, half pure noise (what a false trigger gives) and half real headers at
  Es/N0 -6 dB (most fail), through the same decoder: how many pass the checks with the wrong content.
* random words: the CRC-24 and field checks on uniformly random 48-bit words (what the decoder's output on a
  corrupted header looks like to the checks), 1e9 of them in seconds; times the 5 hypotheses = the rate per
  corrupted header.
* metric: the decoder's reliability test alone: the share of Viterbi decodes of pure noise (every slope
  hypothesis) whose metric reaches ``header.HEADER_MIN_METRIC``; times the random words' rate and the 5
  hypotheses = the rate per corrupted header that the CRC, field checks and metric test leave (the CRC depends on
  the decided bits only, and noise decides every codeword alike).

    python benchmarks/phy_header.py --out benchmarks/phy_results [--decode 100000 --false 20000 --words 1e9]
"""
import argparse
import csv
import os
import sys
import time
from multiprocessing import Pool

import numpy as np
from gnuradio.lgmtsc import header as H
from gnuradio.lgmtsc.waveform import body_layout

POS = body_layout(H.HEADER_USES, final=False)[0] + 63.0   # distance from the LTF's centre (default LTF)
BATCH = 4000


def _headers(rng, n):
    f = (rng.integers(0, 2, n) << 22) | (rng.integers(0, 3, n) << 20) | rng.integers(0, 1 << 20, n)
    return np.concatenate([((f[:, None] >> np.arange(23, -1, -1)) & 1),
                           ((H.crc24(f)[:, None] >> np.arange(23, -1, -1)) & 1)], 1).astype(np.uint8)


def _channel(rng, bits, esn0_db):
    x = H.qpsk(H.HEADER_CODE.encode(bits))
    n = x.shape[0]
    ph = rng.normal(0, 0.06, (n, 1)) + rng.uniform(-0.01, 0.01, (n, 1)) * POS[None, :]
    nv = 10 ** (-esn0_db / 10)
    y = x * np.exp(1j * ph) + np.sqrt(nv / 2) * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    return y, np.full(y.shape, nv)


def decode_worker(args):
    seed, n, esn0 = args
    rng = np.random.default_rng(seed)
    good = wrong = 0
    for k in range(0, n, BATCH):
        bits = _headers(rng, min(BATCH, n - k))
        y, nv = _channel(rng, bits, esn0)
        ok, got = H.decode_header_bits(y, nv, POS)
        same = np.all(got == bits, axis=1)
        good += int(np.sum(ok & same))
        wrong += int(np.sum(ok & ~same))
    return good, wrong


def false_worker(args):
    seed, n = args
    rng = np.random.default_rng(seed)
    wrong = checks = 0
    for k in range(0, n, BATCH):
        m = min(BATCH, n - k)
        bits = _headers(rng, m)
        y, nv = _channel(rng, bits, -6.0)
        half = m // 2                                       # the first half: noise only
        shape = (half, y.shape[1])
        y[:half] = np.sqrt(0.5) * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
        nv[:half] = 1.0
        ok, got = H.decode_header_bits(y, nv, POS)
        wrong += int(np.sum(ok & (np.any(got != bits, axis=1) | (np.arange(m) < half))))
        checks += m * H.SLOPE_HYPOTHESES.size
    return wrong, checks


def metric_worker(args):
    seed, n = args
    rng = np.random.default_rng(seed)
    ramp = np.exp(-1j * H.SLOPE_HYPOTHESES[:, None] * POS[None, :])
    passed = total = 0
    for k in range(0, n, BATCH):
        m = min(BATCH, n - k)
        y = np.sqrt(0.5) * (rng.standard_normal((m, 1, POS.size)) + 1j * rng.standard_normal((m, 1, POS.size)))
        _, metric = H.HEADER_CODE.decode(H.qpsk_llr(y * ramp[None], np.ones((m, ramp.shape[0], POS.size))))
        passed += int(np.sum(metric >= H.HEADER_MIN_METRIC))
        total += metric.size
    return passed, total


def words_worker(args):
    seed, n = args
    rng = np.random.default_rng(seed)
    passed = 0
    for k in range(0, n, 10_000_000):
        m = min(10_000_000, n - k)
        f = rng.integers(0, 1 << 24, m, dtype=np.int64)
        c = rng.integers(0, 1 << 24, m, dtype=np.int64)
        kind, pcls = f >> 22, (f >> 20) & 3
        ok = (kind <= int(H.Kind.ASSOCIATION)) & (pcls <= int(H.PromptClass.HIGH))
        ok &= (kind != int(H.Kind.ASSOCIATION)) | ((f & H.MAX_LENGTH) == 0)
        passed += int(np.sum(H.crc24(f[ok]) == c[ok]))
    return passed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="out/bench/phy_header")
    ap.add_argument("--decode", type=int, default=200000, help="headers at Es/N0 0 dB")
    ap.add_argument("--false", type=int, default=1000000, help="corrupted headers")
    ap.add_argument("--words", type=float, default=1e9, help="random 48-bit words through the checks")
    ap.add_argument("--metric", type=int, default=20000, help="noise-only headers for the metric test")
    ap.add_argument("--parts", default="decode,false,words,metric")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=17)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rows, t0 = [], time.time()
    w = a.workers
    with Pool(w) as pool:
        for esn0, n in ((-2.0, a.decode // 10), (-1.0, a.decode // 10), (0.0, a.decode), (1.0, a.decode // 10)) \
                if "decode" in a.parts else ():
            res = pool.map(decode_worker, [(a.seed + 100 * k + int(10 * esn0) + 50, n // w, esn0) for k in range(w)])
            good, wrong = (sum(r[i] for r in res) for i in range(2))
            tot = w * (n // w)
            rows.append(dict(test="decode", esn0_db=esn0, trials=tot, decoded=good, rate=good / tot,
                             wrong_accepted=wrong))
            print(f"Es/N0 {esn0:+.0f} dB: decoded {good}/{tot} = {good / tot:.5f}, wrong accepted {wrong}", flush=True)
        if "false" in a.parts:
            res = pool.map(false_worker, [(a.seed + 7000 + k, a.false // w) for k in range(w)])
            wrong, checks = sum(r[0] for r in res), sum(r[1] for r in res)
            tot = w * (a.false // w)
            rows.append(dict(test="false_accept", esn0_db="noise / -6", trials=tot, decoded="", rate=wrong / tot,
                             wrong_accepted=wrong))
            print(f"corrupted headers (noise / -6 dB): {wrong} wrong accepted in {tot} ({checks} CRC checks)",
                  flush=True)
        if "words" in a.parts:
            n = int(a.words) // w
            passed = sum(pool.map(words_worker, [(a.seed + 9000 + k, n) for k in range(w)]))
            k = H.SLOPE_HYPOTHESES.size
            rows.append(dict(test="random_words", esn0_db="", trials=w * n, decoded="", rate=passed / (w * n),
                             wrong_accepted=passed))
            print(f"random 48-bit words: {passed} pass the checks in {w * n:.3g} = {passed / (w * n):.3g} "
                  f"(2^-24 x 3/8 = {2 ** -24 * 3 / 8:.3g}); x {k} hypotheses per corrupted header = "
                  f"{k * passed / (w * n):.3g}", flush=True)
        if "metric" in a.parts:
            res = pool.map(metric_worker, [(a.seed + 8000 + k, a.metric // w) for k in range(w)])
            passed, total = sum(r[0] for r in res), sum(r[1] for r in res)
            rows.append(dict(test="noise_metric", esn0_db="noise", trials=total, decoded="", rate=passed / total,
                             wrong_accepted=passed))
            print(f"noise decodes whose metric reaches {H.HEADER_MIN_METRIC}: {passed}/{total} = "
                  f"{passed / total:.4f}", flush=True)
    with open(os.path.join(a.out, "header.csv"), "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    print(f"done in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
