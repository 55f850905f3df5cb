#!/usr/bin/env python3
"""Digital-mode BER/FER of the burst PHY, seeded; writes CSV + PNG, prints the figures.

Uncoded BER (fec=none) through the whole chain (burst framing, sync, channel estimation,
MMSE, tracking) against the closed forms: AWGN via a GNU Radio flowgraph
(burst_tx -> lgmtsc.awgn_channel -> burst_rx), flat Rayleigh block fading (h ~ CN(0,1)
per burst) via the numpy channel and the same receiver code (frame.Receiver). A point
"matches" when the error count lies within the 99 % binomial interval of the closed form;
the implementation loss (dB shift that fits the closed form) is printed too. Coded BER/FER
(cc K=7 r=1/2 and LDPC n=1800 k=902, QPSK and 16-QAM) over AWGN vs Eb/N0.

    python benchmarks/phy_ber.py [--out out/bench/phy_ber] [--quick]
"""
import argparse
import csv
import os
import sys
import time
import zlib

import numpy as np
from scipy.optimize import brentq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from phy_common import (META, ber_awgn_bpsk, ber_rayleigh_bpsk, ber_awgn_16qam, bit_errors,  # noqa
                        digital_rate, pool_run, frame, pf)
import pmt  # noqa: E402
from gnuradio import gr, blocks  # noqa: E402
from gnuradio import lgmtsc  # noqa: E402


def awgn_flowgraph_ber(mod, ebn0_db, n_bursts, nbytes, seed):
    f = frame.Frame()
    esn0 = ebn0_db + 10 * np.log10(digital_rate(f, nbytes, mod, "none"))
    rng = np.random.default_rng(seed)
    tb = gr.top_block()
    tx = lgmtsc.burst_tx(modulation=mod, fec="none", max_messages=1)   # one burst per message
    ch = lgmtsc.awgn_channel(esn0_db=esn0, sps=4, cfo=float(rng.uniform(-0.003, 0.003)),
                             seed=int(rng.integers(1, 2 ** 31)))
    rx = lgmtsc.burst_rx(calibration="none")
    dbg = blocks.message_debug()
    tb.connect(tx, ch, rx)
    tb.msg_connect(rx, "pdus", dbg, "store")
    sent = {}
    for i in range(n_bursts):
        d = rng.integers(0, 256, nbytes, dtype=np.uint8)
        sent[i] = d
        tx.to_basic_block()._post(pmt.intern("in"), pf.make_pdu(
            dict(META, mode="digital", n_tokens=nbytes, seq=i, modulation=mod, fec="none"), d))
    tx.to_basic_block()._post(pmt.intern("system"), pmt.cons(pmt.intern("done"), pmt.from_long(1)))
    tb.run()
    bits = errors = 0
    got = set()
    for k in range(dbg.num_messages()):
        m, p = pf.parse_pdu(dbg.get_message(k))
        if m[pf.KEY_SEQ] in sent and m[pf.KEY_SEQ] not in got:
            got.add(m[pf.KEY_SEQ])
            bits += 8 * nbytes
            errors += bit_errors(p, sent[m[pf.KEY_SEQ]])
    return dict(bits=bits, errors=errors, lost=n_bursts - len(got), frames=n_bursts)


def rayleigh_burst_var(ebn0_db):
    """Variance over h ~ CN(0,1) of the conditional BER 0.5 erfc(sqrt(|h|^2 Eb/N0))."""
    from scipy.integrate import quad
    g = 10 ** (ebn0_db / 10)
    m2 = quad(lambda x: float(ber_awgn_bpsk(10 * np.log10(max(x * g, 1e-300)))) ** 2 * np.exp(-x),
              0, np.inf, limit=200)[0]
    return m2 - float(ber_rayleigh_bpsk(ebn0_db)) ** 2


def check(k, n, p):
    """Within the 99 % (normal approx.) binomial interval of the closed form?"""
    sd = np.sqrt(n * p * (1 - p))
    return abs(k - n * p) <= 2.576 * sd + 1, (k - n * p) / max(sd, 1e-12)


def impl_loss(ber, ebn0, theory):
    try:
        return brentq(lambda d: theory(ebn0 - d) - ber, -6, 6)
    except ValueError:
        return float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="out/bench/phy_ber")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="fewer bursts (smoke run)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    q = 0.1 if a.quick else 1.0
    t0 = time.time()
    rows = []
    # --- uncoded, AWGN, GNU Radio flowgraph
    for mod in ("bpsk", "qpsk"):
        for eb in (0.0, 3.0, 6.0, 9.0):
            nb = int(max(10, q * (40 if eb < 8 else 250)))
            r = awgn_flowgraph_ber(mod, eb, nb, 1000, a.seed + int(eb * 10) + (mod == "qpsk") * 1000)
            p = float(ber_awgn_bpsk(eb))
            ber = r["errors"] / max(r["bits"], 1)
            ok, z = check(r["errors"], r["bits"], p)
            rows.append(dict(channel="awgn", mod=mod, fec="none", ebn0_db=eb, bits=r["bits"], errors=r["errors"],
                             ber=ber, theory=p, z=round(z, 2), within_ci=ok, lost_bursts=r["lost"],
                             impl_loss_db=round(impl_loss(ber, eb, ber_awgn_bpsk), 3)))
            print("AWGN     %-5s Eb/N0 %4.1f dB: BER %.3e (theory %.3e, z=%+.2f, %s) bits %d lost %d"
                  % (mod, eb, ber, p, z, "ok" if ok else "OUT", r["bits"], r["lost"]), flush=True)
    # --- uncoded, flat Rayleigh block fading (numpy channel, same receiver)
    for mod in ("bpsk", "qpsk"):
        for eb in (0.0, 10.0, 20.0):
            f = frame.Frame()
            esn0 = eb + 10 * np.log10(digital_rate(f, 100, mod, "none"))
            n = int(max(40, q * 1200))
            jobs = [(a.seed * 7919 + int(eb) * 13 + w + (mod == "qpsk") * 100, n // 2, 100, mod, "none",
                     esn0, True) for w in range(2)]
            r = pool_run(jobs)
            p = float(ber_rayleigh_bpsk(eb))
            ber_det = r["errors"] / max(r["bits"], 1)
            ber_all = r["errors_all"] / r["bits_all"]
            ber_hyb = r["errors_hybrid"] / r["bits_all"]
            # per-burst fading: bursts, not bits, are the independent trials; the spread of a
            # burst's conditional BER over the fade distribution sets the confidence interval
            nf = r["frames"]
            sd = np.sqrt(p * (1 - p) / r["bits_all"] + rayleigh_burst_var(eb) / nf)
            z = (ber_hyb - p) / sd
            ok = abs(z) <= 2.576
            rows.append(dict(channel="rayleigh", mod=mod, fec="none", ebn0_db=eb, bits=r["bits_all"],
                             errors=round(r["errors_hybrid"], 1), ber=ber_hyb, theory=p, z=round(z, 2),
                             within_ci=ok, lost_bursts=r["lost"],
                             impl_loss_db=round(impl_loss(ber_hyb, eb, ber_rayleigh_bpsk), 3),
                             ber_detected_only=ber_det, ber_lost_as_half=ber_all))
            print("Rayleigh %-5s Eb/N0 %4.1f dB: BER %.3e (theory %.3e, z=%+.2f, %s) detected-only %.3e "
                  "lost-as-0.5 %.3e lost %d/%d" % (mod, eb, ber_hyb, p, z, "ok" if ok else "OUT", ber_det,
                                                   ber_all, r["lost"], nf), flush=True)
    with open(os.path.join(a.out, "ber_uncoded.csv"), "w", newline="") as fh:
        keys = sorted({k for r in rows for k in r}, key=lambda k: list(rows[-1]).index(k) if k in rows[-1] else 99)
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    # --- coded curves (AWGN)
    crow = []
    for mod, fec in (("qpsk", "cc"), ("qpsk", "ldpc"), ("16qam", "cc"), ("16qam", "ldpc"), ("qpsk", "none")):
        for eb in np.arange(0.0, 8.01, 1.0):
            f = frame.Frame()
            esn0 = eb + 10 * np.log10(digital_rate(f, 200, mod, fec))
            n = int(max(10, q * 100))
            salt = zlib.crc32(f'{mod}/{fec}'.encode()) % 1000  # stable across runs (hash() of a str is not)
            jobs = [(a.seed * 31 + int(eb * 10) + w * 7 + salt, n // 2, 200, mod, fec, esn0, False)
                    for w in range(2)]
            r = pool_run(jobs)
            ber = r["errors_all"] / r["bits_all"]
            fer = r["frame_err"] / r["frames"]
            crow.append(dict(mod=mod, fec=fec, ebn0_db=eb, esn0_db=round(esn0, 3), frames=r["frames"],
                             fer=fer, ber=ber, lost=r["lost"]))
            print("coded %-5s %-4s Eb/N0 %3.1f dB (Es/N0 %5.2f): BER %.2e FER %.3f lost %d"
                  % (mod, fec, eb, esn0, ber, fer, r["lost"]), flush=True)
            if fer == 0 and ber == 0:
                break
    with open(os.path.join(a.out, "ber_coded.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(crow[0]))
        w.writeheader()
        w.writerows(crow)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
        e = np.linspace(0, 21, 200)
        ax[0].semilogy(e, ber_awgn_bpsk(e), "k-", label="AWGN theory")
        ax[0].semilogy(e, ber_rayleigh_bpsk(e), "k--", label="Rayleigh theory")
        for ch, mk in (("awgn", "o"), ("rayleigh", "s")):
            for mod, c in (("bpsk", "C0"), ("qpsk", "C1")):
                rr = [r for r in rows if r["channel"] == ch and r["mod"] == mod and r["ber"] > 0]
                ax[0].semilogy([r["ebn0_db"] for r in rr], [r["ber"] for r in rr], mk, color=c,
                               label="%s %s (measured)" % (ch, mod))
        ax[0].set_ylim(1e-6, 0.5)
        ax[0].set_xlabel("Eb/N0 (dB)")
        ax[0].set_ylabel("BER (uncoded)")
        ax[0].grid(True, which="both")
        ax[0].legend(fontsize=7)
        for mod, fec in sorted({(r["mod"], r["fec"]) for r in crow}):
            rr = [r for r in crow if r["mod"] == mod and r["fec"] == fec]
            ax[1].semilogy([r["ebn0_db"] for r in rr], [max(r["fer"], 1e-3) for r in rr], "o-",
                           label="FER %s %s" % (mod, fec))
            ax[1].semilogy([r["ebn0_db"] for r in rr], [max(r["ber"], 1e-7) for r in rr], "x:",
                           label="BER %s %s" % (mod, fec))
        ax[1].set_xlabel("Eb/N0 (dB), 200-byte messages")
        ax[1].set_ylabel("FER / BER (AWGN)")
        ax[1].grid(True, which="both")
        ax[1].legend(fontsize=6, ncol=2)
        fig.tight_layout()
        fig.savefig(os.path.join(a.out, "ber.png"), dpi=120)
    except ImportError:
        print("matplotlib missing: no PNG")
    print("done in %.0f s" % (time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
