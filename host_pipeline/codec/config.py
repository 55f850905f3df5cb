"""Typed settings of the semantic + channel codec (section ``[codec]``). Light module: no torch import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class CodecConfig:
    """Semantic codec (BERT encoder + autoencoder channel code): text <-> complex channel symbols."""

    encoder: str = "minilm-l6"  # a registry name (lgmtsc models list) or a BERT checkpoint directory
    # a shipped checkpoint name (host_pipeline/codec/checkpoints) or a .safetensors path
    checkpoint: str = "minilm-l6-u16"
    channel_uses_per_token: int | None = None  # None = the checkpoint's; if set it must match the checkpoint
    max_tokens_per_chunk: int = 128  # longer text is split into chunks of at most this many WordPiece tokens
    unknown_chars: Literal["error", "replace"] = "error"  # characters the vocabulary cannot spell: refuse or send [UNK]
    threads: int = 1  # torch intra-op threads for encode/decode
    device: str = "cpu"
