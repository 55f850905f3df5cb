"""Typed settings of voice activity detection (section ``[vad]``) and speech recognition (section ``[asr]``).
Light module: no model imports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class VadConfig:
    """Voice activity detection (FunASR FSMN-VAD): splits input audio into utterances."""

    backend: Literal["fsmn"] = "fsmn"
    model: str = "fsmn-vad"  # a registry name (lgmtsc models list) or a FunASR model directory
    end_silence_ms: int = 500  # silence that ends a segment (FunASR max_end_silence_time)
    merge_gap_ms: int = 300  # segments closer than this are merged into one utterance
    max_segment_s: float = 30.0  # longer speech is cut so one message stays bounded
    chunk_ms: int = 200  # audio per FSMN-VAD step: an utterance is closed at most this long after its end silence


@dataclass
class AsrConfig:
    """Speech recognition, the generative semantic extractor."""

    backend: Literal["whisper", "paraformer"] = "whisper"
    model: str = "whisper-base"  # a registry name or a model directory (CTranslate2 for whisper, FunASR for paraformer)
    punc_model: str | None = None  # FunASR punctuation model directory (paraformer backend)
    language: str | None = None  # None = detect among `languages`; "en", "zh", ... forces one
    languages: list[str] = field(default_factory=lambda: ["en", "zh"])  # detection picks the likeliest of these
    hotwords: list[str] = field(default_factory=list)
    hotword_file: str | None = None  # paraformer: a UTF-8 file of hotword phrases, one per line
    beam_size: int = 5
    compute_type: str = "int8"  # CTranslate2 compute type
    threads: int = 2
    # Hallucination guards (docs/asr.md): a 30-s window failing a check is decoded again at the next temperature;
    # what still fails after the last is dropped, and an utterance with nothing left is "unintelligible", not sent.
    temperatures: list[float] = field(default_factory=lambda: [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    seed: int = 0  # of the sampling at temperatures above 0
    compression_ratio_threshold: float = 2.4  # text compressing more than this with zlib is a loop (window and final)
    log_prob_threshold: float = -1.0  # mean token log-probability below this: the window is decoded again, hotter
    min_log_prob: float = -0.8  # the final text of a window needs at least this mean token log-probability
    no_speech_threshold: float = 0.6  # no-speech probability above this, with a failed log-probability: no speech
    max_repeats: int = 4  # a token or phrase following itself more often than this in the final text is a loop
    foreign_log_prob_threshold: float = -0.4  # when detection prefers a language outside `languages`, the text
    # in the chosen one needs at least this mean log-probability (else it is a translation or a spelled-out guess)
