"""The generative semantic extractor: talking-face media -> voice activity -> timed transcript.

One entry point, :class:`SpeechExtractor`; ASR backends (``whisper``, ``paraformer``) behind the
:class:`AsrBackend` interface, chosen by ``[asr] backend``; models loaded once per process. Settings:
:class:`AsrConfig` and :class:`VadConfig` (``host_pipeline/asr/config.py``). Heavy imports happen on first use.
"""

from __future__ import annotations

from .config import AsrConfig, VadConfig

__all__ = ["AsrBackend", "AsrConfig", "FsmnVad", "Segment", "SpeechExtractor", "Transcript", "Utterance", "VadConfig",
           "load_asr"]

_LAZY = {"AsrBackend": "backends", "load_asr": "backends", "Segment": "extractor", "SpeechExtractor": "extractor",
         "Transcript": "extractor", "FsmnVad": "vad", "Utterance": "vad"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)
