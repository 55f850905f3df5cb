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

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from .classifier import Classifier, embed, load_classifier
from .datasets import BALANCED, load_dataset, split
from .kb_cache import KB_STEP_TIMEOUT_S, KbCache

SYSTEMS = ("semantic", "semantic+kb", "digital", "digital+kb")


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
def _context(dataset: str, n: int, words: int | None, checkpoint: str) -> _Context:
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
def _kb_cache(config_file: str | None = None, overrides: tuple[str, ...] = ()) -> KbCache:
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
