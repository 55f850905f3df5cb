"""Typed settings of voice activity detection (section ``[vad]``) and speech recognition (section ``[asr]``).
Light module: no model imports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional


@dataclass
class VadConfig:
    """Voice activity detection (FunASR FSMN-VAD): splits input audio into utterances."""

    backend: Literal["fsmn"] = "fsmn"
    model: str = "fsmn-vad"  # a registry name (lgmtsc models list) or a FunASR model directory
    end_silence_ms: int = 500  # silence that ends a segment (FunASR max_end_silence_time)
    merge_gap_ms: int = 300  # segments closer than this are merged into one utterance
    max_segment_s: float = 30.0  # longer speech is cut so one message stays bounded
    chunk_ms: int = 1000  # audio per FSMN-VAD step: an utterance is closed at most this long after its end silence


@dataclass
class AsrConfig:
    """Speech recognition, the generative semantic extractor."""

    backend: Literal["whisper", "paraformer"] = "whisper"
    model: str = "whisper-base"  # a registry name or a model directory (CTranslate2 for whisper, FunASR for paraformer)
    punc_model: Optional[str] = None  # FunASR punctuation model directory (paraformer backend)
    language: Optional[str] = None  # None = detect; "en", "zh", ...
    hotwords: list[str] = field(default_factory=list)
    beam_size: int = 5
    compute_type: str = "int8"  # CTranslate2 compute type
    threads: int = 2
