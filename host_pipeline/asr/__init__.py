"""The generative semantic extractor: talking-face media -> voice activity -> timed transcript.

One entry point, :class:`SpeechExtractor`; ASR backends (``whisper``, ``paraformer``) behind the
:class:`AsrBackend` interface, chosen by ``[asr] backend``; models loaded once per process.
"""

from .backends import AsrBackend, load_asr
from .extractor import Segment, SpeechExtractor, Transcript
from .vad import FsmnVad, Utterance

__all__ = ["AsrBackend", "FsmnVad", "Segment", "SpeechExtractor", "Transcript", "Utterance", "load_asr"]
