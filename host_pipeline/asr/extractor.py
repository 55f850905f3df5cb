"""The transmitter's first stage: a media file (or audio stream) in, timed utterance transcripts out."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..media import SAMPLE_RATE, iter_audio, iter_live_audio, probe
from .backends import AsrBackend, load_asr
from .config import AsrConfig, VadConfig
from .guard import OUTCOME_WORDS
from .vad import FsmnVad


@dataclass
class Segment:
    """One utterance: seconds from the start of the input, its text, language and confidence.

    ``outcome`` is ``"words"``, or ``"unintelligible"`` when the recogniser's text failed the hallucination
    checks (docs/asr.md): then ``text`` is empty, ``reason`` says why, and the transmitter sends nothing for it."""

    start: float
    end: float
    text: str
    language: str
    confidence: float
    outcome: str = OUTCOME_WORDS
    reason: str = ""

    @property
    def intelligible(self) -> bool:
        return self.outcome == OUTCOME_WORDS


@dataclass
class Transcript:
    source: str
    duration_s: float
    segments: list[Segment] = field(default_factory=list)
    processing_s: float = 0.0

    @property
    def text(self) -> str:
        """The words of the intelligible utterances."""
        return " ".join(s.text for s in self.segments if s.text)

    def to_dict(self) -> dict:
        return {"source": self.source, "duration_s": round(self.duration_s, 3), "text": self.text,
                "processing_s": round(self.processing_s, 3), "segments": [asdict(s) for s in self.segments]}


class SpeechExtractor:
    """VAD + ASR, models loaded once: ``transcribe_file`` for a whole file, ``stream`` for utterances as they end."""

    def __init__(self, asr: AsrConfig, vad: VadConfig):
        self.asr_config = asr
        self.vad = FsmnVad(vad)
        self.asr: AsrBackend = load_asr(asr)

    def stream(self, chunks: Iterable[np.ndarray], hotwords: list[str] | None = None) -> Iterator[Segment]:
        """Transcribe each utterance of a 16 kHz audio stream as soon as the VAD closes it; an utterance whose
        text failed the checks comes as an ``unintelligible`` segment (empty text, with its reason)."""
        words = list(self.asr_config.hotwords) + list(hotwords or [])
        for utt in self.vad.utterances(chunks):
            if utt.audio.size < SAMPLE_RATE // 10:
                continue  # under 100 ms: a click, not speech
            rec = self.asr.recognize(utt.audio, words, self.asr_config.language)
            if rec.text or rec.outcome != OUTCOME_WORDS:
                yield Segment(round(utt.start, 3), round(utt.end, 3), rec.text, rec.language, rec.confidence,
                              rec.outcome, rec.reason)

    def transcribe_file(self, path: str | Path, hotwords: list[str] | None = None,
                        on_segment: Callable[[Segment], None] | None = None) -> Transcript:
        probe(path)
        return self._collect(str(path), iter_audio(path), hotwords, on_segment)

    def transcribe_live(self, source: str, hotwords: list[str] | None = None,
                        on_segment: Callable[[Segment], None] | None = None) -> Transcript:
        """A live source (``follow:FILE``, ``alsa:DEVICE``, ``pulse:DEVICE``), utterances reported as they end."""
        return self._collect(source, iter_live_audio(source), hotwords, on_segment, until_interrupted=True)

    def _collect(self, source: str, chunks: Iterable[np.ndarray], hotwords, on_segment,
                 until_interrupted: bool = False) -> Transcript:
        """``until_interrupted``: a live source ends when the user stops it (Ctrl-C); what was said is kept."""
        t0 = time.perf_counter()
        seen = [0]

        def counted() -> Iterator[np.ndarray]:
            for c in chunks:
                seen[0] += c.size
                yield c

        segments = []
        try:
            for seg in self.stream(counted(), hotwords):
                segments.append(seg)
                if on_segment:
                    on_segment(seg)
        except KeyboardInterrupt:
            if not until_interrupted:
                raise
        return Transcript(source, seen[0] / SAMPLE_RATE, segments, time.perf_counter() - t0)
