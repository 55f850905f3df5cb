"""``lgmtsc eval codec``: received-text quality versus SNR for codec checkpoints and the digital baseline.

Held-out messages go through the same rooms as in use (``encode_features`` -> ``channel.transmit`` ->
``decode_ids``, batched), the digital baseline gets the same number of channel uses per message. Writes
``codec_eval.csv``, one PNG per metric and ``codec_eval.json`` (settings and the command) into ``out_dir``.
"""

from __future__ import annotations

import csv
import json
import random
import time
from dataclasses import asdict
from pathlib import Path

import torch

from ..codec.codec import decode_ids, encode_features, resolve_checkpoint, through_channel
from ..codec.corpus import load_corpus
from ..codec.encoder import BertSemanticEncoder
from ..codec.features import compute_features
from ..codec.metrics import score
from ..codec.model import load_checkpoint

METRICS = ("token_accuracy", "bleu1", "bleu4", "similarity", "wer")
MAX_MESSAGE_TOKENS = 64


def held_out_messages(encoder: BertSemanticEncoder, n: int, seed: int) -> list[str]:
    """``n`` held-out corpus messages (seeded) that the vocabulary spells and that fit one 64-token item."""
    corpus = load_corpus()
    rng = random.Random(seed)
    pool = list(corpus.test)
    rng.shuffle(pool)
    out = []
    for t in pool:
        ids = encoder.tokenize(t, unknown_chars="replace")
        if encoder.unk_id not in ids and 3 <= len(ids) <= MAX_MESSAGE_TOKENS:
            out.append(t)
        if len(out) == n:
            break
    return out


def run_eval(checkpoints: list[str], out_dir: Path, encoder_name: str = "minilm-l6", channels=("awgn", "rayleigh"),
             snrs=tuple(x / 2 for x in range(-10, 41, 5)), n_messages: int = 300, baseline: bool = True,
             seed: int = 0, threads: int = 2, progress: bool = True, command: str = "") -> list[dict]:
    from tqdm import tqdm

    torch.set_num_threads(threads)
    out_dir.mkdir(parents=True, exist_ok=True)
    encoder = BertSemanticEncoder.from_name(encoder_name)
    emb = encoder.word_embeddings.detach()
    texts = held_out_messages(encoder, n_messages, seed)
    fs_by_kind: dict = {}
    fs = fs_by_kind["last"] = compute_features(encoder, texts, MAX_MESSAGE_TOKENS, progress=False)
    sent_ids = [fs.ids[fs.offsets[i]:fs.offsets[i + 1]].tolist() for i in range(len(fs))]
    refs = [encoder.detokenize(s) for s in sent_ids]
    digital = None
    if baseline:
        from ..codec.baseline import DigitalBaseline, TextCompressor

        digital = DigitalBaseline(TextCompressor.from_texts(load_corpus().train))
    models = []
    for name in checkpoints:
        model, card = load_checkpoint(resolve_checkpoint(name), encoder.hidden_size, encoder.vocab_size,
                                      encoder.embeddings_sha256())
        models.append((card.get("name", name), model))
    rows: list[dict] = []
    total = len(models) * len(channels) * len(snrs) * (2 if baseline else 1)
    bar = tqdm(total=total, desc="eval codec", unit="cond", disable=not progress)
    batches = [list(range(s, min(s + 64, len(fs)))) for s in range(0, len(fs), 64)]
    t0 = time.time()
    for name, model in models:
        uses = model.arch.channel_uses
        kind = model.arch.features
        if kind not in fs_by_kind:
            fs_by_kind[kind] = compute_features(encoder, texts, MAX_MESSAGE_TOKENS, progress=False, kind=kind)
        fs = fs_by_kind[kind]
        for channel in channels:
            for snr in snrs:
                gen = torch.Generator().manual_seed(seed * 1000003 + int(round(snr * 10))
                                                    + (7 if channel == "rayleigh" else 0))
                recv: list[list[int]] = []
                for items in batches:
                    feats, ids, mask = fs.batch(items)
                    with torch.no_grad():
                        y, nv = through_channel(encode_features(model, feats, mask), float(snr), channel, gen)
                        pred = decode_ids(model, emb, y, nv, mask)
                    recv += [pred[r, : int(mask[r].sum())].tolist() for r in range(len(items))]
                hyps = [encoder.detokenize(r) for r in recv]
                s = score(encoder, sent_ids, recv, refs, hyps)
                rows.append({"checkpoint": name, "scheme": "semantic", "uses_per_token": uses, "channel": channel,
                             "snr_db": snr, **asdict(s), "messages": len(texts)})
                bar.update(1)
                if digital is None:
                    continue
                gen = torch.Generator().manual_seed(seed * 1000003 + int(round(snr * 10)) + 99)
                d_hyps, d_ids, ok = [], [], []
                for text, sent in zip(texts, sent_ids):
                    r = digital.transmit(text, len(sent) * uses, float(snr), channel, gen)
                    h = encoder.canonical(r.text) if r.ok and r.text.strip() else ""
                    d_hyps.append(h)
                    d_ids.append(encoder.tokenize(h, unknown_chars="replace") if h else [])
                    ok.append(r.ok)
                s = score(encoder, sent_ids, d_ids, refs, d_hyps, ok)
                rows.append({"checkpoint": name, "scheme": "digital", "uses_per_token": uses, "channel": channel,
                             "snr_db": snr, **asdict(s), "messages": len(texts)})
                bar.update(1)
    bar.close()
    with open(out_dir / "codec_eval.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({k: (round(v, 5) if isinstance(v, float) else v) for k, v in r.items()})
    (out_dir / "codec_eval.json").write_text(json.dumps({
        "command": command, "checkpoints": checkpoints, "encoder": encoder_name, "channels": list(channels),
        "snr_db": list(snrs), "messages": len(texts), "seed": seed, "baseline": baseline,
        "wall_s": round(time.time() - t0, 1)}, indent=2) + "\n")
    plot(rows, out_dir)
    return rows


def plot(rows: list[dict], out_dir: Path) -> list[Path]:
    """One PNG per metric: AWGN and Rayleigh side by side, semantic solid, digital baseline dashed."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    with warnings.catch_warnings():  # Debian's and the venv's matplotlib both present: Axes3D warning
        warnings.simplefilter("ignore")
        import matplotlib.pyplot as plt

    paths = []
    channels = sorted({r["channel"] for r in rows})
    configs = sorted({(r["uses_per_token"], r["checkpoint"]) for r in rows}, reverse=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    labels = {"token_accuracy": "token accuracy", "bleu1": "BLEU-1", "bleu4": "BLEU-4",
              "similarity": "sentence similarity", "wer": "WER"}
    for metric in METRICS:
        fig, axes = plt.subplots(1, len(channels), figsize=(5.2 * len(channels), 3.8), squeeze=False)
        for ax, channel in zip(axes[0], channels):
            for k, (uses, name) in enumerate(configs):
                for scheme, style in (("semantic", "-o"), ("digital", "--s")):
                    pts = sorted((r["snr_db"], r[metric]) for r in rows if r["checkpoint"] == name
                                 and r["channel"] == channel and r["scheme"] == scheme)
                    if pts:
                        ax.plot(*zip(*pts), style, color=colours[k % len(colours)], ms=3,
                                label=f"{scheme} {uses} uses/token")
            ax.set_title(channel.upper() if channel == "awgn" else channel.capitalize())
            ax.set_xlabel("Es/N0 (dB)")
            ax.set_ylabel(labels[metric])
            ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=7)
        fig.tight_layout()
        p = out_dir / f"codec_{metric}.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)
    return paths
