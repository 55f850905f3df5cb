"""Checks every LLM output passes before it is used: non-empty, no delimiter, length, similarity, novelty."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text import words

_TAGLIKE = re.compile(r"</?\s*transcript", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:not|no|never|nobody|nothing|none|neither|nor|without)\b|n't\b", re.IGNORECASE)


def _negations(*texts: str) -> set[str]:
    found = {m.group(0).lower() for t in texts for m in _NEGATION.finditer(t)}
    return {"not" if w == "n't" else w for w in found}


@dataclass
class Verdict:
    ok: bool
    reason: str
    similarity: float | None = None


def _norm(w: str) -> str:
    return re.sub(r"[^\w']", "", w.lower()).strip("'")


def novel_fraction(output: str, known_texts: list[str]) -> float:
    """Share of the output's words that occur in none of ``known_texts`` (the input and the facts)."""
    out = [_norm(w) for w in words(output)]
    out = [w for w in out if w]
    if not out:
        return 0.0
    known = {_norm(w) for t in known_texts for w in words(t)}
    return sum(w not in known for w in out) / len(out)


def check_output(output: str, source: str, embedder, *, min_similarity: float,
                 counts: tuple[int, int] | None = None, max_novel: float | None = None,
                 known_texts: tuple[str, ...] = ()) -> Verdict:
    """Accept ``output`` as a rewrite of ``source`` only if every configured check passes."""
    if not output.strip() or not words(output):
        return Verdict(False, "empty or malformed reply")
    if _TAGLIKE.search(output):
        return Verdict(False, "reply contains the data-block delimiter")
    if counts is not None:
        n = len(words(output))
        if not counts[0] <= n <= counts[1]:
            return Verdict(False, f"length {n} words outside [{counts[0]}, {counts[1]}]")
    flipped = _negations(output) - _negations(source, *known_texts)
    if flipped:  # a rewrite may drop or add small words, never turn the meaning round
        return Verdict(False, f"adds a negation the input does not have ({', '.join(sorted(flipped))})")
    if max_novel is not None:
        nov = novel_fraction(output, [source, *known_texts])
        if nov > max_novel:
            return Verdict(False, f"{nov:.0%} of the words are new (limit {max_novel:.0%})")
    sim = embedder.similarity(output, source)
    if sim < min_similarity:
        return Verdict(False, f"similarity {sim:.2f} to the input < {min_similarity:.2f}", sim)
    return Verdict(True, "ok", sim)
