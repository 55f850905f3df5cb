#!/usr/bin/env python3
"""Calibrate the burst receiver's SNR (Es/N0) estimator over a known-SNR sweep.

Runs burst_tx -> lgmtsc.awgn_channel (Es/N0 set in dB, random CFO) -> burst_rx
(calibration='none') as a GNU Radio flowgraph for each Es/N0 point, fits the map
raw estimate -> true Es/N0 (mean raw per point), writes it as JSON (by default the
packaged default that burst_rx loads), then validates on fresh seeds: bias/std/RMSE per
point before and after calibration (CSV + PNG in --out).

    python calibration/phy/snr_calibrate.py --out out/bench/phy_calibration     # the venv's python (make setup)

``--validate-only`` skips the fit and validates the stored calibration (``--json``); ``--preamble short`` sends the
bursts with the short preamble (the calibration is fitted on the long one):

    python calibration/phy/snr_calibrate.py --validate-only --preamble short --lo 6 --out out/bench/phy_snr_short
"""
import argparse
import csv
import json
import os
import sys
import time

import numpy as np
import pmt
from gnuradio import blocks, gr, lgmtsc  # gr-lgmtsc: installed by make setup
from gnuradio.lgmtsc import pdu_format as pf
from gnuradio.lgmtsc.snr_calibration import SnrCalibration

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

DEFAULT_JSON = os.path.join(ROOT, "gr-lgmtsc", "python", "lgmtsc", "snr_calibration.json")


def run_point(esn0, n_bursts, seed, n_sym=600, preamble=pf.PREAMBLE_LONG):
    """Returns raw SNR estimates (dB) of the bursts decoded at this Es/N0."""
    rng = np.random.default_rng(seed)
    tb = gr.top_block()
    tx = lgmtsc.burst_tx(max_messages=1)   # one burst (one SNR estimate) per message
    ch = lgmtsc.awgn_channel(esn0_db=esn0, sps=4, cfo=float(rng.uniform(-0.005, 0.005)),
                             seed=int(rng.integers(1, 2 ** 31)))
    rx = lgmtsc.burst_rx(calibration="none")
    dbg = blocks.message_debug()
    tb.connect(tx, ch, rx)
    tb.msg_connect(rx, "snr", dbg, "store")
    for i in range(n_bursts):
        sym = np.exp(2j * np.pi * rng.random(n_sym)).astype(np.complex64)
        meta = dict(version=pf.FORMAT_VERSION, mode="semantic", sender_id=1, seq=i, n_tokens=n_sym,
                    prompt_class=2, auth_tag=0, preamble=preamble)
        tx.to_basic_block()._post(pmt.intern("in"), pf.make_pdu(meta, sym))
    tx.to_basic_block()._post(pmt.intern("system"), pmt.cons(pmt.intern("done"), pmt.from_long(1)))
    tb.run()
    out = []
    for i in range(dbg.num_messages()):
        m, _ = pf.parse_pdu(dbg.get_message(i))
        out.append(m[pf.KEY_SNR_DB])   # calibration='none': snr_db is the raw estimate
    return np.array(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="out/bench/phy_calibration")
    ap.add_argument("--json", default=DEFAULT_JSON, help="where to store the calibration")
    ap.add_argument("--bursts", type=int, default=40)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--lo", type=float, default=-3.0)
    ap.add_argument("--hi", type=float, default=29.0)
    ap.add_argument("--preamble", choices=(pf.PREAMBLE_LONG, pf.PREAMBLE_SHORT), default=pf.PREAMBLE_LONG)
    ap.add_argument("--validate-only", action="store_true", help="validate the stored calibration, do not fit")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    pts = np.arange(a.lo, a.hi + 0.5, 1.0)
    t0 = time.time()
    if a.validate_only:
        return validate(SnrCalibration.load(a.json), pts, a, t0)
    fit = [run_point(s, a.bursts, a.seed + 17 * k, preamble=a.preamble) for k, s in enumerate(pts)]
    # a point where (almost) no burst was decoded (far below 0 dB) has no mean: left out of the table
    used = np.array([f.size >= max(3, a.bursts // 4) for f in fit])
    mean_raw = np.array([np.mean(f) for f, u in zip(fit, used) if u])
    mono = np.maximum.accumulate(mean_raw + 1e-6 * np.arange(mean_raw.size))
    cal = SnrCalibration(mono, pts[used])
    info = {"raw_db": [round(float(x), 4) for x in mono], "true_db": [float(x) for x in pts[used]],
            "description": "burst_rx SNR estimator: mean raw Es/N0 estimate (dB) per true Es/N0 (dB), "
                           "AWGN via lgmtsc.awgn_channel, sps=4, rolloff 0.35, 600-symbol payloads",
            "bursts_per_point": a.bursts, "seed": a.seed,
            "generated_by": "calibration/phy/snr_calibrate.py"}
    with open(a.json, "w") as fh:
        json.dump(info, fh, indent=1)
    return validate(cal, pts, a, t0)


def validate(cal, pts, a, t0):
    """Bias, spread and RMSE per point before and after ``cal``, on fresh seeds (CSV, PNG); exit 1 above 0.5 dB."""
    rows = []
    for k, s in enumerate(pts):
        raw = run_point(s, a.bursts, a.seed + 100003 + 31 * k, preamble=a.preamble)
        if raw.size == 0:
            continue
        cor = np.array([cal.correct(r) for r in raw])
        rows.append(dict(esn0_db=s, n=raw.size, bias_raw=np.mean(raw) - s,
                         rmse_raw=np.sqrt(np.mean((raw - s) ** 2)), bias_cal=np.mean(cor) - s,
                         std_cal=np.std(cor), rmse_cal=np.sqrt(np.mean((cor - s) ** 2))))
    with open(os.path.join(a.out, "snr_calibration.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()})
    print("Es/N0  n   bias_raw rmse_raw | bias_cal std_cal rmse_cal")
    for r in rows:
        print("%5.1f %3d  %7.3f %7.3f | %7.3f %7.3f %7.3f" % (r["esn0_db"], r["n"], r["bias_raw"],
                                                         r["rmse_raw"], r["bias_cal"], r["std_cal"], r["rmse_cal"]))
    in_range = [r for r in rows if max(0, a.lo) <= r["esn0_db"] <= 25]
    worst = max(r["rmse_cal"] for r in in_range)
    print("worst RMSE after calibration, %g..25 dB: %.3f dB (%.0f s)" % (max(0, a.lo), worst, time.time() - t0))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(pts, [r["rmse_raw"] for r in rows], "o-", label="raw")
        ax.plot(pts, [r["rmse_cal"] for r in rows], "s-", label="calibrated")
        ax.axhline(0.5, color="k", ls=":")
        ax.set_xlabel("true Es/N0 (dB)")
        ax.set_ylabel("RMSE of estimate (dB)")
        ax.grid(True)
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(a.out, "snr_calibration.png"), dpi=120)
    except ImportError:
        print("matplotlib missing: no PNG")
    return 0 if worst <= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
