"""Lossless text coding for the digital mode: arithmetic coding driven by a language model both ends hold.

``TextCoder.load(TextCoderConfig())`` -> ``.encode(text) -> bytes``, ``.decode(bytes) -> str``, ``.fingerprint``.
"""

from __future__ import annotations

from .config import TextCoderConfig

__all__ = ["CorruptMessage", "TextCoder", "TextCoderConfig", "TextCoderMismatch"]


def __getattr__(name: str):
    if name in ("CorruptMessage", "TextCoder", "TextCoderMismatch"):
        from . import coder

        return getattr(coder, name)
    raise AttributeError(name)
