"""Private knowledge base: user facts (SQLite + MiniLM), LLM disambiguation/compression/correction/restoration,
and the ANFIS prompt codec choosing the compression from the SNR.

``PrivateKnowledgeBase.load(KbConfig(), LlmConfig())`` -> ``transmit(user, text, snr_db)`` /
``receive(user, text, snr_db)``. Heavy imports happen on first use.
"""

from __future__ import annotations

from .config import KbConfig

__all__ = ["Anfis", "FactStore", "KbConfig", "KbResult", "PrivateKnowledgeBase", "StepResult"]


def __getattr__(name: str):
    if name in ("PrivateKnowledgeBase", "KbResult", "StepResult"):
        from . import private_kb

        return getattr(private_kb, name)
    if name == "FactStore":
        from .store import FactStore

        return FactStore
    if name == "Anfis":
        from .anfis import Anfis

        return Anfis
    raise AttributeError(name)
