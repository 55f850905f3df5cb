#!/usr/bin/env python3
"""What a missed link association costs, and what re-sending it on request saves (numpy Monte-Carlo, seeded).

A receiver learns the link's association (sender, format, uses per token, ...) from association bursts; a message
header that arrives before one is dropped (``Receiver.n_no_association``). burst_tx sends one before the first
message and every ``header.ASSOC_EVERY`` (32) messages, so a receiver that misses it loses up to 32 messages. The
transmitter host now asks for one (PDU key ``associate``) when the receiver has not reported on its previous
message (``link.reassociate_after_s``). Each session here: ``--messages`` semantic messages (12 tokens x 8 uses)
through AWGN at Es/N0, random CFO (+-0.2 % of the sample rate), delay and gaps, into one streaming
``frame.Receiver``; a message counts as delivered when its PDU comes out (what the receiver's SNR report needs).

    policy "start only":  the association before the first message only (the periodic repeat is 32 messages away)
    policy "on request":  also before every message that follows an undelivered one

    nice -n 19 python benchmarks/phy_association_loss.py [--sessions 300 --messages 5 --snr -2 -1 0]
        [--out out/bench/phy_association_loss]

Writes OUT/association_loss.csv: per policy and Es/N0, messages delivered, sessions that lost every message, and
messages lost in sessions whose first association was missed. ``--parts ideal`` (OUT/association_ideal.csv): the
association block and a message header decoded from their own symbols with AWGN only, no synchronisation (the
code's share of the loss).
"""

from __future__ import annotations

import argparse
import csv
import os
import time

import numpy as np
from gnuradio.lgmtsc import frame, sim
from gnuradio.lgmtsc import pdu_format as pf
from phy_common import META

POLICIES = ("start only", "on request")
N_TOKENS, USES_PER_TOKEN = 12, 8


def _through(x, rng, esn0_db):
    y = sim.channel(x, rng, esn0_db, cfo_=rng.uniform(-0.002, 0.002), delay_=rng.uniform(0, 8),
                    lead=int(rng.integers(300, 800)))
    return np.concatenate([y, sim.awgn(np.zeros(600), esn0_db, 4, rng).astype(np.complex64)])


def session(seed: int, esn0_db: float, n_messages: int, policy: str) -> dict:
    """One session; the channel of message k (and of the association before it) is drawn from (seed, k), so both
    policies see the same noise on the bursts they share."""
    f = frame.Frame()
    rx = frame.Receiver(f)
    delivered, first_assoc_ok, prev_ok = [], None, True
    for k in range(n_messages):
        rng = np.random.default_rng([seed, k])
        pay = np.exp(2j * np.pi * (rng.integers(0, 4, N_TOKENS * USES_PER_TOKEN) + 0.5) / 4).astype(np.complex64)
        x, assoc = f.build_burst(dict(META, seq=k, n_tokens=N_TOKENS, uses_per_token=USES_PER_TOKEN), pay)
        send_assoc = k == 0 or (policy == "on request" and not prev_ok)
        got = []
        if send_assoc:
            n_assoc = rx.n_associations
            got += rx.feed(_through(f.association_burst(assoc), np.random.default_rng([seed, k, 1]), esn0_db))
            if k == 0:
                first_assoc_ok = rx.n_associations > n_assoc
        got += rx.feed(_through(x, rng, esn0_db))
        prev_ok = any(m[pf.KEY_SEQ] == k for m, _ in got)
        delivered.append(prev_ok)
    return {"delivered": delivered, "first_assoc_ok": first_assoc_ok}


def ideal(esn0_db: float, n: int, seed: int) -> dict:
    """The association block and an association header through AWGN on their symbols (perfect synchronisation)."""
    from gnuradio.lgmtsc import header as H

    f = frame.Frame()
    _, assoc = f.build_burst(dict(META, n_tokens=N_TOKENS, uses_per_token=USES_PER_TOKEN),
                             np.ones(N_TOKENS * USES_PER_TOKEN, np.complex64))
    block, hdr = assoc.symbols(), H.Header(H.Kind.ASSOCIATION, assoc.seq_base, 0).symbols()
    rng, nv = np.random.default_rng([seed, int(round(10 * esn0_db)) + 1000]), 10 ** (-esn0_db / 10)

    def noisy(x):
        return x + np.sqrt(nv / 2) * (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size))

    ok_block = sum(H.LinkAssociation.decode(noisy(block), np.full(block.size, nv)) is not None for _ in range(n))
    ok_hdr = sum(H.Header.decode(noisy(hdr), np.full(hdr.size, nv)) is not None for _ in range(n))
    return dict(esn0_db=esn0_db, trials=n, association_block_decoded=ok_block, header_decoded=ok_hdr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=300)
    ap.add_argument("--messages", type=int, default=5)
    ap.add_argument("--snr", type=float, nargs="+", default=[-2.0, -1.0, 0.0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="out/bench/phy_association_loss")
    ap.add_argument("--parts", default="sessions,ideal", help="sessions, ideal, or both")
    ap.add_argument("--ideal-trials", type=int, default=2000)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if "ideal" in a.parts:
        rows = [ideal(esn0, a.ideal_trials, a.seed) for esn0 in a.snr]
        for r in rows:
            print(f"ideal Es/N0 {r['esn0_db']:+.1f} dB: association block {r['association_block_decoded']}/"
                  f"{r['trials']}, header {r['header_decoded']}/{r['trials']}", flush=True)
        with open(os.path.join(a.out, "association_ideal.csv"), "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    if "sessions" not in a.parts:
        return
    rows, t0 = [], time.time()
    for esn0 in a.snr:
        for policy in POLICIES:
            res = [session(a.seed * 100_000 + s, esn0, a.messages, policy) for s in range(a.sessions)]
            d = np.array([r["delivered"] for r in res])
            missed = np.array([not r["first_assoc_ok"] for r in res])
            row = dict(policy=policy, esn0_db=esn0, sessions=a.sessions, messages=int(d.size),
                       delivered=int(d.sum()), delivered_rate=round(float(d.mean()), 4),
                       sessions_all_lost=int((~d.any(axis=1)).sum()),
                       first_association_missed=int(missed.sum()),
                       lost_per_missed_session=round(float((~d[missed]).sum(axis=1).mean()), 2) if missed.any() else "")
            rows.append(row)
            print(f"Es/N0 {esn0:+.1f} dB  {policy:<10}  delivered {row['delivered']}/{row['messages']} "
                  f"({row['delivered_rate']:.2%}); sessions with nothing delivered {row['sessions_all_lost']}; "
                  f"first association missed in {row['first_association_missed']} sessions, which lost "
                  f"{row['lost_per_missed_session']} of {a.messages} messages on average  [{time.time() - t0:.0f} s]",
                  flush=True)
    with open(os.path.join(a.out, "association_loss.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {a.out}/association_loss.csv")


if __name__ == "__main__":
    main()
