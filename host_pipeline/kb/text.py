"""Word counting, length bands, sentence-aligned chunking and the extractive fall-back compressor."""

from __future__ import annotations

import math
import re

_WORD = re.compile(r"\S+")
_HAS_ALNUM = re.compile(r"\w")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


def words(text: str) -> list[str]:
    """Whitespace tokens that carry a letter or digit (punctuation alone is not a word)."""
    return [w for w in _WORD.findall(text) if _HAS_ALNUM.search(w)]


def n_words(text: str) -> int:
    return len(words(text))


def band_counts(n: int, band: tuple[float, float]) -> tuple[int, int]:
    """Allowed output word counts for an n-word input: every integer k with lo <= k/n <= hi; when no integer
    fits (short inputs), the integer nearest to the band's middle. Never fewer than one word."""
    lo, hi = band
    kmin, kmax = math.ceil(lo * n - 1e-9), math.floor(hi * n + 1e-9)
    if kmin > kmax:
        kmin = kmax = int(math.floor((lo + hi) / 2 * n + 0.5))
    return max(1, kmin), max(1, kmax)


def in_band(n_in: int, n_out: int, band: tuple[float, float]) -> bool:
    kmin, kmax = band_counts(n_in, band)
    return kmin <= n_out <= kmax


def chunks(text: str, max_words: int) -> list[str]:
    """Split into sentence-aligned pieces of at most ``max_words`` words (a longer sentence is cut by words)."""
    text = " ".join(text.split())
    if not text:
        return []
    out: list[str] = []
    cur: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        toks = sentence.split()
        while len(toks) > max_words:
            if cur:
                out.append(" ".join(cur))
                cur = []
            out.append(" ".join(toks[:max_words]))
            toks = toks[max_words:]
        if cur and n_words(" ".join(cur + toks)) > max_words:
            out.append(" ".join(cur))
            cur = []
        cur += toks
    if cur:
        out.append(" ".join(cur))
    return out


def extractive_compress(text: str, target_words: int, embedder) -> str:
    """Drop the words whose removal changes the sentence embedding least until ``target_words`` remain.

    Deterministic and always inside the band: the fall-back when the LLM misses the length or the guards.
    Importance of each word = 1 - cos(sentence, sentence without that word), computed in one batch.
    """
    toks = text.split()
    idx = [i for i, t in enumerate(toks) if _HAS_ALNUM.search(t)]
    drop_n = len(idx) - max(1, target_words)
    if drop_n <= 0:
        return " ".join(toks)
    variants = [" ".join(toks[:i] + toks[i + 1:]) for i in idx]
    vecs = embedder.embed([text] + variants)
    importance = 1.0 - vecs[1:] @ vecs[0]
    order = sorted(range(len(idx)), key=lambda j: (importance[j], -idx[j]))
    drop = {idx[j] for j in order[:drop_n]}
    kept: list[str] = []
    for i, t in enumerate(toks):
        if i in drop:
            tail = re.search(r"[.!?]+[\"')\]]*$", t)  # keep sentence-final punctuation of a dropped word
            if tail and kept and not re.search(r"[.!?]$", kept[-1]):
                kept[-1] = kept[-1].rstrip(",;:") + tail.group(0)
            continue
        if not _HAS_ALNUM.search(t) and not kept:
            continue
        kept.append(t)
    out = " ".join(kept)
    return out[:1].upper() + out[1:] if text[:1].isupper() else out
