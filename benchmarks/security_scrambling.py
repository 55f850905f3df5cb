"""Semantic-mode confidentiality: token accuracy vs SNR for the legitimate receiver and for eavesdroppers.

Held-out corpus messages (``evaluation.codec.held_out_messages``, seeded) are encoded by the semantic codec,
scrambled with the sender's key (``link.crypto.scramble_symbols``: keyed permutation + phase rotations, a fresh
one per sequence number), and sent through the codec's channel model (AWGN, or flat Rayleigh with ZF
equalisation and its CSI) at each Es/N0; the plain and the scrambled symbols of a message meet the same fade and
the same noise samples (the equalised noise ``n / h`` of one draw), so ``plain`` and ``receiver`` differ only by
the scrambling. Decoded (argmax token ids, ``SemanticCodec.decode_token_ids``) by

- ``plain``: the same messages without scrambling (today's link without confidentiality: the reference);
- ``receiver``: the key holder, which unscrambles the symbols and their noise variance before decoding;
- ``eve_public``: an eavesdropper with the public codec and no key, decoding the symbols as received;
- ``eve_wrong_key``: an eavesdropper who knows the scheme and unscrambles with a key of its own.

Token accuracy = exact token ids at their positions. Chance: the share of positions an eavesdropper would get by
always guessing the most frequent token of these messages (``chance_majority``), which it could do without
receiving anything. Counts and 95 % Wilson intervals per point.

    nice -n 19 python benchmarks/security_scrambling.py [--messages 100] [--figure docs/images/security_scrambling.png]

Writes OUT/security_scrambling.csv and .json (default OUT = out/bench/security_scrambling).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from host_pipeline.evaluation.stats import wilson  # noqa: E402
from host_pipeline.link.crypto import scramble_symbols, unscramble_symbols  # noqa: E402

DECODERS = ("plain", "receiver", "eve_public", "eve_wrong_key")


def run(n_messages: int, snrs: list[float], channels: list[str], seed: int) -> tuple[list[dict], dict]:
    import torch

    from host_pipeline.codec import SemanticCodec
    from host_pipeline.codec import channel as ch
    from host_pipeline.codec.config import CodecConfig
    from host_pipeline.evaluation.codec import held_out_messages

    torch.set_num_threads(1)
    codec = SemanticCodec.load(CodecConfig())
    texts = held_out_messages(codec.encoder, n_messages, seed=11)
    enc = [codec.encode(t) for t in texts]
    rng = np.random.default_rng(seed)
    key, eve_key = rng.bytes(32), rng.bytes(32)
    sender = 1
    truth = [np.asarray(e.token_ids) for e in enc]
    all_ids = np.concatenate(truth)
    chance = Counter(all_ids.tolist()).most_common(1)[0][1] / all_ids.size
    rows = []
    for channel in channels:
        for snr in snrs:
            g = torch.Generator().manual_seed(seed * 1000 + int(round(snr * 10)) + (0 if channel == "awgn" else 7))
            hits = dict.fromkeys(DECODERS, 0)
            for i, e in enumerate(enc):
                seq = i + 1
                x = np.asarray(e.symbols, np.complex64)
                s = scramble_symbols(key, sender, seq, x)
                # one channel draw for both: one fade per message (flat), so the equalised output is x + n / h;
                # the scrambled symbols get the very same n / h at each position (same channel, same noise)
                out = ch.transmit(torch.as_tensor(x), snr, channel, generator=g)
                y_plain, nv_plain = out.symbols.numpy(), out.noise_var.numpy()
                y, nv = s + (y_plain - x), nv_plain
                got = {"plain": codec.decode_token_ids(y_plain, nv_plain, e.n_tokens)}
                u, unv = unscramble_symbols(key, sender, seq, y, nv)
                got["receiver"] = codec.decode_token_ids(u, unv, e.n_tokens)
                got["eve_public"] = codec.decode_token_ids(y, nv, e.n_tokens)
                w, wnv = unscramble_symbols(eve_key, sender, seq, y, nv)
                got["eve_wrong_key"] = codec.decode_token_ids(w, wnv, e.n_tokens)
                for d in DECODERS:
                    hits[d] += int((np.asarray(got[d]) == truth[i]).sum())
            n = int(all_ids.size)
            row = {"channel": channel, "esn0_db": snr, "tokens": n, "chance_majority": round(chance, 4)}
            for d in DECODERS:
                lo, hi = wilson(hits[d], n)
                row[d] = round(hits[d] / n, 4)
                row[f"{d}_ci95"] = f"{lo:.4f}-{hi:.4f}"
            rows.append(row)
            print(json.dumps(row), flush=True)
    meta = {"messages": len(texts), "tokens": int(all_ids.size), "seed": seed, "codec": CodecConfig().checkpoint,
            "chance_majority": round(chance, 4)}
    return rows, meta


def figure(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    channels = sorted({r["channel"] for r in rows})
    fig, axes = plt.subplots(1, len(channels), figsize=(5.2 * len(channels), 3.8), sharey=True, squeeze=False)
    style = {"plain": ("no scrambling", "k", ":"), "receiver": ("receiver (key)", "tab:blue", "-"),
             "eve_public": ("eavesdropper, public codec", "tab:red", "-"),
             "eve_wrong_key": ("eavesdropper, wrong key", "tab:orange", "--")}
    for ax, channel in zip(axes[0], channels):
        rs = [r for r in rows if r["channel"] == channel]
        snr = [r["esn0_db"] for r in rs]
        for d, (label, color, ls) in style.items():
            ax.plot(snr, [r[d] for r in rs], ls, color=color, marker="o", ms=3, label=label)
        ax.axhline(rs[0]["chance_majority"], color="gray", lw=0.8, ls="-.", label="chance (majority token)")
        ax.set_title(channel.upper() if channel == "awgn" else "Rayleigh (flat, ZF)")
        ax.set_xlabel("Es/N0 (dB)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("token accuracy")
    axes[0][0].legend(fontsize=8, loc="center right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=100)
    ap.add_argument("--snrs", type=float, nargs="+", default=[-5, 0, 5, 10, 20])
    ap.add_argument("--channels", nargs="+", default=["awgn", "rayleigh"], choices=["awgn", "rayleigh"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("out/bench/security_scrambling"))
    ap.add_argument("--figure", type=Path, help="also write the figure here (docs/images/security_scrambling.png)")
    a = ap.parse_args()
    t = time.time()
    rows, meta = run(a.messages, a.snrs, a.channels, a.seed)
    a.out.mkdir(parents=True, exist_ok=True)
    with open(a.out / "security_scrambling.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    meta["seconds"] = round(time.time() - t, 1)
    (a.out / "security_scrambling.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    figure(rows, a.out / "security_scrambling.png")
    if a.figure:
        figure(rows, a.figure)
    print(f"wrote {a.out}/security_scrambling.csv ({meta['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
