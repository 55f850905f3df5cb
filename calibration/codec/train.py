#!/usr/bin/env python3
"""Train one codec checkpoint end to end: frozen-BERT features -> channel encoder -> differentiable AWGN /
Rayleigh channel (SNR drawn per message) -> channel decoder -> tied semantic decoder, cross-entropy on tokens.

    HF_HUB_OFFLINE=1 python calibration/codec/train.py --uses 16 --channel mixed --steps 2500

Frozen-BERT features of the corpus are computed once and cached ($LGMTSC_HOME/cache/codec). Everything is
seeded: re-running gives the same checkpoint up to floating-point non-determinism. Writes
host_pipeline/codec/checkpoints/<name>.safetensors (fp16) and <name>.json (model card with its SHA-256).
"""

from __future__ import annotations

import argparse
import math
import random
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from host_pipeline.codec.codec import CHECKPOINT_DIR, decode_ids, encode_features, through_channel
from host_pipeline.codec.corpus import load_corpus
from host_pipeline.codec.encoder import BertSemanticEncoder
from host_pipeline.codec.features import FeatureSet, compute_features
from host_pipeline.codec.model import CodecArch, CodecModel, save_checkpoint

MAX_TOKENS = 64  # training items are chunks of at most this many tokens


def bucketed_batches(fs: FeatureSet, batch_tokens: int, gen: torch.Generator) -> list[list[int]]:
    """Items of similar length grouped into batches of about ``batch_tokens`` padded tokens, shuffled."""
    lens = fs.lengths()
    noise = torch.rand(len(lens), generator=gen)
    order = sorted(range(len(lens)), key=lambda i: (int(lens[i]) // 4, float(noise[i])))
    batches, cur, longest = [], [], 0
    for i in order:
        n = int(lens[i])
        if cur and max(longest, n) * (len(cur) + 1) > batch_tokens:
            batches.append(cur)
            cur, longest = [], 0
        cur.append(i)
        longest = max(longest, n)
    if cur:
        batches.append(cur)
    perm = torch.randperm(len(batches), generator=gen).tolist()
    return [batches[p] for p in perm]


def nearest_tokens(emb: torch.Tensor, ids: torch.Tensor, k: int) -> torch.Tensor:
    """For each id, the ``k`` vocabulary entries with the most similar embeddings (hard negatives)."""
    e = F.normalize(emb, dim=-1)
    out = []
    for s in range(0, len(ids), 2048):
        sim = e[ids[s : s + 2048]] @ e.t()
        out.append(sim.topk(k + 1, dim=-1).indices[:, 1:])
    return torch.cat(out)


@torch.no_grad()
def held_out_accuracy(model, emb, fs: FeatureSet, esn0_db: float, channel: str, items: list[int], seed: int) -> float:
    """Full-vocabulary token accuracy on held-out items at one SNR (seeded channel)."""
    gen = torch.Generator().manual_seed(seed)
    right = total = 0
    for s in range(0, len(items), 64):
        feats, ids, mask = fs.batch(items[s : s + 64])
        y, nv = through_channel(encode_features(model, feats, mask), esn0_db, channel, gen)
        pred = decode_ids(model, emb, y, nv, mask)
        right += int(((pred == ids) & mask).sum())
        total += int(mask.sum())
    return right / max(total, 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--encoder", default="minilm-l6", help="registry name or BERT directory")
    ap.add_argument("--uses", type=int, default=16, help="complex channel uses per token")
    ap.add_argument("--channel", choices=["awgn", "rayleigh", "mixed"], default="mixed",
                    help="training channel (mixed: each message AWGN or Rayleigh with probability 1/2)")
    ap.add_argument("--snr-min", type=float, default=-5.0)
    ap.add_argument("--snr-max", type=float, default=20.0)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch-tokens", type=int, default=768)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--random-negatives", type=int, default=768, help="sampled-softmax negatives per step")
    ap.add_argument("--hard-negatives", type=int, default=2, help="nearest-embedding negatives per target")
    ap.add_argument("--mlp-width", type=int, default=384)
    ap.add_argument("--context-layers", type=int, default=2)
    ap.add_argument("--features", choices=["last", "last+embeddings"], default="last",
                    help="per-token feature: last hidden state, or concatenated with the embedding layer's output")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--name", help="checkpoint name (default <encoder>-u<uses>[-<channel>])")
    ap.add_argument("--out", type=Path, default=CHECKPOINT_DIR)
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    t0 = time.time()
    corpus = load_corpus()
    encoder = BertSemanticEncoder.from_name(args.encoder)
    tag = Path(args.encoder).name
    kind_tag = "" if args.features == "last" else "-" + args.features.replace("+", "-")
    train_fs = compute_features(encoder, corpus.train, MAX_TOKENS, cache_key=f"{tag}{kind_tag}-train",
                                kind=args.features)
    test_fs = compute_features(encoder, corpus.test, MAX_TOKENS, cache_key=f"{tag}{kind_tag}-test", kind=args.features)
    emb = encoder.word_embeddings.detach()

    arch = CodecArch(encoder.hidden_size, encoder.vocab_size, args.uses, args.mlp_width, args.context_layers,
                     args.features)
    model = CodecModel(arch)
    counts = torch.bincount(train_fs.ids, minlength=arch.vocab_size).float()
    with torch.no_grad():  # start the output bias at a smoothed log unigram prior of the training split
        model.decoder.out_bias.copy_(0.5 * torch.log((counts + 1.0) / (counts.sum() + arch.vocab_size)))
    seen = torch.nonzero(counts > 0).squeeze(1)
    neighbours = torch.full((arch.vocab_size, max(args.hard_negatives, 1)), 0, dtype=torch.long)
    if args.hard_negatives:
        neighbours[seen] = nearest_tokens(emb, seen, args.hard_negatives)

    decay = [p for n, p in model.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr)
    warm = min(200, args.steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps))))
    gen = torch.Generator().manual_seed(args.seed)
    batches: list[list[int]] = []
    bar = tqdm(range(args.steps), desc=f"train u={args.uses} {args.channel}", unit="step")
    ema_loss = ema_acc = None
    model.train()
    for _step in bar:
        if not batches:
            batches = bucketed_batches(train_fs, args.batch_tokens, gen)
        feats, ids, mask = train_fs.batch(batches.pop())
        b = feats.shape[0]
        snr = args.snr_min + (args.snr_max - args.snr_min) * torch.rand(b, generator=gen)
        kind = {"awgn": "awgn", "rayleigh": "rayleigh"}.get(args.channel) or (torch.rand(b, generator=gen) < 0.5)
        y, nv = through_channel(encode_features(model, feats, mask), snr, kind, gen)
        h = model.decoder.hidden(y, nv, ~mask)[mask]
        target = ids[mask]
        cand = torch.cat([target, neighbours[target].reshape(-1)[: len(target) * args.hard_negatives],
                          torch.randint(0, arch.vocab_size, (args.random_negatives,), generator=gen)]).unique()
        logits = model.decoder.logits(h, emb, cand)
        tpos = torch.searchsorted(cand, target)
        loss = F.cross_entropy(logits, tpos)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        acc = float((logits.argmax(-1) == tpos).float().mean())
        ema_loss = float(loss) if ema_loss is None else 0.98 * ema_loss + 0.02 * float(loss)
        ema_acc = acc if ema_acc is None else 0.98 * ema_acc + 0.02 * acc
        bar.set_postfix(loss=f"{ema_loss:.3f}", acc=f"{ema_acc:.3f}", lr=f"{sched.get_last_lr()[0]:.1e}")
    model.eval()
    train_s = time.time() - t0

    gen_items = torch.Generator().manual_seed(1234)
    items = torch.randperm(len(test_fs), generator=gen_items)[:300].tolist()
    metrics = {}
    for channel in ("awgn", "rayleigh"):
        for snr in (0, 10):
            metrics[f"token_accuracy_{channel}_{snr}dB"] = round(
                held_out_accuracy(model, emb, test_fs, snr, channel, items, seed=snr + 100), 4)
    metrics["token_accuracy_noiseless"] = round(held_out_accuracy(model, emb, test_fs, 200.0, "awgn", items, 7), 4)
    print("held-out token accuracy:", metrics)

    name = args.name or f"{tag}-u{args.uses}" + ("" if args.channel == "mixed" else f"-{args.channel}")
    card = {
        "name": name,
        "description": f"semantic codec: {tag} token features -> {args.uses} complex channel uses per token",
        "encoder": {"name": args.encoder, "hidden_size": encoder.hidden_size, "vocab_size": encoder.vocab_size,
                    "embeddings_sha256": encoder.embeddings_sha256(),
                    "features": args.features + " ([CLS]/[SEP] dropped)"},
        "channel_uses_per_token": args.uses,
        "corpus": corpus.card(),
        "training": {
            "channel": args.channel,
            "rayleigh": "flat block fading, h ~ CN(0,1) per message, zero-forcing, CSI = N0/|h|^2",
            "snr": {"convention": "Es/N0 of unit-average-energy complex symbols", "distribution": "uniform",
                    "min_db": args.snr_min, "max_db": args.snr_max, "per": "message"},
            "loss": "cross-entropy over tokens, sampled softmax (targets + nearest-embedding + random negatives)",
            "mutual_information_term": None,
            "steps": args.steps, "batch_tokens": args.batch_tokens, "lr": args.lr, "seed": args.seed,
            "max_tokens_per_item": MAX_TOKENS, "threads": args.threads, "wall_s": round(train_s, 1),
            "command": "python calibration/codec/train.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])),
        },
        "metrics": {"held_out_items": len(items), **metrics},
    }
    card = save_checkpoint(model, args.out / f"{name}.safetensors", card)
    print(f"wrote {args.out / (name + '.safetensors')} ({card['bytes'] / 2**20:.2f} MiB, "
          f"sha256 {card['sha256'][:16]}...) "
          f"in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
