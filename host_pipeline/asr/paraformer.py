"""FunASR Paraformer / SeACo-Paraformer, the paper's ASR, behind :class:`~.backends.AsrBackend`."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelError
from ..models import resolve_model_dir
from ._quiet import quiet_logging
from .config import AsrConfig
from .guard import strip_non_speech, text_problem

if TYPE_CHECKING:
    from .backends import Recognition


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
        from .backends import Recognition, unintelligible  # backends imports this module

        with quiet_logging():
            res = self.model.generate(input=audio, hotword=" ".join(hotwords) or None, disable_pbar=True)
        text = strip_non_speech(((res[0].get("text") if res else "") or "").strip())
        lang = language or "zh"
        problem = "no speech" if not text else text_problem(
            text, max_compression_ratio=self.config.compression_ratio_threshold, max_repeats=self.config.max_repeats)
        return unintelligible(lang, problem) if problem else Recognition(text, lang, 1.0)


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
