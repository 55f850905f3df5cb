#!/usr/bin/env python3
"""The message header's code, measured on its own (numpy Monte-Carlo, seeded, vectorised), for a burst format's
``header.BodyCoding`` (``--coding``: robust, the long preamble's, or dense, the short preamble's).

* decoding: random headers (48 bits, CRC-24) -> the coding (robust: tail-biting K=9 r=1/4 -> 96 QPSK symbols;
  dense: K=9 r=1/2 -> 24 16-QAM symbols) -> AWGN at Es/N0, with a
  residual phase slope uniform in +-0.01 rad/symbol and a phase error N(0, 0.06 rad) at the LTF's centre (what
  the receiver's synchronisation leaves at 0 dB) -> the receiver's decoder (header.decode_header_bits: slope
  hypotheses, CRC and field checks). A header counts when it passes and equals the one sent.
* false acceptance: corrupted headers, half pure noise (what a false trigger gives) and half real headers at
  Es/N0 -6 dB (most fail), through the same decoder: how many pass the checks with the wrong content.
* random words: the CRC-24 and field checks on uniformly random 48-bit words (what the decoder's output on a
  corrupted header looks like to the checks), 1e9 of them in seconds; times the 5 hypotheses = the rate per
  corrupted header.
* metric: the decoder's reliability test alone: the share of Viterbi decodes of pure noise (every slope
  hypothesis) whose metric reaches the coding's ``min_metric``, and their median metric (the decoding part gives
  the 1st percentile of true headers' metrics at each point, for comparison); times the random words' rate and the 5
  hypotheses = the rate per corrupted header that the CRC, field checks and metric test leave (the CRC depends on
  the decided bits only, and noise decides every codeword alike).
* tag: random 32-bit tags through the coding's tag block (AWGN and a phase error N(0, 0.06 rad); the receiver
  decodes it after tracking gain and phase on the pilots and the decoded header, so no slope): the share decoded
  exactly (a wrong tag fails the sender's MAC: the message is lost, never misattributed).

    python benchmarks/phy_header.py --out benchmarks/phy_results [--decode 100000 --false 20000 --words 1e9]
    python benchmarks/phy_header.py --coding dense --points 8,9,10,11,12 --decode 100000 --parts decode,false,tag \
        --out out/bench/phy_header_dense
"""
import argparse
import csv
import os
import sys
import time
from multiprocessing import Pool

import numpy as np
from gnuradio.lgmtsc import header as H
from gnuradio.lgmtsc.waveform import PREAMBLES, body_layout

BATCH = 4000
CODING = H.ROBUST
POS = body_layout(H.HEADER_USES, final=False)[0] + 63.0   # distance from the LTF's centre (default LTF)


def use_coding(name):
    """Set the coding and the header symbols' distances from the LTF's centre (its preamble's LTF)."""
    global CODING, POS
    CODING = H.CODINGS[name]
    ltf_n = next((p.get("ltf_n", 63) for p in PREAMBLES.values() if p.get("coding", "robust") == name), 63)
    POS = body_layout(CODING.header_uses, final=False)[0] + float(ltf_n)


def _headers(rng, n):
    f = (rng.integers(0, 2, n) << 22) | (rng.integers(0, 3, n) << 20) | rng.integers(0, 1 << 20, n)
    return np.concatenate([((f[:, None] >> np.arange(23, -1, -1)) & 1),
                           ((H.crc24(f)[:, None] >> np.arange(23, -1, -1)) & 1)], 1).astype(np.uint8)


def _channel(rng, bits, esn0_db, pos=None):
    """Header bits [n, 48] (or coded symbols [n, m] if complex) -> received symbols and their noise variance."""
    x = bits if np.iscomplexobj(bits) else CODING.header_symbols(bits)
    pos = POS if pos is None else pos
    n = x.shape[0]
    ph = rng.normal(0, 0.06, (n, 1)) + rng.uniform(-0.01, 0.01, (n, 1)) * pos[None, :]
    nv = 10 ** (-esn0_db / 10)
    y = x * np.exp(1j * ph) + np.sqrt(nv / 2) * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    return y, np.full(y.shape, nv)


def decode_worker(args):
    seed, n, esn0, coding = args
    use_coding(coding)
    rng = np.random.default_rng(seed)
    good = wrong = 0
    metrics = np.zeros(0)
    for k in range(0, n, BATCH):
        bits = _headers(rng, min(BATCH, n - k))
        y, nv = _channel(rng, bits, esn0)
        ok, got = H.decode_header_bits(y, nv, POS, coding=CODING)
        same = np.all(got == bits, axis=1)
        good += int(np.sum(ok & same))
        wrong += int(np.sum(ok & ~same))
        if k == 0:   # the reliability metric of true headers (first hypothesis), on the first batch
            metrics = CODING.header_code.decode(CODING.llr(y, nv))[1]
    return good, wrong, metrics


def tag_worker(args):
    seed, n, esn0, coding = args
    use_coding(coding)
    rng = np.random.default_rng(seed)
    pos = np.zeros(CODING.tag_uses)   # decoded after the tracking on pilots and the known header: a phase error only
    good = 0
    for k in range(0, n, BATCH):
        m = min(BATCH, n - k)
        bits = rng.integers(0, 2, (m, H.TAG_BITS)).astype(np.uint8)
        y, nv = _channel(rng, CODING.symbols(CODING.tag_code.encode(bits)), esn0, pos)
        got, _ = CODING.tag_code.decode(CODING.llr(y, nv))
        good += int(np.sum(np.all(got == bits, axis=1)))
    return good


def false_worker(args):
    seed, n, coding = args
    use_coding(coding)
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
        ok, got = H.decode_header_bits(y, nv, POS, coding=CODING)
        wrong += int(np.sum(ok & (np.any(got != bits, axis=1) | (np.arange(m) < half))))
        checks += m * H.SLOPE_HYPOTHESES.size
    return wrong, checks


def metric_worker(args):
    seed, n, coding = args
    use_coding(coding)
    rng = np.random.default_rng(seed)
    ramp = np.exp(-1j * H.SLOPE_HYPOTHESES[:, None] * POS[None, :])
    passed = total = 0
    metrics = []
    for k in range(0, n, BATCH):
        m = min(BATCH, n - k)
        y = np.sqrt(0.5) * (rng.standard_normal((m, 1, POS.size)) + 1j * rng.standard_normal((m, 1, POS.size)))
        _, metric = CODING.header_code.decode(CODING.llr(y * ramp[None], np.ones((m, ramp.shape[0], POS.size))))
        passed += int(np.sum(metric >= CODING.min_metric))
        total += metric.size
        metrics.append(metric.ravel())
    return passed, total, np.concatenate(metrics)


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
    ap.add_argument("--coding", default="robust", choices=sorted(H.CODINGS), help="the burst format's coding")
    ap.add_argument("--points", default="-2,-1,0,1", help="Es/N0 points (dB); --decode headers at the third, a "
                    "tenth of that at the others")
    ap.add_argument("--decode", type=int, default=200000, help="headers at the third Es/N0 point")
    ap.add_argument("--false", type=int, default=1000000, help="corrupted headers")
    ap.add_argument("--words", type=float, default=1e9, help="random 48-bit words through the checks")
    ap.add_argument("--metric", type=int, default=20000, help="noise-only headers for the metric test")
    ap.add_argument("--parts", default="decode,false,words,metric", help="any of decode,false,words,metric,tag")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=17)
    a = ap.parse_args()
    use_coding(a.coding)
    points = [float(p) for p in a.points.split(",")]
    counts = [a.decode if i == min(2, len(points) - 1) else a.decode // 10 for i in range(len(points))]
    print(f"coding: {CODING}", flush=True)
    os.makedirs(a.out, exist_ok=True)
    rows, t0 = [], time.time()
    w = a.workers
    with Pool(w) as pool:
        for esn0, n in zip(points, counts) if "decode" in a.parts else ():
            res = pool.map(decode_worker, [(a.seed + 100 * k + int(10 * esn0) + 50, n // w, esn0, a.coding)
                                           for k in range(w)])
            good, wrong = (sum(r[i] for r in res) for i in range(2))
            m1 = float(np.quantile(np.concatenate([r[2] for r in res]), 0.01))
            tot = w * (n // w)
            rows.append(dict(test="decode", esn0_db=esn0, trials=tot, decoded=good, rate=good / tot,
                             wrong_accepted=wrong, metric_q01=round(m1, 4)))
            print(f"Es/N0 {esn0:+.0f} dB: decoded {good}/{tot} = {good / tot:.5f}, wrong accepted {wrong}; "
                  f"true headers' metric, 1st percentile {m1:.3f}", flush=True)
        if "false" in a.parts:
            res = pool.map(false_worker, [(a.seed + 7000 + k, a.false // w, a.coding) for k in range(w)])
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
            res = pool.map(metric_worker, [(a.seed + 8000 + k, a.metric // w, a.coding) for k in range(w)])
            passed, total = sum(r[0] for r in res), sum(r[1] for r in res)
            med = float(np.median(np.concatenate([r[2] for r in res])))
            rows.append(dict(test="noise_metric", esn0_db="noise", trials=total, decoded="", rate=passed / total,
                             wrong_accepted=passed, metric_median=round(med, 4)))
            print(f"noise decodes whose metric reaches {CODING.min_metric}: {passed}/{total} = "
                  f"{passed / total:.4f}; their median metric {med:.3f}", flush=True)
        for esn0, n in zip(points, counts) if "tag" in a.parts else ():
            good = sum(pool.map(tag_worker, [(a.seed + 300 * k + int(10 * esn0) + 11, n // w, esn0, a.coding)
                                             for k in range(w)]))
            tot = w * (n // w)
            rows.append(dict(test="tag", esn0_db=esn0, trials=tot, decoded=good, rate=good / tot, wrong_accepted=""))
            print(f"tag block at Es/N0 {esn0:+.0f} dB: decoded {good}/{tot} = {good / tot:.5f}", flush=True)
    with open(os.path.join(a.out, "header.csv"), "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
        wr.writeheader()
        wr.writerows(rows)
    print(f"done in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
