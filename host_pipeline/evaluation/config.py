"""Typed settings of evaluations and sweeps (section ``[eval]``). Light module: no heavy imports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EvalConfig:
    """Where sweeps write their results and how many local worker processes they use."""

    results_dir: str = "out/eval"  # each evaluation appends its finished cells here (resumable)
    workers: int = 2  # local worker processes for sweeps (Ray is chosen with --ray ADDRESS)
