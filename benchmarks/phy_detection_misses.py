#!/usr/bin/env python3
"""Which receiver step loses the bursts that phy_detection.py misses: the same bursts (CFO uniform in +-1 % of
fs, random timing, leading noise, 100-800 payload symbols), with the receiver's steps recorded and each miss
put in one class, checked in this order:

* no_trigger: no trigger whose LTF search window holds the burst's start (``sc_max``: the Schmidl-Cox metric's
  largest value around the STF, as ``sc_metric`` gives it on the whole stream, for comparison with the threshold;
  the receiver's scan restarts after each trigger and may sample other phases);
* ltf_rejected: a trigger covered it, but the LTF correlation stayed under its threshold;
* wrong_timing: every acquisition of it is more than 2 samples off;
* cfo_wrong: timing right, the CFO after the LTF more than 6e-4 cycles/sample off (beyond the header decoder's
  phase-slope hypotheses);
* header_failed: sync right, no header candidate passes the CRC and field checks;
* header_metric: a candidate passes the CRC and field checks but not the Viterbi-metric test;
* later: the header decoded, the message did not come out.

Also counted over all acquisitions of the bursts (found or not): those more than 2 samples off (the receiver
may still find the burst on a later trigger of the same STF) and triggers per burst.

    python benchmarks/phy_detection_misses.py --bursts 3000 --esn0 0 --seed 101 [--src DIR] [--messages 3]

``--src DIR``: import the receiver from DIR/lgmtsc (a source tree, e.g. an older commit exported with
``git archive <commit> gr-lgmtsc/python/lgmtsc | tar -x -C /tmp/old``, then ``--src /tmp/old/gr-lgmtsc/python``)
instead of the installed ``gnuradio.lgmtsc``. One process (run it under nice).
"""
import argparse
import collections
import csv
import json
import os
import sys
import time

import numpy as np

CLASSES = ("no_trigger", "ltf_rejected", "wrong_timing", "cfo_wrong", "header_failed", "header_metric", "later")


def load(src):
    if src:
        sys.path.insert(0, os.path.abspath(src))
        import lgmtsc as L
    else:
        import gnuradio.lgmtsc as L
    return L


def semantic_meta(pf, n_sym, **kw):
    upt = max(1, -(-n_sym // 1023))
    while n_sym % upt:
        upt += 1
    return dict(version=pf.FORMAT_VERSION, mode="semantic", prompt_class=2, n_tokens=n_sym // upt,
                uses_per_token=upt, **kw)


def run(L, seed, n, esn0, pre, threshold=0.25, k_msgs=1):
    """The bursts of phy_detection.det_worker (one message each), every receiver step recorded."""
    frame, sim, pf = L.frame, L.sim, L.pdu_format
    H = frame.header
    rng = np.random.default_rng(seed)
    f = frame.Frame(**pre)
    orig_acq, orig_rt, orig_dem, orig_dec = f.acquire, f.refine_timing, f.demodulate, H.Header.decode
    out = []
    for _ in range(n):
        seq0, sender = int(rng.integers(0, 2 ** 32 - k_msgs)), int(rng.integers(0, 2 ** 16))
        msgs = []
        for j in range(k_msgs):               # a backlog burst as phy_detection --messages K builds it
            n_sym = int(rng.integers(100, 800)) if k_msgs == 1 else int(rng.integers(30, 300))
            meta = semantic_meta(pf, n_sym, seq=seq0 + j, sender_id=sender, auth_tag=int(rng.integers(0, 2 ** 32)))
            assoc, hdr, tag, sym = f.parse_tx(meta, np.exp(2j * np.pi * rng.random(n_sym)))
            msgs.append((hdr, tag, sym))
        x = f.messages_burst(msgs)
        cfo, dl, lead = rng.uniform(-0.01, 0.01), rng.uniform(0, 4), int(rng.integers(0, 4000))
        y = sim.channel(x, rng, esn0, cfo_=cfo, delay_=dl, lead=lead)
        n0 = int(rng.integers(0, 3000))
        y = np.concatenate([sim.awgn(np.zeros(n0), esn0, 4, rng).astype(np.complex64), y,
                            sim.awgn(np.zeros(2000), esn0, 4, rng).astype(np.complex64)])
        t0 = n0 + lead + dl                      # sample of the burst's start (as the receiver's S + frac)
        rx = frame.Receiver(f, threshold=threshold, association=assoc)
        ev, st = [], {}
        orig_seg = rx._seg

        def seg(a, b, orig_seg=orig_seg, st=st):
            st["a"] = a
            return orig_seg(a, b)

        def acq(sg, lo, hi, eps1, thr=0.2, ev=ev, st=st):
            r = orig_acq(sg, lo, hi, eps1, thr)
            e = dict(lo=st["a"] + lo, hi=st["a"] + hi, acq=r is not None)
            if r is not None:
                e.update(S=st["a"] + r[0], eps=eps1 + r[1], frac=r[3])
            ev.append(e)
            return r

        def rt(sg, S, frac, iters=2, ls=None, ev=ev):
            r = orig_rt(sg, S, frac, iters, ls)
            if ls is None and ev:
                ev[-1]["frac"] = r
            return r

        def dem(*a, ev=ev, **k):
            r = orig_dem(*a, **k)
            if k.get("smooth") == 1 << 20 and ev:
                ev[-1]["d3"] = r["d3"]
            return r

        def dec(z, nv, seq_ref=0, positions=None, coding=None, *, ev=ev):
            r = orig_dec(z, nv, seq_ref, positions, coding)
            if ev and "hdr" not in ev[-1]:
                ev[-1]["hdr"] = r is not None
                ok0, _ = H.decode_header_bits(np.asarray(z)[None], np.broadcast_to(nv, np.shape(z))[None],
                                              positions, min_metric=-np.inf, coding=coding)
                ev[-1]["crc_only"] = bool(ok0[0])
            return r

        rx._seg = seg
        f.acquire, f.refine_timing, f.demodulate = acq, rt, dem
        H.Header.decode = staticmethod(dec)
        try:
            res = rx.feed(y)
        finally:
            f.acquire, f.refine_timing, f.demodulate = orig_acq, orig_rt, orig_dem
            H.Header.decode = classmethod(orig_dec.__func__)
        M, _ = f.sc_metric(y)
        j = np.arange(M.size) * f.sps - f.sc_delay
        reg = (j > t0 - f.W - 4 * f.L) & (j < t0 + (f.n_stf + 8) * f.sps)
        out.append(dict(ok=any(m[pf.KEY_SEQ] == seq0 for m, _ in res), t0=t0, cfo=cfo, triggers=rx.n_triggers,
                        sc_max=float(M[reg].max()) if reg.any() else 0.0,
                        near=[e for e in ev if e["lo"] - 8 <= t0 <= e["hi"] + 8 or
                              ("S" in e and abs(e["S"] + e["frac"] - t0) < 40 * f.sps)]))
    return out, f.sps, f.n_pre, f.sc_window_segs


def classify(r, sps):
    near = r["near"]
    if not near:
        return "no_trigger"
    acq = [e for e in near if e["acq"]]
    if not acq:
        return "ltf_rejected"
    good = [e for e in acq if abs(e["S"] + e["frac"] - r["t0"]) <= 2]
    if not good:
        return "wrong_timing"
    good2 = [e for e in good if abs(e["eps"] + e.get("d3", 0.0) / sps - r["cfo"]) <= 6e-4]
    if not good2:
        return "cfo_wrong"
    if not any(e.get("hdr") for e in good2):
        return "header_metric" if any(e.get("crc_only") for e in good2) else "header_failed"
    return "later"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bursts", type=int, default=3000)
    ap.add_argument("--esn0", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=101)
    ap.add_argument("--src", default=None, help="import lgmtsc from this directory (a source tree)")
    ap.add_argument("--preamble", default="{}", help='Frame preamble options as JSON, e.g. {"stf_reps": 10}')
    ap.add_argument("--threshold", type=float, default=0.25, help="Schmidl-Cox trigger threshold")
    ap.add_argument("--messages", type=int, default=1, help="messages per burst (a backlog; the first one counts)")
    ap.add_argument("--out", default="out/bench/phy_detection_misses")
    a = ap.parse_args()
    try:
        pre = json.loads(a.preamble)
    except ValueError:
        print("phy_detection_misses: --preamble is not JSON: %r" % a.preamble, file=sys.stderr)
        return 2
    L = load(a.src)
    t = time.time()
    res, sps, n_pre, win = run(L, a.seed, a.bursts, a.esn0, pre, a.threshold, a.messages)
    cls = collections.Counter(classify(r, sps) for r in res if not r["ok"])
    acqs = [e for r in res for e in r["near"] if e["acq"]]
    off = sum(abs(e["S"] + e["frac"] - r["t0"]) > 2 for r in res for e in r["near"] if e["acq"])
    found = sum(r["ok"] for r in res)
    print("receiver from %s; Es/N0 %.1f dB, seed %d: found %d/%d; misses: %s" % (
        a.src or "gnuradio.lgmtsc (installed)", a.esn0, a.seed, found, len(res),
        ", ".join("%s %d" % (c, cls[c]) for c in CLASSES)))
    for r in res:
        if not r["ok"]:
            print("  miss (%s): start %.1f, CFO %.5f, SC max %.3f, acquisitions %s" % (
                classify(r, sps), r["t0"], r["cfo"], r["sc_max"],
                [(round(e["S"] + e["frac"] - r["t0"], 1), round(e["eps"] - r["cfo"], 5)) for e in r["near"]
                 if e["acq"]]))
    sc = np.array([r["sc_max"] for r in res])
    print("acquisitions %d, of them > 2 samples off: %d; triggers per burst %.2f; SC max quantiles 0/0.1/1 %%: "
          "%.3f %.3f %.3f; %.0f s" % (len(acqs), off, np.mean([r["triggers"] for r in res]),
                                      *np.quantile(sc, [0, 0.001, 0.01]), time.time() - t))
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "misses_seed%d_%gdB.csv" % (a.seed, a.esn0)), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["receiver", "preamble_symbols", "sc_window", "threshold", "esn0_db", "seed", "bursts", "found"]
                   + list(CLASSES) + ["acquisitions", "acq_off_2", "messages"])
        w.writerow([a.src or "installed", n_pre, win, a.threshold, a.esn0, a.seed, len(res), found]
                   + [cls[c] for c in CLASSES] + [len(acqs), off, a.messages])
    return 0


if __name__ == "__main__":
    sys.exit(main())
