"""Voice activity detection with FunASR's FSMN-VAD, streamed so long inputs keep memory bounded."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import ModelError
from ..media import SAMPLE_RATE
from ..models import resolve_model_dir
from ._quiet import quiet_logging
from .config import VadConfig

START_LAG_S = 1.0  # FSMN-VAD reports the start of speech up to this late: that much audio is kept before it


@dataclass
class Utterance:
    """One stretch of speech: times in seconds from the start of the input, and its 16 kHz audio."""

    start: float
    end: float
    audio: np.ndarray


@functools.lru_cache(maxsize=4)
def _load_fsmn(model_dir: str, end_silence_ms: int):
    try:
        with quiet_logging():
            from funasr import AutoModel

            return AutoModel(model=model_dir, disable_update=True, device="cpu", log_level="ERROR",
                             max_end_silence_time=end_silence_ms)
    except Exception as e:  # noqa: BLE001 - FunASR raises many kinds on a bad model dir
        raise ModelError(f"cannot load the FSMN-VAD model from {model_dir}: {e}",
                         hint="check it with `lgmtsc models list`; "
                              "reinstall with `lgmtsc models install fsmn-vad`") from None


class FsmnVad:
    """Streams audio chunks through FSMN-VAD and yields merged utterances with their audio."""

    def __init__(self, config: VadConfig):
        self.config = config
        self.chunk_ms = int(config.chunk_ms)
        self.model = _load_fsmn(str(resolve_model_dir(config.model)), config.end_silence_ms)
        self.last_endpoint = 0.0

    def utterances(self, chunks: Iterable[np.ndarray]) -> Iterator[Utterance]:
        """Split a stream of 16 kHz mono chunks into utterances.

        Endpointing: FSMN-VAD closes a segment after ``end_silence_ms`` of trailing silence, seen at the next
        ``chunk_ms`` boundary. Segments closer than ``merge_gap_ms`` are joined (so a comma pause does not split a
        sentence). When that gap is not longer than the end silence, only a restart right at the end can still
        follow (FSMN reports it one step after the end), so the utterance is held for one more step and then handed
        on; with a longer gap it is held until a later start is ruled out (starts are reported late).
        Speech running longer than ``max_segment_s`` is cut so one message stays bounded.
        Only the audio of the open and held segments is kept in memory. ``last_endpoint`` is the stream position
        (s) at which the latest utterance was closed, for latency accounting.
        """
        cfg = self.config
        gap = cfg.merge_gap_ms / 1000.0
        # VAD reports starts late; past this, nothing can merge with a held segment (None: one more step)
        settle = None if cfg.merge_gap_ms <= cfg.end_silence_ms else gap + START_LAG_S
        step = self.chunk_ms * SAMPLE_RATE // 1000
        cache: dict = {}
        kept, kept_from, pos = np.zeros(0, np.float32), 0, 0  # audio from sample kept_from up to pos
        open_start: float | None = None
        held: list[float] | None = None  # [start, end] of a closed segment that may still merge
        held_at = 0.0  # stream position when it was closed

        def cut(a: float, b: float) -> Utterance:
            i, j = int(round(a * SAMPLE_RATE)) - kept_from, int(round(b * SAMPLE_RATE)) - kept_from
            return Utterance(a, b, kept[max(i, 0):max(j, 0)].copy())

        def close(a: float, b: float) -> Iterator[Utterance]:
            nonlocal held, held_at
            held_at = now
            if held and a - held[1] <= gap and b - held[0] <= cfg.max_segment_s:
                held[1] = b
                return
            if held:
                self.last_endpoint = now
                yield cut(*held)
            held = [a, b]

        flush = np.zeros(SAMPLE_RATE // 100, np.float32)  # 10 ms of silence closes the stream (is_final)
        for current in itertools.chain(_rechunk(chunks, step), [flush]):  # no look-ahead: live latency
            kept = np.concatenate([kept, current])
            pos += current.size
            now = pos / SAMPLE_RATE
            with quiet_logging():
                res = self.model.generate(input=current, cache=cache, is_final=current is flush,
                                          chunk_size=self.chunk_ms, disable_pbar=True)
            for beg_ms, end_ms in (res[0].get("value") or []) if res else []:
                if beg_ms >= 0:
                    open_start = beg_ms / 1000.0
                if end_ms >= 0 and open_start is not None:
                    yield from close(open_start, end_ms / 1000.0)
                    open_start = None
            if open_start is not None and now - open_start > cfg.max_segment_s:
                yield from close(open_start, now)  # a run-on segment
                open_start = now
            if held and (open_start - held[1] > gap if open_start is not None else
                         now > held_at if settle is None else now - held[1] > settle):
                self.last_endpoint = now
                yield cut(*held)  # nothing can merge with it any more: hand it on now
                held = None
            starts = [t for t in (open_start, held[0] if held else None) if t is not None]
            keep = min(starts) if starts else now - max(settle or 0.0, START_LAG_S)
            drop = int(keep * SAMPLE_RATE) - kept_from
            if drop > 0:
                kept, kept_from = kept[drop:], kept_from + drop
        if open_start is not None and now > open_start:
            yield from close(open_start, now)
        if held:
            self.last_endpoint = now
            yield cut(*held)


def _rechunk(chunks: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    buf, held = [], 0
    for c in chunks:
        buf.append(c)
        held += c.size
        while held >= size:
            joined = np.concatenate(buf)
            yield joined[:size]
            rest = joined[size:]
            buf, held = ([rest] if rest.size else []), rest.size
    if held:
        yield np.concatenate(buf)
