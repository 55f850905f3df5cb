"""ASR backends behind one interface: faster-whisper (embedded default) and FunASR Paraformer (the paper's)."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .config import AsrConfig
from ..errors import ConfigError, ModelError
from ..models import resolve_model_dir
from ._quiet import quiet_logging


@dataclass
class Recognition:
    """One utterance's text, its language and a confidence in [0, 1]."""

    text: str
    language: str
    confidence: float


class AsrBackend(Protocol):
    name: str

    def recognize(self, audio: np.ndarray, hotwords: list[str], language: str | None) -> Recognition:
        """Transcribe one utterance (16 kHz mono float32)."""


class WhisperAsr:
    """faster-whisper (CTranslate2) on a local Whisper model directory; hotwords go to its prompt."""

    name = "whisper"

    def __init__(self, model_dir: Path, config: AsrConfig):
        self.config = config
        _check_whisper_language(config.language)  # before the model loads, not at the first utterance
        self.model = _load_whisper(str(model_dir), config.compute_type, config.threads)

    def recognize(self, audio: np.ndarray, hotwords: list[str], language: str | None) -> Recognition:
        _check_whisper_language(language)
        with quiet_logging():
            segments, info = self.model.transcribe(
                audio, language=language, beam_size=self.config.beam_size, hotwords=" ".join(hotwords) or None,
                condition_on_previous_text=False, vad_filter=False, temperature=0.0)
            segments = list(segments)
        text = " ".join(s.text.strip() for s in segments).strip()
        lang = info.language
        if lang == "zh" and text:
            import zhconv

            text = zhconv.convert(text, "zh-cn")  # Whisper often writes traditional characters
        weight = sum(max(s.end - s.start, 1e-3) for s in segments)
        conf = (sum(math.exp(s.avg_logprob) * max(s.end - s.start, 1e-3) for s in segments) / weight) if segments else 0.0
        return Recognition(text, lang, round(conf, 4))


@functools.lru_cache(maxsize=2)
def _load_whisper(model_dir: str, compute_type: str, threads: int):
    try:
        from faster_whisper import WhisperModel

        with quiet_logging():
            return WhisperModel(model_dir, device="cpu", compute_type=compute_type, cpu_threads=threads)
    except Exception as e:  # noqa: BLE001
        raise ModelError(f"cannot load the Whisper model from {model_dir}: {e}",
                         hint="check it with `lgmtsc models list`, or point asr.model at a CTranslate2 Whisper directory") from None


def _check_whisper_language(language: str | None) -> None:
    if language is None:
        return
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    if language not in _LANGUAGE_CODES:
        raise ConfigError(f"Whisper does not know the language code {language!r}",
                          hint="a two-letter code such as en, zh, de; or leave asr.language unset to detect it")


PARAFORMER_HINT = (
    "the Paraformer weights do not ship in any package: download a FunASR model directory such as "
    "iic/speech_seaco_paraformer_large_asr_nat-zh-cn-16k-common-vocab8404-pytorch (SeACo: hotwords) from "
    "ModelScope on a connected machine, copy it here and set asr.model=<that directory> "
    "(and asr.punc_model=<punctuation model directory> for punctuation)"
)


class ParaformerAsr:
    """FunASR Paraformer / SeACo-Paraformer from a local model directory (hotwords need SeACo)."""

    name = "paraformer"

    def __init__(self, model_dir: Path, config: AsrConfig):
        self.config = config
        punc = str(resolve_model_dir(config.punc_model)) if config.punc_model else None
        self.model = _load_paraformer(str(model_dir), punc, config.threads)

    def recognize(self, audio: np.ndarray, hotwords: list[str], language: str | None) -> Recognition:
        with quiet_logging():
            res = self.model.generate(input=audio, hotword=" ".join(hotwords) or None, disable_pbar=True)
        text = (res[0].get("text") if res else "") or ""
        return Recognition(text.strip(), language or "zh", 1.0 if text else 0.0)


@functools.lru_cache(maxsize=2)
def _load_paraformer(model_dir: str, punc_dir: str | None, threads: int):
    d = Path(model_dir)
    if not (d / "config.yaml").exists() or not any((d / n).exists() for n in ("model.pt", "model.onnx")):
        raise ModelError(f"{d} is not a FunASR Paraformer model directory (needs config.yaml and model.pt)",
                         hint=PARAFORMER_HINT)
    try:
        kwargs = {"punc_model": punc_dir} if punc_dir else {}
        with quiet_logging():
            from funasr import AutoModel

            return AutoModel(model=model_dir, disable_update=True, device="cpu", ncpu=threads, log_level="ERROR",
                             **kwargs)
    except Exception as e:  # noqa: BLE001
        raise ModelError(f"FunASR could not load {model_dir}: {e}", hint=PARAFORMER_HINT) from None


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
