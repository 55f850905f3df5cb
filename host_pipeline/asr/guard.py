"""Checks on a recogniser's text so a loop or a hallucination never leaves as words (docs/asr.md).

Whisper, given music, noise, a language it was told not to use, or a long silence, tends to write a token or a
phrase over and over, or a stock phrase with no speech behind it. Its own per-window checks (compression ratio,
average log-probability, no-speech probability, temperature fallback) catch most of it; these checks run on the
final text of an utterance, whatever the backend.
"""

from __future__ import annotations

import re
import unicodedata
import zlib

import numpy as np

OUTCOME_WORDS = "words"
OUTCOME_UNINTELLIGIBLE = "unintelligible"

# Whisper's annotations of sounds that are not words: [Music], (applause), *cough*, music notes.
_NON_SPEECH = re.compile(r"\[[^\]]*\]|\([^)]*\)|（[^）]*）|【[^】]*】|\*[^*]*\*|[♪♫♬♩🎵🎶]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def strip_non_speech(text: str) -> str:
    """The text without sound annotations, with spaces tidied; empty if nothing but annotations and punctuation."""
    text = " ".join(_NON_SPEECH.sub(" ", text).split())
    return text if any(unicodedata.category(c)[0] in "LN" for c in text) else ""


def tokens(text: str) -> list[str]:
    """Lower-case words; hyphens and other punctuation separate them, apostrophes do not; each CJK character is
    one token (Chinese has no spaces)."""
    text = _CJK.sub(lambda m: f" {m.group(0)} ", text.lower().replace("'", "").replace("\u2019", ""))
    return "".join(c if unicodedata.category(c)[0] in "LN" else " " for c in text).split()


def compression_ratio(text: str) -> float:
    """UTF-8 length over zlib-compressed length: Whisper's measure; looping text compresses well (high ratio)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def repetition_loop(text: str, max_repeats: int, max_unit: int = 8) -> str | None:
    """A description of the first run where a unit of 1..``max_unit`` tokens follows itself more than
    ``max_repeats`` times in a row, or a unit of 4 or more tokens 3 times (``'the' x75``); None if there is none."""
    toks = tokens(text)
    if len(toks) < 3:
        return None
    ids = np.unique(np.array(toks), return_inverse=True)[1]
    for n in range(1, min(max_unit, len(toks) // 3) + 1):
        same = np.concatenate([[0], (ids[n:] == ids[:-n]).astype(np.int8), [0]])
        edges = np.flatnonzero(np.diff(same))
        starts, ends = edges[::2], edges[1::2]  # runs where token i equals token i + n: period n over run + n
        need = min(n * max_repeats, 2 * n) if n >= 4 else n * max_repeats
        long = np.flatnonzero(ends - starts >= need)
        if long.size:
            i, run = int(starts[long[0]]), int(ends[long[0]] - starts[long[0]])
            unit = " ".join(toks[i:i + n])
            return f"{unit!r} x{(run + n) // n}"
    return None


def text_problem(text: str, *, max_compression_ratio: float, max_repeats: int) -> str | None:
    """Why a final text is not to be sent as words (a loop, or text compressing like a loop), or None."""
    loop = repetition_loop(text, max_repeats)
    if loop:
        return f"repetition loop: {loop}"
    ratio = compression_ratio(text)
    if ratio > max_compression_ratio:
        return f"repetitive text (zlib compression ratio {ratio:.2f} > {max_compression_ratio:g})"
    return None
