"""Edit gating at the receiver: the LLM may change only words the channel decoder was unsure of.

The semantic decoder gives each received word a posterior probability (``SemanticCodec.decode_with_confidence``).
A correction is diffed against its input word by word; an edit (replacement, deletion or insertion) is kept only
if every input word it touches is below ``kb.confident_word_prob`` and none is a protected word (a content word of
the user's facts or an ASR hotword). Every other edit is reverted, so a correctly received rare name can never be
"corrected" into common words (the demo's "whittemore" -> "with white more").
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

import numpy as np

WordConfidences = Sequence[float] | Sequence[tuple[str, float]]

# Function words never protected even when a fact contains them (a fact word protects only content words).
_FUNCTION_WORDS = frozenset("""a an the and or but if of to in on at by for from with as is are was were be been am
do does did has have had not no so it its he she they we you i me my our your his her their them this that these
those there here who what when where why how than then too very can will would should could may might must""".split())


def _symbols(word: str) -> str:
    """What ``norm`` drops inside a word: signs and symbols such as - $ % (not its closing punctuation)."""
    return re.sub(r"[\w'.,!?;:\"]", "", word)


def norm(word: str) -> str:
    """Lower case, letters/digits/apostrophes only (how words are compared)."""
    return re.sub(r"[^\w']", "", word.lower()).strip("'")


def protected_set(texts: Iterable[str]) -> frozenset[str]:
    """Normalised content words of ``texts`` (facts, hotwords): words of 3+ characters that are not function words."""
    return frozenset(w for t in texts for w in map(norm, t.split()) if len(w) >= 3 and w not in _FUNCTION_WORDS)


def align_confidences(text: str, word_confidences: WordConfidences) -> np.ndarray | None:
    """Per whitespace token of ``text``, the confidence of the decoder words that spell it (their minimum).

    ``word_confidences``: (word, confidence) pairs in order, as from ``decode_with_confidence`` (a decoded word
    may be a piece of a token, e.g. "didn" "'" "t"), or plain floats already one per whitespace token. Returns
    None when the pairs do not spell ``text`` (then no confidence gating is possible)."""
    tokens = text.split()
    items = list(word_confidences)
    if not items or not isinstance(items[0], (tuple, list)):
        conf = np.asarray(items, dtype=float)
        return conf if conf.shape == (len(tokens),) and np.isfinite(conf).all() else None
    out = np.empty(len(tokens))
    k = 0
    for i, tok in enumerate(tokens):
        want, got, lo = "".join(tok.lower().split()), "", 1.0
        while len(got) < len(want) and k < len(items):
            w, c = items[k]
            got += "".join(str(w).lower().split())
            lo = min(lo, float(c))
            k += 1
        if got != want:
            return None
        out[i] = lo
    return out if k == len(items) else None


def gate_edits(source: str, output: str, confidences: np.ndarray | None, protected: frozenset[str],
               threshold: float, insertions: bool = False) -> tuple[str, list[str]]:
    """``output`` with every edit of a confident or protected ``source`` word reverted.

    ``confidences``: one per whitespace token of ``source`` (None: all words editable unless protected).
    ``insertions``: keep every pure insertion (restoration adds words back); otherwise an insertion needs both
    neighbours editable. Returns the gated text and a description of each reverted edit."""
    src, out = source.split(), output.split()
    editable = np.array([norm(w) not in protected for w in src], dtype=bool)
    if confidences is not None:
        editable &= np.asarray(confidences) < threshold
    sm = difflib.SequenceMatcher(a=[norm(w) for w in src], b=[norm(w) for w in out], autojunk=False)
    merged, reverted = [], []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":  # same words; the LLM's casing and punctuation, unless it changed a sign or symbol
            merged += [o if e or _symbols(o) == _symbols(w) else w
                       for w, o, e in zip(src[i1:i2], out[j1:j2], editable[i1:i2])]
            continue
        touched = editable[i1:i2] if i2 > i1 else editable[max(0, i1 - 1):i1 + 1]  # insert: its neighbours
        if (op == "insert" and insertions) or (touched.size and touched.all()):
            merged += out[j1:j2]
        else:
            merged += src[i1:i2]
            reverted.append(f"{' '.join(src[i1:i2]) or '^'} -> {' '.join(out[j1:j2]) or '(deleted)'}")
    return " ".join(merged), reverted
