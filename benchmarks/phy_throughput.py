#!/usr/bin/env python3
"""Throughput (Msamples/s) of the TX + RX chain on one core and per-burst latency, seeded.

* framing-module level: frame.Frame.build_burst (TX) and frame.Receiver.feed (RX) on a
  stream of bursts separated by noise gaps, and on noise only (search cost);
* GNU Radio level: burst_tx -> burst_rx flowgraph, all bursts posted then ('system','done');
* latency: flowgraph running, one PDU posted at a time, time until its RX PDU arrives.

The process is pinned to CPU 0 (one core). Timing lives here, never in tests.

    python benchmarks/phy_throughput.py [--out out/bench/phy_throughput]
"""
import argparse
import csv
import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pmt  # noqa: E402
from gnuradio import (  # noqa: E402
    blocks,
    gr,
    lgmtsc,  # noqa: E402
)
from phy_common import frame, pf, semantic_meta, sim  # noqa: E402


class _Stamp(gr.basic_block):
    """Message sink that timestamps arrivals."""

    def __init__(self):
        gr.basic_block.__init__(self, "stamp", None, None)
        self.message_port_register_in(pmt.intern("in"))
        self.set_msg_handler(pmt.intern("in"), self._h)
        self.t = []
        self.ev = threading.Event()

    def _h(self, msg):
        self.t.append(time.perf_counter())
        self.ev.set()


def payload(rng, n):
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="out/bench/phy_throughput")
    ap.add_argument("--bursts", type=int, default=60)
    ap.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    rng = np.random.default_rng(a.seed)
    f = frame.Frame()
    rows = []
    # --- framing-module level
    for n_sym in (256, 2048, 8192):
        pays = [payload(rng, n_sym) for _ in range(a.bursts)]
        t = time.perf_counter()
        built = [f.build_burst(semantic_meta(n_sym, seq=i), p) for i, p in enumerate(pays)]
        bursts = [b for b, _ in built]
        t_tx = time.perf_counter() - t
        gap = lambda: sim.awgn(np.zeros(int(rng.integers(500, 2000))), 20.0, 4, rng)  # noqa: E731
        stream = np.concatenate([np.concatenate([gap(), sim.awgn(b, 20.0, 4, rng)]) for b in bursts]
                                + [gap()]).astype(np.complex64)
        rx = frame.Receiver(f, association=built[0][1])
        t = time.perf_counter()
        n_out = 0
        for c in range(0, stream.size, 65536):
            n_out += len(rx.feed(stream[c:c + 65536]))
        t_rx = time.perf_counter() - t
        ns_tx = sum(b.size for b in bursts)
        rows.append(dict(level="frame", payload_symbols=n_sym, samples=stream.size, bursts_ok=n_out,
                         tx_msps=ns_tx / t_tx / 1e6, rx_msps=stream.size / t_rx / 1e6,
                         chain_msps=ns_tx / (t_tx + t_rx * ns_tx / stream.size) / 1e6,
                         rx_ms_per_burst=1e3 * t_rx / a.bursts))
    noise = sim.awgn(np.zeros(4_000_000), 0.0, 4, rng).astype(np.complex64)
    rx = frame.Receiver(f)
    t = time.perf_counter()
    for c in range(0, noise.size, 65536):
        rx.feed(noise[c:c + 65536])
    t_n = time.perf_counter() - t
    rows.append(dict(level="frame_noise_only", payload_symbols=0, samples=noise.size, bursts_ok=0,
                     tx_msps="", rx_msps=noise.size / t_n / 1e6, chain_msps="", rx_ms_per_burst=""))
    # --- GNU Radio flowgraph
    for n_sym in (256, 2048, 8192):
        tb = gr.top_block()
        tx = lgmtsc.burst_tx(max_messages=1)   # back-to-back bursts, one message each
        rxb = lgmtsc.burst_rx()
        dbg = blocks.message_debug()
        tb.connect(tx, rxb)
        tb.msg_connect(rxb, "pdus", dbg, "store")
        pdus = [pf.make_pdu(semantic_meta(n_sym, seq=i), payload(rng, n_sym)) for i in range(a.bursts)]
        for p in pdus:
            tx.to_basic_block()._post(pmt.intern("in"), p)
        tx.to_basic_block()._post(pmt.intern("system"), pmt.cons(pmt.intern("done"), pmt.from_long(1)))
        ns = a.bursts * (f.burst_samples(n_sym) + f.guard_samples(f.n_hdr + 32 + n_sym))   # + 32: the tag
        t = time.perf_counter()
        tb.run()
        dt = time.perf_counter() - t
        rows.append(dict(level="flowgraph", payload_symbols=n_sym, samples=ns, bursts_ok=dbg.num_messages(),
                         tx_msps="", rx_msps="", chain_msps=ns / dt / 1e6, rx_ms_per_burst=1e3 * dt / a.bursts))
    # --- latency
    lat_rows = []
    for n_sym in (256, 2048):
        tb = gr.top_block()
        tx = lgmtsc.burst_tx(max_messages=1)   # back-to-back bursts, one message each
        rxb = lgmtsc.burst_rx()
        st = _Stamp()
        tb.connect(tx, rxb)
        tb.msg_connect(rxb, "pdus", st, "in")
        tb.start()
        lats = []
        for i in range(30):
            st.ev.clear()
            p = pf.make_pdu(semantic_meta(n_sym, seq=i), payload(rng, n_sym))
            t = time.perf_counter()
            tx.to_basic_block()._post(pmt.intern("in"), p)
            if st.ev.wait(5.0):
                lats.append(st.t[-1] - t)
        tb.stop()
        tb.wait()
        lat_rows.append(dict(payload_symbols=n_sym, burst_samples=f.burst_samples(n_sym), n=len(lats),
                             median_ms=1e3 * np.median(lats), p95_ms=1e3 * np.percentile(lats, 95)))
    with open(os.path.join(a.out, "throughput.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()})
    with open(os.path.join(a.out, "latency.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(lat_rows[0]))
        w.writeheader()
        for r in lat_rows:
            w.writerow({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()})
    print("level              payload  TX Msps  RX Msps  chain Msps  ms/burst  ok")
    for r in rows:
        fmt = lambda v: ("%8.2f" % v) if isinstance(v, float) else "%8s" % v  # noqa: E731
        print("%-18s %7d %s %s %s   %s  %d/%d" % (r["level"], r["payload_symbols"], fmt(r["tx_msps"]),
                                                 fmt(r["rx_msps"]), fmt(r["chain_msps"]),
                                                 fmt(r["rx_ms_per_burst"]), r["bursts_ok"], a.bursts))
    for r in lat_rows:
        print("latency payload %5d symbols (%d samples): median %.1f ms, p95 %.1f ms (n=%d)"
              % (r["payload_symbols"], r["burst_samples"], r["median_ms"], r["p95_ms"], r["n"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
