#!/usr/bin/env python3
"""Burst detection, false alarms and header integrity of the burst receiver, seeded.

* detection: bursts at Es/N0 in {0, 2, 5} dB with CFO uniform in +-1 % of fs, random
  integer + fractional timing, random leading noise; a burst counts when its PDU comes out
  with the right seq (detection + sync + header decode).
* false alarms: 1e7 noise-only samples fed in chunks: triggers, header failures, PDUs (must be 0).
* header integrity: bursts far below the decoding threshold (-8..-3 dB) plus corrupted
  streams: every emitted PDU must carry exactly the header that was sent.
* ``--messages K``: every burst carries K messages (a transmitter's backlog: K headers, the first K-1 with
  ``more``), 30-300 payload symbols each; detection counts the first message, and the later ones are counted
  apart (their headers are decoded after equalisation, from the message before them).

    python benchmarks/phy_detection.py --out out/bench/phy_detection [--bursts 1000]
    python benchmarks/phy_detection.py --out out/bench/phy_detection_k3 --messages 3 --points 0,2 --no-below --noise 0
    python benchmarks/phy_detection.py --out out/bench/phy_detection_short --preamble short --points 8,10,12 --no-below

``--preamble`` takes a burst format of ``waveform.PREAMBLES`` (its preamble, header and tag coding, trigger
threshold); ``--stf-reps``, ``--sc-window``, ``--ltf-n``, ``--coding`` and ``--threshold`` override its parts.

The bursts of each point are split in two seeded halves whatever ``--workers`` is (1 runs them one after the
other, same results). A 95 % Clopper-Pearson interval is given for each detection rate.
"""
import argparse
import csv
import os
import sys
import time

import numpy as np
from scipy.stats import beta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gnuradio.lgmtsc import header as H  # noqa: E402
from gnuradio.lgmtsc.waveform import PREAMBLES, TRIGGER_THRESHOLDS  # noqa: E402
from phy_common import frame, pf, semantic_meta, sim  # noqa: E402


def clopper_pearson(k, n, conf=0.95):
    """Two-sided exact binomial interval for k successes in n trials."""
    a = 1 - conf
    lo = 0.0 if k == 0 else float(beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def det_worker(args):
    seed, n, esn0, pre, k_msgs, thr = args
    rng = np.random.default_rng(seed)
    f = frame.Frame(**pre)
    ok = wrong = tag_wrong = later_ok = later_n = 0
    for _ in range(n):
        seq0, sender = int(rng.integers(0, 2 ** 32 - k_msgs)), int(rng.integers(0, 2 ** 16))
        metas, msgs = [], []
        for j in range(k_msgs):
            n_sym = int(rng.integers(100, 800)) if k_msgs == 1 else int(rng.integers(30, 300))
            meta = semantic_meta(n_sym, seq=seq0 + j, sender_id=sender, auth_tag=int(rng.integers(0, 2 ** 32)))
            assoc, hdr, tag, sym = f.parse_tx(meta, np.exp(2j * np.pi * rng.random(n_sym)))
            metas.append(meta)
            msgs.append((hdr, tag, sym))
        x = f.messages_burst(msgs)
        y = sim.channel(x, rng, esn0, cfo_=rng.uniform(-0.01, 0.01), delay_=rng.uniform(0, 4),
                        lead=int(rng.integers(0, 4000)))
        y = np.concatenate([sim.awgn(np.zeros(int(rng.integers(0, 3000))), esn0, 4, rng).astype(np.complex64), y,
                            sim.awgn(np.zeros(2000), esn0, 4, rng).astype(np.complex64)])
        out = frame.Receiver(f, threshold=thr, association=assoc).feed(y)   # the association arrived earlier
        for m, _ in out:
            j = (m[pf.KEY_SEQ] - seq0) % (1 << 32)
            same = j < k_msgs and all(m[k] == metas[j][k] for k in (pf.KEY_SEQ, pf.KEY_SENDER_ID, pf.KEY_N_TOKENS))
            ok += same and j == 0
            later_ok += same and j > 0
            wrong += not same
            tag_wrong += same and m[pf.KEY_AUTH_TAG] != metas[j][pf.KEY_AUTH_TAG]   # the tag block (for >= 6 dB)
        later_n += (k_msgs - 1) * any(m[pf.KEY_SEQ] == seq0 for m, _ in out)
    return ok, wrong, tag_wrong, later_ok, later_n


def fa_worker(args):
    seed, nsamp, chunk, pre, thr = args
    rng = np.random.default_rng(seed)
    rx = frame.Receiver(frame.Frame(**pre), threshold=thr)
    pdus = 0
    done = 0
    while done < nsamp:
        n = min(chunk, nsamp - done)
        y = ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) * 0.7071).astype(np.complex64)
        pdus += len(rx.feed(y))
        done += n
    return pdus, rx.n_triggers, rx.n_header_fail


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="out/bench/phy_detection")
    ap.add_argument("--bursts", default="1000", help="bursts per Es/N0 point (one number, or one per --points)")
    ap.add_argument("--noise", type=float, default=1e7, help="noise-only samples")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--preamble", default=pf.PREAMBLE_LONG, choices=sorted(PREAMBLES), help="the burst format")
    ap.add_argument("--coding", default=None, choices=sorted(H.CODINGS), help="header and tag coding (default: "
                    "the format's)")
    ap.add_argument("--stf-reps", type=int, default=None, help="STF periods (default: the frame's)")
    ap.add_argument("--sc-window", type=int, default=None, help="Schmidl-Cox window in STF periods")
    ap.add_argument("--ltf-n", type=int, default=None, help="Zadoff-Chu length of each LTF half")
    ap.add_argument("--points", default="0,2,5", help="Es/N0 points (dB) of the detection test")
    ap.add_argument("--messages", type=int, default=1, help="messages per burst (a backlog)")
    ap.add_argument("--threshold", type=float, default=None, help="Schmidl-Cox trigger threshold (default: "
                    "burst_rx's for the format, waveform.TRIGGER_THRESHOLDS)")
    ap.add_argument("--workers", type=int, default=2, help="processes (the machine's other load: 1)")
    ap.add_argument("--below", action=argparse.BooleanOptionalAction, default=True,
                    help="also the points below the working range (-8..-3 dB)")
    a = ap.parse_args()
    points = [float(v) for v in a.points.split(",")]
    try:
        counts = [int(v) for v in a.bursts.split(",")]
    except ValueError:
        counts = []
    if not counts or len(counts) not in (1, len(points)) or min(counts) < 2:
        print("phy_detection: --bursts must be one count >= 2 or one per --points, not %r" % a.bursts,
              file=sys.stderr)
        return 2
    counts = counts * len(points) if len(counts) == 1 else counts
    pre = dict(PREAMBLES[a.preamble])
    pre.update({k: v for k, v in (("stf_reps", a.stf_reps), ("sc_window_segs", a.sc_window), ("ltf_n", a.ltf_n),
                                  ("coding", a.coding)) if v is not None})
    if a.threshold is None:
        a.threshold = TRIGGER_THRESHOLDS[a.preamble]
    f0 = frame.Frame(**pre)
    print("preamble: STF %d x %d symbols, Schmidl-Cox window %d periods, LTF 2 x %d: %d symbols; %s; "
          "guard %d symbols (300-symbol payload); trigger threshold %.2f"
          % (f0.stf_reps, f0.seg, f0.sc_window_segs, f0.ltf_n, f0.n_pre, f0.coding,
             f0.guard_symbols(f0.n_hdr + f0.n_tag + 300), a.threshold),
          flush=True)
    os.makedirs(a.out, exist_ok=True)
    from multiprocessing import Pool
    rows = []
    t0 = time.time()
    with Pool(max(1, a.workers)) as pool:
        for esn0, nb in zip(points, counts):
            res = pool.map(det_worker, [(a.seed + 1000 * k + int(esn0 * 10), nb // 2, esn0, pre, a.messages,
                                         a.threshold)
                                        for k in range(2)])
            ok, wrong, tag_wrong, later_ok, later_n = (sum(r[i] for r in res) for i in range(5))
            n = 2 * (nb // 2)
            lo, hi = clopper_pearson(ok, n)
            rows.append(dict(test="detection", esn0_db=esn0, trials=n, detected=ok, rate=ok / n, ci95_lo=lo,
                             ci95_hi=hi, wrong_header=wrong, tag_errors=tag_wrong, messages=a.messages,
                             later_decoded=later_ok, later_trials=later_n))
            print("detection Es/N0 %4.1f dB, CFO +-1%% fs: %d/%d = %.4f, 95%% interval %.4f-%.4f (wrong headers %d; "
                  "tag blocks wrong %d)" % (esn0, ok, n, ok / n, lo, hi, wrong, tag_wrong)
                  + (", later messages of detected bursts %d/%d" % (later_ok, later_n) if a.messages > 1 else ""),
                  flush=True)
        for esn0 in (-8.0, -5.0, -3.0) if a.below else ():
            res = pool.map(det_worker, [(a.seed + 5000 + 1000 * k + int(-esn0 * 10), counts[0] // 4, esn0, pre,
                                         a.messages, a.threshold) for k in range(2)])
            ok = sum(r[0] for r in res)
            wrong = sum(r[1] for r in res)
            n = 2 * (counts[0] // 4)
            rows.append(dict(test="below_threshold", esn0_db=esn0, trials=n, detected=ok, rate=ok / n,
                             wrong_header=wrong))
            print("below threshold Es/N0 %4.1f dB: decoded %d/%d, wrong headers passed: %d" % (esn0, ok, n, wrong),
                  flush=True)
        half = int(a.noise // 2)
        if half:
            res = pool.map(fa_worker, [(a.seed + 77 + k, half, 65536, pre, a.threshold) for k in range(2)])
            pdus, trig, hfail = (sum(r[i] for r in res) for i in range(3))
            rows.append(dict(test="noise_only", esn0_db="", trials=2 * half, detected=pdus, rate=pdus / (2 * half),
                             wrong_header=pdus, triggers=trig, header_failures=hfail))
            print("noise only: %d samples, %d triggers, %d header CRC failures, %d false PDUs"
                  % (2 * half, trig, hfail, pdus), flush=True)
    with open(os.path.join(a.out, "detection.csv"), "w", newline="") as fh:
        keys = ["test", "esn0_db", "trials", "detected", "rate", "ci95_lo", "ci95_hi", "wrong_header", "tag_errors",
                "triggers", "header_failures", "messages", "later_decoded", "later_trials"]
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    print("done in %.0f s" % (time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
