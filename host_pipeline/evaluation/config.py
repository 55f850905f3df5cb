"""Typed settings of evaluations and sweeps (section ``[eval]``). Light module: no heavy imports."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EvalConfig:
    """Where sweeps write their results and how many local worker processes they use."""

    results_dir: str = "out/eval"  # each evaluation appends its finished cells here (resumable)
    workers: int = 2  # local worker processes for sweeps (Ray is chosen with --ray ADDRESS)
    downstream_messages: int = 120  # SMS held-out texts per cell, balanced: 60 spam + 60 ham (67 spam are held out)
    downstream_snrs: list[float] = field(default_factory=lambda: [-6.0, -3.0, 0.0, 3.0, 6.0, 10.0])
    seeds: list[int] = field(default_factory=lambda: [0, 1])  # channel realisations per point (CI over seeds)
    imdb_messages: int = 88  # IMDB held-out reviews per cell (all 88 that the vocabulary spells)
    imdb_words: int = 40  # IMDB reviews are cut to their first this many words (the KB's LLM is slow)
    kb_messages: int = 8  # reviews per KB cell (each costs 1-3 LLM steps of 5-25 s on 2 idle cores)
    kb_snrs: list[float] = field(default_factory=lambda: [-4.0, 4.0])  # ANFIS classes low and high (refit ANFIS)
    kb_seeds: list[int] = field(default_factory=lambda: [0])
    crfs: list[int] = field(default_factory=lambda: [26, 30, 34])  # H.264 CRFs in the compression comparison
    av1_crf: int = 60  # libaom-av1 CRF (Txt2Vid's baselines: AV1 CRF 60-63)
