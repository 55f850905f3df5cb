"""Downstream accuracy of received text (Figs. 9 and 11): one fixed classifier on what each system delivers.

Datasets (``data/text``): ``sms_spam`` (UCI SMS Spam Collection, spam = 1) and ``imdb`` (1,000 IMDB
reviews, positive = 1; the first ``words`` words of each review, HTML removed). The split is the codec corpus's
rule (SHA-256 of the lower-cased text mod 100 < 10 is held out): the classifier is trained on the other 90 %,
the evaluation draws from the held-out 10 % (SMS messages are then also unseen by the codec; IMDB sentences of
the held-out reviews may have been in the codec's training corpus, which splits reviews into sentences).

Systems, each a cell function of the sweep engine (``downstream_cell``):
- ``semantic``: the semantic codec (``SemanticCodec.encode`` -> ``through_channel`` -> ``decode``), no KB;
- ``semantic+kb``: the full system: private KB transmitter (compression to the SNR's ANFIS length class) ->
  semantic codec -> KB receiver (correction, restoration);
- ``digital``: the Txt2Vid-style digital baseline (``codec.baseline.DigitalBaseline``: text -> DEFLATE -> CRC32 ->
  K=7 r=1/2 convolutional code -> QPSK/16-QAM, gr-lgmtsc's frame code) at the semantic codec's channel uses;
- ``digital+kb``: "without joint coding": KB text through the digital baseline, then the KB receiver.
A lost digital message delivers the empty text, which the classifier still labels (a constant guess). The SMS
evaluation set is balanced (half spam), so a constant guess scores 0.5; the IMDB sample is balanced already.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import math
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import InputError, ModelError
from ..paths import REPO_ROOT, real_data_dir

DATASETS = ("sms_spam", "imdb")
SYSTEMS = ("semantic", "semantic+kb", "digital", "digital+kb")
BALANCED = ("sms_spam",)  # evaluation sets drawn half spam, half ham (spam is 13 % of the messages)
CLASSIFIER_DIR = Path(__file__).resolve().parent / "classifiers"
_HTML = re.compile(r"<[^>]+>")


# ---------------------------------------------------------------------------------------------- data
def load_dataset(name: str, words: Optional[int] = None) -> list[tuple[str, int]]:
    """(text, label) pairs of a dataset; IMDB reviews cut to their first ``words`` words (None = whole)."""
    root = real_data_dir() / "text"
    if name == "sms_spam":
        p = root / "SMSSpamCollection"
        _need(p)
        out = []
        for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
            label, _, text = line.partition("\t")
            if text.strip() and label in ("ham", "spam"):
                out.append((text.strip(), int(label == "spam")))
        return out
    if name == "imdb":
        p = root / "imdb_sample_ArthurHan.csv"
        _need(p)
        out = []
        with p.open(encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                text = re.sub(r"\s+", " ", _HTML.sub(" ", row.get("text") or "")).strip()
                if text:
                    out.append((" ".join(text.split()[:words]) if words else text, int(row["label"])))
        return out
    raise InputError(f"unknown dataset {name!r}", hint=f"one of {', '.join(DATASETS)}")


def _need(p: Path) -> None:
    if not p.is_file():
        raise InputError(f"dataset file missing: {p}", hint="the repo's data/ folder is incomplete: restore it with git checkout data, or set LGMTSC_REAL_DATA")


def split(pairs: list[tuple[str, int]]) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(train, held-out) by the codec corpus's hash rule on the text; duplicates (case-insensitive) dropped."""
    from ..codec.corpus import is_held_out

    seen, train, test = set(), [], []
    for text, label in pairs:
        if text.lower() in seen:
            continue
        seen.add(text.lower())
        (test if is_held_out(text) else train).append((text, label))
    return train, test


# ---------------------------------------------------------------------------------------------- classifier
@dataclass
class Classifier:
    """L2-regularised logistic regression on standardised MiniLM sentence embeddings (the codec's encoder)."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # [d + 1], last = bias
    card: dict

    def scores(self, embeddings: np.ndarray) -> np.ndarray:
        z = (embeddings - self.mean) / self.scale
        return z @ self.weights[:-1] + self.weights[-1]

    def predict(self, encoder, texts: list[str]) -> np.ndarray:
        return (self.scores(embed(encoder, texts)) > 0).astype(np.int64)

    @property
    def fingerprint(self) -> str:
        return self.card["weights_sha256"][:16]


def embed(encoder, texts: list[str]) -> np.ndarray:
    """Float64 sentence embeddings; the empty text (a lost message) embeds as the tokenizer's empty input."""
    return encoder.sentence_embeddings(list(texts)).numpy().astype(np.float64)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 50) -> np.ndarray:
    """Newton's method (IRLS) for logistic regression with an L2 penalty on the weights (not the bias)."""
    a = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(a.shape[1])
    reg = np.full(a.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(a @ w)))
        grad = a.T @ (p - y) + reg * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(reg) + 1e-9 * np.eye(a.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


L2_GRID = (1.0, 10.0, 100.0, 1000.0, 10000.0)


def cross_validated_accuracy(z: np.ndarray, y: np.ndarray, l2: float, folds: int = 5) -> float:
    """Mean held-out accuracy of ``fit_logistic`` over ``folds`` fixed interleaved folds."""
    accs = []
    for k in range(folds):
        test = np.arange(len(y)) % folds == k
        w = fit_logistic(z[~test], y[~test], l2)
        accs.append((((z[test] @ w[:-1] + w[-1]) > 0) == (y[test] > 0.5)).mean())
    return float(np.mean(accs))


def train_classifier(dataset: str, encoder, words: Optional[int]) -> Classifier:
    """Fit the dataset's classifier on its training split (lower-cased: the codec delivers uncased text)."""
    train, _ = split(load_dataset(dataset, words))
    texts = [encoder.canonical(t) for t, _ in train]
    y = np.array([l for _, l in train], dtype=np.float64)
    x = embed(encoder, texts)
    mean, scale = x.mean(0), x.std(0) + 1e-6
    z = (x - mean) / scale
    cv = {l2: cross_validated_accuracy(z, y, l2) for l2 in L2_GRID}
    l2 = max(cv, key=lambda k: (cv[k], k))
    w = fit_logistic(z, y, l2)
    acc = float((((z @ w[:-1] + w[-1]) > 0) == (y > 0.5)).mean())
    card = {"dataset": dataset, "words": words, "train_items": len(train), "train_accuracy": round(acc, 4),
            "l2": l2, "cv5_accuracy": {str(k): round(v, 4) for k, v in cv.items()},
            "data_sha256": _data_sha(train), "encoder_embeddings_sha256": encoder.embeddings_sha256(),
            "model": "logistic regression (L2 by 5-fold CV, Newton) on standardised mean-pooled MiniLM embeddings",
            "weights_sha256": hashlib.sha256(np.concatenate([mean, scale, w]).astype("<f8").tobytes()).hexdigest()}
    return Classifier(mean, scale, w, card)


def _data_sha(pairs: list[tuple[str, int]]) -> str:
    h = hashlib.sha256()
    for t, l in pairs:
        h.update(f"{l}\t{t}\n".encode())
    return h.hexdigest()


def load_classifier(dataset: str, encoder, words: Optional[int], train_if_missing: bool = True) -> Classifier:
    """The shipped classifier (``classifiers/<dataset>.npz`` + ``.json``), checked against the data and encoder.

    A missing file is trained and saved (deterministic, a minute); a stale one (other data, encoder or word cut)
    is a ``ModelError``, never silently replaced.
    """
    npz, card_path = CLASSIFIER_DIR / f"{dataset}.npz", CLASSIFIER_DIR / f"{dataset}.json"
    train, _ = split(load_dataset(dataset, words))
    if not npz.exists():
        if not train_if_missing:
            raise ModelError(f"classifier for {dataset} missing: {npz}")
        clf = train_classifier(dataset, encoder, words)
        CLASSIFIER_DIR.mkdir(parents=True, exist_ok=True)
        np.savez(npz, mean=clf.mean, scale=clf.scale, weights=clf.weights)
        card_path.write_text(json.dumps(clf.card, indent=1) + "\n")
        return clf
    card = json.loads(card_path.read_text())
    z = np.load(npz)
    clf = Classifier(z["mean"], z["scale"], z["weights"], card)
    sha = hashlib.sha256(np.concatenate([clf.mean, clf.scale, clf.weights]).astype("<f8").tobytes()).hexdigest()
    stale = [what for what, ok in (("weights", sha == card["weights_sha256"]),
                                   ("training data", card["data_sha256"] == _data_sha(train)),
                                   ("encoder", card["encoder_embeddings_sha256"] == encoder.embeddings_sha256()),
                                   ("word cut", card["words"] == words)) if not ok]
    if stale:
        raise ModelError(f"classifier {npz.name} does not match its {', '.join(stale)}",
                         hint=f"delete {npz} and its .json to retrain it (deterministic)")
    return clf


# ---------------------------------------------------------------------------------------------- KB cache
class KbCache:
    """Outputs of the private KB's transmitter/receiver, keyed by (step, text, length class, KB settings).

    The KB decodes greedily with a fixed seed, so its outputs are deterministic; SQLite lets several worker
    processes share the cache, and an interrupted evaluation keeps every finished LLM step. Outputs in which a
    step timed out are not cached (they depend on the machine's load, not on the text).
    """

    def __init__(self, path: Path, settings: str, cfg=None):
        self.cfg = cfg
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), timeout=60)
        self.db.execute("CREATE TABLE IF NOT EXISTS kb (key TEXT PRIMARY KEY, output TEXT, sources TEXT, "
                        "seconds REAL)")
        self.db.commit()
        self.settings = settings
        self._kb = None

    def kb(self):
        if self._kb is None:
            from ..config import load_config
            from ..kb.private_kb import PrivateKnowledgeBase

            cfg = self.cfg or load_config()
            cfg.kb.step_timeout_s = max(cfg.kb.step_timeout_s, KB_STEP_TIMEOUT_S)
            cfg.llm.timeout_s = max(cfg.llm.timeout_s, KB_STEP_TIMEOUT_S)
            self._kb = PrivateKnowledgeBase.load(cfg.kb, cfg.llm)
        return self._kb

    def run(self, step: str, text: str, length_class: str) -> tuple[str, list[str]]:
        """(output text, step sources such as 'llm' or 'fallback:input') of ``kb.transmit``/``kb.receive``."""
        key = hashlib.sha256(json.dumps([step, text, length_class, self.settings]).encode()).hexdigest()
        row = self.db.execute("SELECT output, sources FROM kb WHERE key = ?", (key,)).fetchone()
        if row:
            return row[0], json.loads(row[1])
        t0 = time.time()
        fn = self.kb().transmit if step == "tx" else self.kb().receive
        res = fn(None, text, length_class=length_class)
        sources = [f"{s.step}:{s.source}" for s in res.steps]
        # a step that timed out or whose LLM failed (endpoint down) may answer on a later run: not cached
        if not any("timeout" in s.reason or s.reason.startswith("LLM ") for s in res.steps):
            self.db.execute("INSERT OR REPLACE INTO kb VALUES (?, ?, ?, ?)",
                            (key, res.text, json.dumps(sources), time.time() - t0))
            self.db.commit()
        return res.text, sources


KB_STEP_TIMEOUT_S = 90.0  # per KB step in evaluations: a loaded machine must not turn LLM steps into fall-backs


# ---------------------------------------------------------------------------------------------- one cell
@dataclass
class _Context:
    codec: object
    clf: Classifier
    texts: list[str]
    labels: np.ndarray
    clean_pred: np.ndarray
    reference_embeddings: np.ndarray  # of the sent texts in canonical form (for the similarity column)


@functools.lru_cache(maxsize=4)
def _context(dataset: str, n: int, words: Optional[int], checkpoint: str) -> _Context:
    from ..codec import CodecConfig, SemanticCodec

    codec = SemanticCodec.load(CodecConfig(checkpoint=checkpoint))
    enc = codec.encoder
    clf = load_classifier(dataset, enc, words)
    _, test = split(load_dataset(dataset, words))
    pairs = []
    for text, label in test:  # texts the vocabulary spells, within one encoder window
        ids = enc.tokenize(text, unknown_chars="replace")
        if enc.unk_id not in ids and 3 <= len(ids) <= codec.config.max_tokens_per_chunk:
            pairs.append((text, label))
    if n > len(pairs):
        raise InputError(f"{dataset}: only {len(pairs)} held-out texts, {n} requested")
    rng = np.random.default_rng(12345)  # one fixed evaluation set per (dataset, n)
    if dataset in BALANCED:  # half of each class, so that a constant guess scores 0.5
        by_class = [[i for i, (_, l) in enumerate(pairs) if l == c] for c in (1, 0)]
        if n - n // 2 > min(len(c) for c in by_class):
            raise InputError(f"{dataset}: only {min(len(c) for c in by_class)} held-out texts of a class, "
                             f"{n - n // 2} requested")
        picks = [rng.permutation(c)[:k] for c, k in zip(by_class, (n // 2, n - n // 2))]
        order = rng.permutation(np.concatenate(picks))
    else:
        order = rng.permutation(len(pairs))[:n]
    texts = [pairs[i][0] for i in order]
    labels = np.array([pairs[i][1] for i in order])
    canonical = [enc.canonical(t) for t in texts]
    ref = embed(enc, canonical)
    return _Context(codec, clf, texts, labels, (clf.scores(ref) > 0).astype(np.int64), ref)


@functools.lru_cache(maxsize=1)
def _digital():
    from ..codec.baseline import DigitalBaseline, TextCompressor
    from ..codec.corpus import load_corpus

    return DigitalBaseline(TextCompressor.from_texts(load_corpus().train))


@functools.lru_cache(maxsize=4)
def _kb_cache(config_file: Optional[str] = None, overrides: tuple[str, ...] = ()) -> KbCache:
    """The KB output cache of this machine (``$LGMTSC_HOME/cache/eval/kb_cache.sqlite``), for the configuration
    the evaluation was started with; keyed by every KB and LLM setting and by the KB's code."""
    from ..config import load_config
    from ..paths import lgmtsc_home

    cfg = load_config(config_file, list(overrides))
    code = hashlib.sha256(b"".join((Path(__file__).parent.parent / "kb" / f).read_bytes()
                                   for f in ("prompts.py", "private_kb.py", "gate.py", "guards.py"))).hexdigest()
    settings = json.dumps({"llm": repr(cfg.llm), "kb": repr(cfg.kb), "timeout": KB_STEP_TIMEOUT_S,
                           "code": code[:16]}, sort_keys=True)
    return KbCache(lgmtsc_home() / "cache" / "eval" / "kb_cache.sqlite", settings, cfg)


@functools.lru_cache(maxsize=4096)
def _encoded(codec, text: str):
    return codec.encode(text)


def downstream_cell(params: dict, seed: int) -> dict:
    """Accuracy of the fixed classifier on the texts one system delivers at (channel, SNR), seeded channel."""
    import torch

    from ..codec.codec import through_channel

    system, channel, snr = params["system"], params["channel"], float(params["snr_db"])
    if system not in SYSTEMS:
        raise InputError(f"unknown system {system!r}", hint=f"one of {', '.join(SYSTEMS)}")
    ctx = _context(params["dataset"], int(params["n"]), params.get("words"), params.get("checkpoint", "minilm-l6-u16"))
    codec, enc = ctx.codec, ctx.codec.encoder
    gen = torch.Generator().manual_seed(seed)
    use_kb = system.endswith("+kb")
    kb = _kb_cache(params.get("config"), tuple(params.get("set", ()))) if use_kb else None
    length_class = kb.kb().prompt_codec.length_class(snr) if use_kb else "high"
    received, sources, uses, lost = [], [], [], 0
    for text in ctx.texts:
        sent = text
        if use_kb:
            sent, src = kb.run("tx", text, length_class)
            sources += src
        msg = _encoded(codec, sent)
        budget = msg.n_tokens * msg.channel_uses_per_token
        uses.append(budget)
        if system.startswith("semantic"):
            x = torch.from_numpy(msg.symbols).reshape(1, msg.n_tokens, msg.channel_uses_per_token)
            y, nv = through_channel(x, snr, channel, gen)
            rx = codec.decode(y.reshape(-1).numpy(), nv.reshape(-1).numpy(), msg.n_tokens)
        else:
            r = _digital().transmit(sent, budget, snr, channel, gen)
            rx = r.text if r.ok else ""
            lost += not r.ok
        if use_kb and rx.strip():
            rx, src = kb.run("rx", rx, length_class)
            sources += src
        received.append(enc.canonical(rx) if rx.strip() else "")
    emb = embed(enc, received)
    correct = ((ctx.clf.scores(emb) > 0).astype(np.int64) == ctx.labels).astype(int)
    sims = np.where([bool(r) for r in received], (emb * ctx.reference_embeddings).sum(-1), 0.0)
    out = {"accuracy": float(correct.mean()), "correct": "".join(map(str, correct)), "n": len(correct),
           "clean_accuracy": float((ctx.clean_pred == ctx.labels).mean()), "similarity": float(sims.mean()),
           "lost": lost, "channel_uses": int(np.sum(uses)), "length_class": length_class if use_kb else "",
           "classifier": ctx.clf.fingerprint}
    if use_kb:
        out["kb_llm_steps"] = sum(":llm" in s for s in sources)
        out["kb_fallback_steps"] = sum(":fallback" in s for s in sources)
    return out


# ---------------------------------------------------------------------------------------------- summary + plot
def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return c - h, c + h


def cluster_bootstrap(outcomes: np.ndarray, reps: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95 % interval of the mean of ``outcomes`` [seeds, texts], resampling texts with all their seeds."""
    rng = np.random.default_rng(seed)
    per_text = outcomes.mean(0)
    means = per_text[rng.integers(0, per_text.size, (reps, per_text.size))].mean(1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def summarise(records: list[dict]) -> list[dict]:
    """One row per (dataset, system, channel, SNR): mean accuracy over seeds and three 95 % intervals: a cluster
    bootstrap over texts (each text with all its seeds; the plotted one), a t-interval over the seeds' accuracies
    and a Wilson interval over all (seed, text) outcomes."""
    from scipy import stats

    groups: dict[tuple, list[dict]] = {}
    for r in records:
        p = r["params"]
        groups.setdefault((p["dataset"], p["system"], p["channel"], float(p["snr_db"]), p["n"]), []).append(r)
    rows = []
    for (dataset, system, channel, snr, n), rs in sorted(groups.items()):
        rs = sorted(rs, key=lambda r: r["params"]["seed"])
        outcomes = np.array([[int(c) for c in r["result"]["correct"]] for r in rs])
        accs = outcomes.mean(1)
        lo_b, hi_b = cluster_bootstrap(outcomes)
        lo_w, hi_w = wilson(int(outcomes.sum()), outcomes.size)
        half = (stats.t.ppf(0.975, len(accs) - 1) * accs.std(ddof=1) / math.sqrt(len(accs))
                if len(accs) > 1 else math.nan)
        rows.append({"dataset": dataset, "system": system, "channel": channel, "snr_db": snr, "n": n,
                     "seeds": len(rs), "accuracy": round(float(accs.mean()), 4),
                     "ci_low": round(lo_b, 4), "ci_high": round(hi_b, 4),
                     "ci_seeds_low": round(float(accs.mean() - half), 4),
                     "ci_seeds_high": round(float(accs.mean() + half), 4),
                     "ci_wilson_low": round(lo_w, 4), "ci_wilson_high": round(hi_w, 4),
                     "similarity": round(float(np.mean([r["result"]["similarity"] for r in rs])), 4),
                     "lost_fraction": round(sum(r["result"]["lost"] for r in rs) / outcomes.size, 4),
                     "clean_accuracy": round(rs[0]["result"]["clean_accuracy"], 4),
                     "kb_fallback_steps": sum(r["result"].get("kb_fallback_steps", 0) for r in rs),
                     "kb_llm_steps": sum(r["result"].get("kb_llm_steps", 0) for r in rs)})
    return rows


PAIRS = (("semantic", "digital"), ("semantic+kb", "semantic"), ("semantic+kb", "digital+kb"))


def paired_differences(records: list[dict]) -> list[dict]:
    """Accuracy of system A minus system B on the same texts (same dataset, n, channel, SNR), with a 95 %
    cluster-bootstrap interval over texts; seeds are averaged per text (their channel draws differ)."""
    per: dict[tuple, dict[str, list[np.ndarray]]] = {}
    for r in records:
        p = r["params"]
        key = (p["dataset"], p["channel"], float(p["snr_db"]), p["n"])
        per.setdefault(key, {}).setdefault(p["system"], []).append(np.array([int(c) for c in r["result"]["correct"]]))
    rows = []
    for (dataset, channel, snr, n), systems in sorted(per.items()):
        for a, b in PAIRS:
            if a in systems and b in systems:
                d = np.mean(systems[a], 0) - np.mean(systems[b], 0)
                lo, hi = cluster_bootstrap(d[None, :])
                rows.append({"dataset": dataset, "channel": channel, "snr_db": snr, "n": n, "a": a, "b": b,
                             "accuracy_a_minus_b": round(float(d.mean()), 4), "ci_low": round(lo, 4),
                             "ci_high": round(hi, 4)})
    return rows


LABELS = {"semantic+kb": "full system (KB + semantic codec)", "semantic": "this system without KB (semantic codec)",
          "digital+kb": "without joint coding (KB + digital)", "digital": "Txt2Vid-style digital baseline"}
STYLES = {"semantic+kb": ("C0", "-", "o"), "semantic": ("C1", "-", "s"), "digital+kb": ("C2", "--", "^"),
          "digital": ("C3", "--", "v")}


def plot(rows: list[dict], png: Path, title: str) -> Path:
    """Accuracy vs SNR, one panel per channel; error bars = 95 % cluster-bootstrap intervals over the texts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    channels = [c for c in ("awgn", "rayleigh") if any(r["channel"] == c for r in rows)]
    fig, axes = plt.subplots(1, len(channels), figsize=(5.2 * len(channels), 4.0), sharey=True, squeeze=False)
    for ax, channel in zip(axes[0], channels):
        for system in SYSTEMS:
            rs = sorted((r for r in rows if r["channel"] == channel and r["system"] == system),
                        key=lambda r: r["snr_db"])
            if not rs:
                continue
            x = np.array([r["snr_db"] for r in rs])
            y = np.array([r["accuracy"] for r in rs])
            lo = np.array([r["ci_low"] for r in rs])
            hi = np.array([r["ci_high"] for r in rs])
            c, ls, m = STYLES[system]
            ax.errorbar(x, y, yerr=[y - lo, hi - y], color=c, ls=ls, marker=m, capsize=3, ms=4,
                        label=f"{LABELS[system]} (n={rs[0]['n']}x{rs[0]['seeds']})")
        clean = [r["clean_accuracy"] for r in rows if r["channel"] == channel]
        if clean:
            ax.axhline(clean[0], color="k", lw=0.8, ls=":", label="classifier on the sent text")
        ax.set_title(channel.upper() if channel == "awgn" else "Rayleigh (flat block fading)")
        ax.set_xlabel("Es/N0 (dB)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("classification accuracy of the received text")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return png


def write_csv(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def repo_relative(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(p)
