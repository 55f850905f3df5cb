"""Shared pieces of the KB benchmarks: building the KB once, and sampling sentences from the real corpora."""

from __future__ import annotations

import csv
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from host_pipeline.kb.anfis import Anfis, resolve_params_path  # noqa: E402
from host_pipeline.kb.config import KbConfig  # noqa: E402
from host_pipeline.kb.embed import load_embedder  # noqa: E402
from host_pipeline.kb.private_kb import PrivateKnowledgeBase  # noqa: E402
from host_pipeline.kb.store import FactStore  # noqa: E402
from host_pipeline.kb.text import n_words  # noqa: E402
from host_pipeline.llm import LlmConfig, load_llm  # noqa: E402
from host_pipeline.paths import real_data_dir  # noqa: E402


def add_llm_args(ap) -> None:
    ap.add_argument("--model", default="qwen2.5-coder-1.5b", help="llm.model: registry name or .gguf path")
    ap.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    ap.add_argument("--timeout", type=float, default=60.0, help="kb.step_timeout_s (generous: we measure quality)")


def build_kb(args, db_path: Path) -> PrivateKnowledgeBase:
    """The KB over a fresh fact DB; the shipped ANFIS if present (benchmarks give length classes explicitly)."""
    cfg = KbConfig(db_path=str(db_path), step_timeout_s=args.timeout)
    emb = load_embedder(cfg.embedder)
    params = resolve_params_path(cfg.anfis_params)
    anfis = Anfis.load(params) if params.exists() else Anfis.initial()
    llm = load_llm(LlmConfig(model=args.model, threads=args.threads, timeout_s=args.timeout))
    return PrivateKnowledgeBase(cfg, llm, FactStore(db_path, emb), emb, anfis)


_SPLIT = re.compile(r"(?<=[.!?])\s+")


def corpus_sentences(per_source: int, seed: int = 0, min_words: int = 8, max_words: int = 40) -> list[tuple[str, str]]:
    """(source, sentence) pairs: ``per_source`` each from SMS Spam, IMDB (single sentences) and the speech
    transcripts, with min_words..max_words words, sampled with a fixed seed."""
    d = real_data_dir()
    rng = random.Random(seed)
    sms = [line.split("\t", 1)[1].strip() for line in open(d / "text" / "SMSSpamCollection", encoding="utf-8")
           if "\t" in line]
    imdb = []
    with open(d / "text" / "imdb_sample_ArthurHan.csv", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            imdb += [s.strip() for s in _SPLIT.split(row["text"].replace("<br />", " ")) if s.strip()]
    speech = [r["transcript"] for r in csv.DictReader(open(d / "speech" / "transcripts.tsv", encoding="utf-8"),
                                                      delimiter="\t")]
    out = []
    for name, pool in (("sms", sms), ("imdb", imdb), ("speech", speech)):
        ok = [s for s in pool if min_words <= n_words(s) <= max_words]
        rng.shuffle(ok)
        out += [(name, s) for s in ok[:per_source]]
    return out
