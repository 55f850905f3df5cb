"""The real text the coder is trained and evaluated on (``data/``), split so the two never overlap.

- ``train``: IMDB reviews 500-999 and SMS messages 2787-5573 (the static table is counted on these only);
- ``eval``: IMDB reviews 0-499 cut into sentences, SMS messages 0-2786, and the 39 speech transcripts.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..paths import real_data_dir

IMDB_SPLIT = 500
SMS_SPLIT = 2787
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_HTML_BREAK = re.compile(r"<br\s*/?>", re.I)


@dataclass(frozen=True)
class Sentence:
    source: str  # "transcripts", "sms" or "imdb"
    id: str  # stable identifier inside its source
    text: str
    duration_s: float | None = None  # speech duration when known (transcripts)


def _file(rel: str) -> Path:
    p = real_data_dir() / rel
    if not p.is_file():
        raise InputError(f"real data file {p} is missing",
                         hint="the repo's data/ folder is incomplete: restore it with git checkout data, "
                              "or set $LGMTSC_REAL_DATA")
    return p


def transcripts() -> list[Sentence]:
    """The speech transcripts with their audio durations (from PROVENANCE.tsv)."""
    durations = {}
    prov = real_data_dir() / "PROVENANCE.tsv"
    if prov.is_file():
        with open(prov, encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                if row.get("duration_s"):
                    durations[Path(row["file"]).name] = float(row["duration_s"])
    out = []
    with open(_file("speech/transcripts.tsv"), encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            out.append(Sentence("transcripts", row["file"], row["transcript"].strip(), durations.get(row["file"])))
    return out


def sms(split: str = "eval") -> list[Sentence]:
    lines = _file("text/SMSSpamCollection").read_text(encoding="utf-8").splitlines()
    rows = [(i, line.split("\t", 1)[1].strip()) for i, line in enumerate(lines) if "\t" in line]
    keep = (lambda i: i < SMS_SPLIT) if split == "eval" else (lambda i: i >= SMS_SPLIT)
    return [Sentence("sms", f"sms{i}", t) for i, t in rows if keep(i) and t]


def imdb_reviews(split: str = "eval") -> list[tuple[int, str]]:
    with open(_file("text/imdb_sample_ArthurHan.csv"), encoding="utf-8-sig", newline="") as f:
        reviews = [(i, " ".join(_HTML_BREAK.sub(" ", row["text"]).split())) for i, row in enumerate(csv.DictReader(f))]
    keep = (lambda i: i < IMDB_SPLIT) if split == "eval" else (lambda i: i >= IMDB_SPLIT)
    return [(i, t) for i, t in reviews if keep(i)]


def imdb(split: str = "eval", max_chars: int = 400) -> list[Sentence]:
    """IMDB review sentences (3 to ``max_chars`` characters)."""
    out = []
    for i, review in imdb_reviews(split):
        for j, s in enumerate(_SENTENCE_END.split(review)):
            if 3 <= len(s) <= max_chars:
                out.append(Sentence("imdb", f"imdb{i}.{j}", s))
    return out


def evaluation_sentences() -> list[Sentence]:
    """Every evaluation sentence, interleaved by source (transcripts first) so any prefix mixes the sources."""
    tr, sm, im = transcripts(), sms("eval"), imdb("eval")
    mixed = [s for pair in zip(sm, im) for s in pair]
    rest = sm[len(mixed) // 2:] + im[len(mixed) // 2:]
    return tr + mixed + rest


def training_text() -> str:
    """The static model's training corpus: one message per line."""
    return "\n".join([t for _, t in imdb_reviews("train")] + [s.text for s in sms("train")])
