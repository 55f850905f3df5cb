"""ASR backends behind one interface: faster-whisper (embedded default) and FunASR Paraformer (the paper's)."""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import ConfigError, ModelError
from ..models import resolve_model_dir
from ._quiet import quiet_logging
from .config import AsrConfig
from .guard import OUTCOME_UNINTELLIGIBLE, OUTCOME_WORDS, strip_non_speech, text_problem
from .paraformer import PARAFORMER_HINT, ParaformerAsr


@dataclass
class Recognition:
    """One utterance's text, its language and a confidence in [0, 1]; ``outcome`` is ``"words"``, or
    ``"unintelligible"`` (then ``text`` is empty and ``reason`` says why: a loop, no speech, low confidence)."""

    text: str
    language: str
    confidence: float
    outcome: str = OUTCOME_WORDS
    reason: str = ""


class AsrBackend(Protocol):
    name: str

    def recognize(self, audio: np.ndarray, hotwords: list[str], language: str | None) -> Recognition:
        """Transcribe one utterance (16 kHz mono float32); ``language`` None: the likeliest of ``asr.languages``."""


class WhisperAsr:
    """faster-whisper (CTranslate2) on a local Whisper model directory; hotwords go to its prompt.

    Language detection chooses among ``asr.languages`` only (when it prefers another language, the text must be
    surer: ``asr.foreign_log_prob_threshold``); decoding falls back through ``asr.temperatures``
    when a window loops (compression ratio), is unsure (log-probability) or is silence (no-speech probability);
    windows that still fail are dropped and the final text is checked for loops (:mod:`.guard`)."""

    name = "whisper"

    def __init__(self, model_dir: Path, config: AsrConfig):
        self.config = config
        _check_whisper_config(config)  # before the model loads, not at the first utterance
        self.model = _load_whisper(str(model_dir), config.compute_type, config.threads)

    def pick_language(self, audio: np.ndarray) -> tuple[str, str | None]:
        """The most probable of the configured languages for this audio, and, when the detector prefers a language
        outside them (more probable than all of them together), that language and its probability (``"cy 0.90"``)."""
        allowed = self.config.languages
        if not self.model.model.is_multilingual:
            return "en", None
        # the features transcribe() will compute, less their last frame (it decodes content_frames = n - 1): the
        # padded 30-s window is then the one transcribe() encodes, and OneEncodeWhisper encodes it only once
        features = self.model.feature_extractor(audio)[..., :-1]
        with quiet_logging():
            _, _, probs = self.model.detect_language(features=features)
        ours = [(lang, p) for lang, p in probs if not allowed or lang in allowed]
        lang = max(ours, key=lambda lp: lp[1])[0]
        top, p_top = probs[0]
        foreign = f"{top} {p_top:.2f}" if p_top > sum(p for _, p in ours) else None
        return lang, foreign

    def recognize(self, audio: np.ndarray, hotwords: list[str], language: str | None) -> Recognition:
        _check_whisper_language(language)
        cfg = self.config
        lang, foreign = (language, None) if language else self.pick_language(audio)
        import ctranslate2

        ctranslate2.set_random_seed(cfg.seed)  # the sampled fallback decodes the same way every time
        with quiet_logging():
            segments, _ = self.model.transcribe(
                audio, language=lang, beam_size=cfg.beam_size, hotwords=" ".join(hotwords) or None,
                condition_on_previous_text=False, vad_filter=False, temperature=list(cfg.temperatures),
                compression_ratio_threshold=cfg.compression_ratio_threshold,
                log_prob_threshold=cfg.log_prob_threshold, no_speech_threshold=cfg.no_speech_threshold)
            segments = list(segments)
        kept, dropped = [], []
        for s in segments:  # each has survived Whisper's fallback; what still fails a check is not words
            text = strip_non_speech(s.text.strip())
            if not text:
                dropped.append("no speech (only sound annotations)")
            elif s.compression_ratio > cfg.compression_ratio_threshold:
                dropped.append(f"repetition loop (compression ratio {s.compression_ratio:.2f} at every temperature)")
            elif s.avg_logprob < cfg.min_log_prob:
                dropped.append(f"low confidence (mean log-probability {s.avg_logprob:.2f} < {cfg.min_log_prob:g})")
            else:
                kept.append((s, text))
        if not kept:
            return unintelligible(lang, dropped[0] if dropped else "no speech")
        text = " ".join(t for _, t in kept)
        if lang == "zh":
            import zhconv

            text = zhconv.convert(text, "zh-cn")  # Whisper often writes traditional characters
        problem = text_problem(text, max_compression_ratio=cfg.compression_ratio_threshold,
                               max_repeats=cfg.max_repeats)
        if problem:
            return unintelligible(lang, problem)
        weight = sum(max(s.end - s.start, 1e-3) for s, _ in kept)
        logprob = sum(s.avg_logprob * max(s.end - s.start, 1e-3) for s, _ in kept) / weight
        if foreign and logprob < cfg.foreign_log_prob_threshold:  # likely another language, translated or spelled
            return unintelligible(lang, f"speech in another language (detected {foreign}; as {lang}: mean "
                                        f"log-probability {logprob:.2f} < {cfg.foreign_log_prob_threshold:g})")
        conf = sum(math.exp(s.avg_logprob) * max(s.end - s.start, 1e-3) for s, _ in kept) / weight
        return Recognition(text, lang, round(conf, 4))


def unintelligible(language: str, reason: str) -> Recognition:
    return Recognition("", language, 0.0, OUTCOME_UNINTELLIGIBLE, reason)


@functools.lru_cache(maxsize=1)
def _one_encode_whisper() -> type:
    """faster-whisper's ``WhisperModel`` that remembers its last encoder input and output: detecting the language
    and then decoding the same 30-s window runs the encoder (half of a short utterance's cost) once, not twice."""
    from faster_whisper import WhisperModel

    class OneEncodeWhisper(WhisperModel):
        _last: tuple = (None, None)
        _lock = threading.Lock()

        def encode(self, features: np.ndarray):
            with self._lock:
                seen, out = self._last
                if seen is not None and seen.shape == features.shape and np.array_equal(seen, features):
                    return out
                out = super().encode(features)
                self._last = (np.array(features, copy=True), out)
                return out

    return OneEncodeWhisper


@functools.lru_cache(maxsize=2)
def _load_whisper(model_dir: str, compute_type: str, threads: int):
    try:
        with quiet_logging():
            return _one_encode_whisper()(model_dir, device="cpu", compute_type=compute_type, cpu_threads=threads)
    except Exception as e:  # noqa: BLE001
        raise ModelError(f"cannot load the Whisper model from {model_dir}: {e}",
                         hint="check it with `lgmtsc models list`, "
                              "or point asr.model at a CTranslate2 Whisper directory") from None


def _check_whisper_config(config: AsrConfig) -> None:
    _check_whisper_language(config.language)
    for lang in config.languages:
        _check_whisper_language(lang, "asr.languages")
    if not config.temperatures or any(not 0 <= t <= 1 for t in config.temperatures):
        raise ConfigError(f"asr.temperatures = {config.temperatures}: give one or more values in [0, 1]",
                          hint="e.g. asr.temperatures=0,0.2,0.4,0.6,0.8,1")
    if config.max_repeats < 1:
        raise ConfigError(f"asr.max_repeats = {config.max_repeats}: must be 1 or more")


def _check_whisper_language(language: str | None, key: str = "asr.language") -> None:
    if language is None:
        return
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    if language not in _LANGUAGE_CODES:
        raise ConfigError(f"Whisper does not know the language code {language!r} ({key})",
                          hint="a two-letter code such as en, zh, de; or leave asr.language unset to detect it")


BACKENDS = {"whisper": WhisperAsr, "paraformer": ParaformerAsr}


def load_asr(config: AsrConfig) -> AsrBackend:
    """The backend named by ``config.backend`` on ``config.model`` (registry name or directory)."""
    if config.backend == "paraformer" and config.model == AsrConfig().model:
        raise ModelError("asr.backend=paraformer needs a Paraformer model directory in asr.model", hint=PARAFORMER_HINT)
    try:
        model_dir = resolve_model_dir(config.model)
    except ModelError as e:
        if config.backend == "paraformer":
            raise ModelError(f"Paraformer model directory not found: {config.model}", hint=PARAFORMER_HINT) from None
        raise e
    return BACKENDS[config.backend](model_dir, config)
