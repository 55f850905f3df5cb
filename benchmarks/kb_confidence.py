#!/usr/bin/env python3
"""How well the semantic decoder's word confidence separates right from wrong tokens (kb.confident_word_prob).

    python benchmarks/kb_confidence.py [--snr -3,0,3,6,9,12,15] [--seed 0]

Every speech transcript in data/speech is sent through the shipped codec over AWGN at each SNR; per token, the
confidence p1/(p1+p2) of ``SemanticCodec.decode_with_confidence`` is compared with whether the token is right.
Prints, per threshold, the share of tokens at or above it, their accuracy, and the share of wrong tokens below it
(the ones the receiver's LLM may correct).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from host_pipeline.codec import SemanticCodec, channel  # noqa: E402
from host_pipeline.codec.config import CodecConfig  # noqa: E402
from host_pipeline.paths import real_data_dir  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--snr", default="-3,0,3,6,9,12,15")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    codec = SemanticCodec.load(CodecConfig(unknown_chars="replace"))
    sents = [r["transcript"] for r in csv.DictReader(open(real_data_dir() / "speech" / "transcripts.tsv",
                                                          encoding="utf-8"), delimiter="\t")]
    g = torch.Generator().manual_seed(args.seed)
    conf, right = [], []
    for snr in (float(v) for v in args.snr.split(",")):
        for s in sents:
            msg = codec.encode(s)
            out = channel.transmit(torch.as_tensor(msg.symbols), snr, "awgn", generator=g)
            ids, p = codec.decode_candidates(out.symbols.numpy(), out.noise_var.numpy(), msg.n_tokens, k=2)
            conf.append(p[:, 0] / p.sum(1))
            right.append(ids[:, 0] == np.asarray(msg.token_ids))
    conf, right = np.concatenate(conf), np.concatenate(right)
    print(f"{len(sents)} sentences x SNR {args.snr} dB: {conf.size} tokens, {(~right).sum()} wrong")
    print("| threshold | tokens at or above | their accuracy | wrong tokens below (editable) |\n|---|---|---|---|")
    for th in (0.7, 0.8, 0.9, 0.95):
        hi = conf >= th
        print(f"| {th} | {hi.mean():.1%} | {right[hi].mean():.2%} | {(~right[~hi]).sum() / (~right).sum():.1%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
