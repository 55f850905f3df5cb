"""Text normalisation for word error rates, the same everywhere in the project (ASR, codecs, round trips).

Rules, in order: Unicode NFKC; lower case; numbers written out in words ("20th" -> "twentieth",
"1,250" -> "one thousand two hundred fifty", "3.5" -> "three point five"); a plain four-digit number from
1100 to 1999 or 2010 to 2099 is read as a year, in pairs ("1455" -> "fourteen fifty five", "1900" ->
"nineteen hundred", "1405" -> "fourteen oh five"); "&" -> "and"; every character that is not a letter, a
digit, an apostrophe inside a word or a space removed (so "etc." == "etc", "tom," == "tom"); hyphens and
slashes become spaces; whitespace collapsed; British spellings mapped to American ones ("apologised" ->
"apologized") with Whisper's English normaliser list (1,739 words, the copy FunASR ships). Known limits: "two
thousand and five" against "2005"; compounds written apart ("wood cutters" against "woodcutters").
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import unicodedata
from pathlib import Path

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred")]
_ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth", "nine": "ninth",
            "twelve": "twelfth"}


def number_to_words(n: int) -> str:
    """Cardinal English words for a non-negative integer below 10**15."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for value, name in _SCALES:
        if n >= value:
            head, rest = divmod(n, value)
            return f"{number_to_words(head)} {name}" + ("" if rest == 0 else " " + number_to_words(rest))
    raise AssertionError("unreachable")


def ordinal_words(n: int) -> str:
    words = number_to_words(n).split()
    last = words[-1]
    if last in _ORDINAL:
        words[-1] = _ORDINAL[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def year_words(n: int) -> str:
    """A year as English speaks it: 1455 -> "fourteen fifty five", 1900 -> "nineteen hundred"."""
    head, tail = divmod(n, 100)
    if tail == 0:
        return f"{number_to_words(head)} hundred"
    return f"{number_to_words(head)} {'oh ' if tail < 10 else ''}{number_to_words(tail)}"


_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(st|nd|rd|th)?(?!\w)")


def _spell(m: re.Match) -> str:
    whole = int(m.group(1).replace(",", ""))
    if whole >= 10**15:
        return " ".join(_ONES[int(d)] for d in m.group(1) if d.isdigit())
    if m.group(3):
        return " " + ordinal_words(whole) + " "
    if not m.group(2) and len(m.group(1)) == 4 and (1100 <= whole <= 1999 or 2010 <= whole <= 2099):
        return " " + year_words(whole) + " "
    text = number_to_words(whole)
    if m.group(2):
        text += " point " + " ".join(_ONES[int(d)] for d in m.group(2))
    return " " + text + " "


@functools.lru_cache(maxsize=1)
def british_to_american() -> dict[str, str]:
    """Whisper's British -> American spelling list, read from FunASR's copy without importing FunASR."""
    spec = importlib.util.find_spec("funasr")
    if spec is None or not spec.submodule_search_locations:
        from .errors import ConfigError

        raise ConfigError("FunASR is not installed; it carries the spelling list the WER normalisation uses",
                          hint="run `make setup`")
    path = Path(next(iter(spec.submodule_search_locations))) / "models/sense_voice/whisper_lib/normalizers/english.json"
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def normalize(text: str) -> str:
    """Normalised form of ``text`` for word error rates (rules in the module docstring)."""
    t = unicodedata.normalize("NFKC", text).lower()
    t = _NUMBER.sub(_spell, t)
    t = t.replace("&", " and ").replace("-", " ").replace("/", " ")
    t = re.sub(r"[^\w\s']", " ", t)
    t = re.sub(r"(?<!\w)'|'(?!\w)", " ", t)  # quotes, not apostrophes inside words
    t = t.replace("_", " ")
    spelling = british_to_american()
    return " ".join(spelling.get(w, w) for w in t.split())


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit operations, reference words) between the normalised texts."""
    ref, hyp = normalize(reference).split(), normalize(hypothesis).split()
    if not ref:
        return len(hyp), 0
    import jiwer

    out = jiwer.process_words(" ".join(ref), " ".join(hyp) if hyp else "")
    return out.substitutions + out.deletions + out.insertions, len(ref)


def wer(references: list[str], hypotheses: list[str]) -> float:
    """Corpus word error rate: all edit operations over all reference words."""
    if len(references) != len(hypotheses):
        raise ValueError("references and hypotheses differ in number")
    errors = words = 0
    for r, h in zip(references, hypotheses):
        e, n = word_errors(r, h)
        errors, words = errors + e, words + n
    return errors / words if words else 0.0
