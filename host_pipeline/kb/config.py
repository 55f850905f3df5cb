"""Typed settings of the private knowledge base (section ``[kb]``). Light module: no heavy imports."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class KbConfig:
    """Private knowledge base: user facts (SQLite), LLM disambiguation/compression/correction, ANFIS prompt codec."""

    db_path: str | None = None  # SQLite file; default $LGMTSC_DATA/kb.sqlite (host_pipeline.paths.data_dir())
    embedder: str = "minilm-l6"  # sentence encoder (registry name or BERT dir): fact retrieval and similarity guards
    top_k: int = 3  # facts put into a prompt at most
    fact_threshold: float = 0.15  # a fact is relevant if its cosine similarity to the sentence is at least this
    band_low: list[float] = field(default_factory=lambda: [0.7, 0.8])  # output/input word ratio, low SNR (Table I)
    band_medium: list[float] = field(default_factory=lambda: [0.8, 0.9])  # medium SNR
    band_high: list[float] = field(default_factory=lambda: [1.0, 1.0])  # high SNR: sent uncompressed
    # fitted prompt-encoder parameters: "" = the shipped host_pipeline/kb/anfis_params.json, or a path
    anfis_params: str = ""
    min_similarity: float = 0.7  # transmitter guard: LLM output vs its input (cosine), else fall back
    correction_min_similarity: float = 0.5  # receiver guard for correction/restoration (its input is noisy)
    max_novel_fraction: float = 0.35  # guard: share of output words found neither in the input nor in the facts
    length_retries: int = 1  # extra LLM attempts when the compressed length is outside the band
    step_timeout_s: float = 20.0  # one KB step (all its LLM attempts); then it falls back so the link never stalls
    max_words_per_chunk: int = 60  # longer text is processed in sentence-aligned chunks of at most this many words
    disambiguate: bool = True  # transmitter: resolve ambiguous words with the user's facts
    disambiguation: str = "rewrite"  # "rewrite": few-shot rewriting with the facts (any backend); "readings": the
    #   LLM lists the word's readings and the facts pick one by log-probability (llama_cpp backend only; with
    #   Qwen2.5-Coder-1.5B the listed readings were unusable, see docs/kb.md)
    correct: bool = True  # receiver: correct channel errors with context and facts
    confident_word_prob: float = 0.9  # receiver: words the decoder received with at least this confidence (top-1
    #   posterior / (top-1 + runner-up), SemanticCodec.decode_with_confidence) are never edited. u16 codec, AWGN
    #   -3..15 dB, 5586 tokens: 79 % of tokens are at or above 0.9 and 99.6 % of those are right; 96 % of the
    #   wrong tokens fall below it (benchmarks/kb_confidence.py)
    protected_words: list[str] = field(default_factory=list)  # never replaced by the LLM (besides the user's facts'
    #   content words and the hotwords passed to receive/transmit), e.g. names the ASR hotwords also list
