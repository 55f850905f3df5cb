"""Typed settings of the text coder (section ``[textcoder]``). Light module: no heavy imports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TextCoderConfig:
    """Lossless text coder used by the digital mode and by bitrate accounting."""

    coder: str = "lm"  # "lm" (LLM-driven arithmetic coding), "static" (corpus model) or "utf8"
