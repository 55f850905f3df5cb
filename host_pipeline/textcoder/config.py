"""Typed settings of the text coder (section ``[textcoder]``). Light module: no heavy imports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TextCoderConfig:
    """Lossless text coder used by the digital mode and by bitrate accounting."""

    coder: str = "lm"  # "lm" (LLM-driven arithmetic coding), "static" (corpus model) or "utf8"
    lm_model: str = "qwen2.5-coder-1.5b"  # GGUF of the LM coder: a registry name or a .gguf path (both ends the same)
    lm_threads: int = 2  # llama.cpp threads of the probability path (token-by-token logits identical for 1 and 2;
    # a 15-word sentence encodes + decodes in 1.7 s with 2 threads, 2.7 s with 1, idle machine)
    lm_n_ctx: int = 1024  # llama.cpp context of the coder's own context (separate from the KB's)
    lm_window: int = 0  # tokens of context before the coder restarts from the prefix; 0 = lm_n_ctx - 2
    lm_prefix: str = "<|endoftext|>"  # fixed context before every message (special tokens allowed)
    static_table: str = "order4"  # a shipped table (host_pipeline/textcoder/tables/<name>.npz) or a .npz path
    shortest: bool = True  # also try static and utf8 and send whichever message is shortest
    fallback_static: bool = True  # if the LM cannot load, encode with the static coder instead of failing
    crc_bits: int = 16  # 16 or 32: CRC over header, payload and the decoded text (catches flips and model drift)
    # conversation conditioning of the link format (LM coder only; docs/textcoder.md "Conversation context"): a
    # message is coded after the sender's earlier messages that the receiver is known to hold (their verified SNR
    # reports came back), named in the message by their sequence numbers; both ends must agree (link_model_id)
    context: bool = True
    context_messages: int = 16  # the context restarts every this many sequence numbers (bounds the LM's work)
    context_tokens: int = 384  # at most this many tokens of earlier messages (the oldest are left out)
