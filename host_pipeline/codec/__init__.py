"""Semantic + channel codec: BERT token features -> autoencoder channel code -> complex symbols, and back.

``SemanticCodec.load(CodecConfig())`` gives ``encode(text) -> EncodedMessage`` and
``decode(symbols, noise_var, n_tokens) -> text``. Heavy imports (torch, transformers) happen on first use.
"""

from __future__ import annotations

from .config import CodecConfig

__all__ = ["CodecConfig", "EncodedMessage", "SemanticCodec"]


def __getattr__(name: str):
    if name in ("SemanticCodec", "EncodedMessage"):
        from . import codec

        return getattr(codec, name)
    raise AttributeError(name)
