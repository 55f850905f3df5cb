#!/usr/bin/env python3
"""Fit the ANFIS prompt encoder on data from the transmission chain at known SNRs.

    python calibration/anfis/fit_anfis.py [--compressions out/bench/kb_length/per_sentence.csv]
                                          [--chain auto|codec|proxy] [--snr -10:14:1] [--realisations 8]

Data: for each real sentence, three candidate texts - the original (class high, 100 %) and the KB's low and
medium compressions made by benchmarks/kb_length.py (the LLM compress step) - are sent through the chain at
every SNR of the grid. Each message has the energy budget of the uncompressed text (fixed airtime and power):
a text of m tokens instead of n is sent at Es/N0 + 10 log10(n/m). The received text is compared with the
ORIGINAL sentence by MiniLM cosine similarity (mean over realisations); the class with the highest
similarity is the label of that (sentence, SNR). ANFIS hybrid learning then fits SNR -> class (one-hot targets).

Chains:
- ``codec``: host_pipeline.codec (BERT semantic encoder + trained channel codec) over host_pipeline.codec.channel
  AWGN, decoded by the codec's semantic decoder.
- ``proxy`` (used when no codec checkpoint is installed): each WordPiece token is a 15-bit index sent uncoded
  on Gray QPSK over AWGN; a token is replaced by a uniformly random vocabulary token with probability
  1 - (1 - Pb)^15, Pb = 0.5 erfc(sqrt(Es/N0 / 2)) (the closed form the PHY is tested against).
``auto`` picks codec when it loads, else proxy. Writes the parameters to host_pipeline/kb/anfis_params.json
(the shipped ones; --params elsewhere) and compressions.csv, fit_data.csv,
memberships.png and similarity_vs_snr.png beside this script (or --out).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from host_pipeline.kb.anfis import CLASSES, SHIPPED_PARAMS, Anfis, plot_memberships  # noqa: E402
from host_pipeline.kb.config import KbConfig  # noqa: E402
from host_pipeline.kb.embed import load_embedder  # noqa: E402


def load_compressions(path: Path) -> list[dict]:
    """{high, medium, low} texts per sentence from kb_length's per_sentence.csv (sentences with both classes)."""
    by_input: dict[str, dict] = {}
    for r in csv.DictReader(open(path, encoding="utf-8")):
        by_input.setdefault(r["input"], {"high": r["input"]})[r["class"]] = r["output"]
    return [d for d in by_input.values() if all(c in d for c in CLASSES)]


class ProxyChain:
    name = "proxy"
    bits = 15

    def __init__(self, embedder_dir):
        from transformers import AutoTokenizer

        self.tok = AutoTokenizer.from_pretrained(str(embedder_dir), local_files_only=True)
        self.vocab = self.tok.vocab_size

    def tokens(self, text: str) -> list[int]:
        return self.tok(text, add_special_tokens=False)["input_ids"]

    def send(self, text: str, esn0_db: float, rng: np.random.Generator) -> str:
        ids = np.array(self.tokens(text))
        pb = 0.5 * math.erfc(math.sqrt(10 ** (esn0_db / 10) / 2))
        p_tok = 1 - (1 - pb) ** self.bits
        hit = rng.random(len(ids)) < p_tok
        ids[hit] = rng.integers(1000, self.vocab, hit.sum())  # ids below ~1000 are special/unused tokens
        return self.tok.decode(ids.tolist())


class CodecChain:
    name = "codec"

    def __init__(self):
        import torch

        from host_pipeline.codec import SemanticCodec
        from host_pipeline.codec.config import CodecConfig

        self.codec = SemanticCodec.load(CodecConfig(unknown_chars="replace"))
        self.torch = torch
        self._encoded: dict = {}
        import hashlib

        from host_pipeline.codec.codec import resolve_checkpoint

        digest = hashlib.sha256(resolve_checkpoint(self.codec.config.checkpoint).read_bytes()).hexdigest()
        self.name = f"codec:{self.codec.config.checkpoint} (sha256 {digest[:12]})"

    def tokens(self, text: str) -> list[int]:
        return self.codec.encoder.tokenize(text, "replace")  # the message's length in tokens

    def send(self, text: str, esn0_db: float, rng: np.random.Generator) -> str:
        from host_pipeline.codec import channel

        if text not in self._encoded:  # encoding is deterministic: once per text
            self._encoded[text] = self.codec.encode(text)
        msg = self._encoded[text]
        g = self.torch.Generator().manual_seed(int(rng.integers(2**31)))
        out = channel.transmit(self.torch.as_tensor(msg.symbols), esn0_db, "awgn", generator=g)
        return self.codec.decode(out.symbols.numpy(), out.noise_var.numpy(), msg.n_tokens)


def make_chain(kind: str, cfg: KbConfig):
    from host_pipeline.models import resolve_model_dir

    if kind in ("auto", "codec"):
        try:
            return CodecChain()
        except Exception as e:  # noqa: BLE001 - any failure to load the codec means: use the proxy (auto)
            if kind == "codec":
                raise
            print(f"codec chain unavailable ({type(e).__name__}: {str(e).splitlines()[0]}); using the proxy chain")
    return ProxyChain(resolve_model_dir(cfg.embedder))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--compressions", default=str(HERE / "compressions.csv"),
                    help="kb_length per_sentence.csv, or a compressions.csv written by a previous run")
    ap.add_argument("--chain", choices=["auto", "codec", "proxy"], default="auto")
    ap.add_argument("--snr", default="-10:14:1", help="start:stop:step in dB (Es/N0), inclusive")
    ap.add_argument("--realisations", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--params", default=str(SHIPPED_PARAMS), help="where the fitted parameters go")
    ap.add_argument("--from-data", help="refit on a fit_data.csv recorded by an earlier run (no chain runs)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.from_data:
        rows = _read_rows(Path(args.from_data))
        snrs = np.array(sorted({r["snr_db"] for r in rows}))
        params = Path(args.params)
        old = json.loads(params.read_text()).get("meta", {}) if params.exists() else {}
        _fit_and_save(rows, snrs, old.get("chain", "recorded data"), len(set(r["sentence"] for r in rows)),
                      old.get("realisations", 0), out, params)
        return 0
    cfg = KbConfig()
    src = Path(args.compressions)
    sentences = _read_or_convert(src, out)
    a, b, s = (float(v) for v in args.snr.split(":"))
    snrs = np.arange(a, b + s / 2, s)
    emb = load_embedder(cfg.embedder)
    chain = make_chain(args.chain, cfg)
    rng = np.random.default_rng(args.seed)
    print(f"{len(sentences)} sentences x {len(snrs)} SNRs x {len(CLASSES)} classes x {args.realisations} "
          f"realisations, chain {chain.name}", flush=True)
    partial = out / "fit_data.partial.csv"  # one sentence's rows appended at a time: a rerun resumes
    rows = _read_rows(partial) if partial.exists() else []
    done = {int(r["sentence"]) for r in rows}
    for j, d in enumerate(sentences):
        if j in done:
            continue
        ref = emb.embed([d["high"]])[0]
        n_full = len(chain.tokens(d["high"]))
        new_rows = []
        for snr in snrs:
            sims = {}
            for cls in CLASSES:
                gain_db = 10 * math.log10(n_full / max(1, len(chain.tokens(d[cls]))))
                texts = [chain.send(d[cls], snr + gain_db, rng) for _ in range(args.realisations)]
                sims[cls] = float(np.mean(emb.embed(texts) @ ref))
            best = max(CLASSES, key=lambda c: (sims[c], -CLASSES.index(c)))
            new_rows.append({"sentence": j, "snr_db": float(snr),
                             **{f"sim_{c}": round(sims[c], 4) for c in CLASSES}, "best": best})
        _write_rows(partial, new_rows, append=True)
        rows += new_rows
        print(f"sentence {j + 1}/{len(sentences)} done", flush=True)
    _write_rows(out / "fit_data.csv", sorted(rows, key=lambda r: (int(r["sentence"]), r["snr_db"])))
    partial.unlink()
    _fit_and_save(rows, snrs, chain.name, len(sentences), args.realisations, out, Path(args.params))
    return 0


def _fit_and_save(rows: list[dict], snrs: np.ndarray, chain_name: str, n_sentences: int, realisations: int,
                  out: Path, params: Path) -> None:
    """Hybrid-learn the ANFIS on the labelled rows and write the parameters and plots."""
    s = float(snrs[1] - snrs[0]) if len(snrs) > 1 else 1.0
    x = np.array([r["snr_db"] for r in rows])
    T = np.array([[float(r["best"] == c) for c in CLASSES] for r in rows])
    model = Anfis.initial(float(snrs[0]), float(snrs[-1]))
    hist = model.fit(x, T, epochs=1500, lr=0.05)
    pred = np.argmax(model.probs(x), axis=1)
    acc = float(np.mean(pred == np.argmax(T, axis=1)))
    majority = float(np.max(T.mean(0)))
    grid_cls = {float(v): model.classify(float(v)) for v in snrs}
    model.meta = {"fitted": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                  "chain": chain_name, "snr_grid_db": [float(snrs[0]), float(snrs[-1]), s],
                  "sentences": n_sentences, "realisations": realisations, "samples": len(rows),
                  "label_accuracy": round(acc, 4), "majority_class_accuracy": round(majority, 4),
                  "final_squared_error": round(hist[-1], 6), "epochs": len(hist),
                  "energy_model": "fixed message energy: m tokens sent at Es/N0 + 10log10(n_full/m)",
                  "script": "calibration/anfis/fit_anfis.py"}
    model.save(params)
    plot_memberships(model, out / "memberships.png", (float(snrs[0]) - 5, float(snrs[-1]) + 5),
                     f"ANFIS prompt encoder fitted on {chain_name} ({len(rows)} samples, label accuracy {acc:.1%})")
    _plot_similarity(rows, snrs, out / "similarity_vs_snr.png", chain_name)
    print(f"fitted: c={np.round(model.c, 2)}, a={np.round(model.a, 2)}, b={np.round(model.b, 2)}")
    print(f"label accuracy {acc:.1%} (majority class {majority:.1%}); class per SNR: "
          + ", ".join(f"{k:g}:{v[0]}" for k, v in grid_cls.items()))


def _read_rows(path: Path) -> list[dict]:
    """Labelled rows of a fit_data CSV, with numeric fields parsed."""
    return [dict(r, sentence=int(r["sentence"]), snr_db=float(r["snr_db"]),
                 **{f"sim_{c}": float(r[f"sim_{c}"]) for c in CLASSES}) for r in csv.DictReader(open(path))]


def _write_rows(path: Path, rows: list[dict], append: bool = False) -> None:
    fields = ["sentence", "snr_db", *(f"sim_{c}" for c in CLASSES), "best"]
    new_file = not (append and path.exists())
    with open(path, "a" if append else "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        if new_file:
            w.writeheader()
        w.writerows(rows)


def _read_or_convert(src: Path, out: Path) -> list[dict]:
    """Sentences with high/medium/low texts; a kb_length CSV is also saved as compressions.csv in ``out``."""
    header = open(src, encoding="utf-8").readline()
    if header.startswith("high,"):
        return list(csv.DictReader(open(src, encoding="utf-8")))
    sentences = load_compressions(src)
    with open(out / "compressions.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["high", "medium", "low"])
        w.writeheader()
        w.writerows(sentences)
    return sentences


def _plot_similarity(rows, snrs, path, chain) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for c in CLASSES:
        ax.plot(snrs, [np.mean([r[f"sim_{c}"] for r in rows if r["snr_db"] == v]) for v in snrs], label=c)
    ax.set_xlabel("SNR (Es/N0, dB)")
    ax.set_ylabel("received similarity to the original")
    ax.set_title(f"chain: {chain}", fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
