"""The codec's text corpus: real sentences from the repo's data/, with a stable held-out split.

Sources: SMS Spam Collection (one message per item), an IMDB review sample (split into sentences) and the
speech transcripts. An item goes to the held-out split when the SHA-256 of its lower-cased text falls in
the first ``test_percent`` of the hash space, so the split does not move when sources grow or shrink.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..paths import real_data_dir

SOURCES = {
    "sms": "text/SMSSpamCollection",
    "imdb": "text/imdb_sample_ArthurHan.csv",
    "transcripts": "speech/transcripts.tsv",
}
SPLIT_RULE = "sha256(lower(text)) mod 100 < test_percent -> test"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_HTML = re.compile(r"<[^>]+>")


@dataclass
class Corpus:
    """Train and held-out sentences, plus the hash of the source files that produced them."""

    train: list[str]
    test: list[str]
    sha256: str
    files: dict[str, str] = field(default_factory=dict)  # source name -> file sha256
    test_percent: int = 10

    def card(self) -> dict:
        """What a model card records about the corpus."""
        return {"sha256": self.sha256, "files": self.files, "split": SPLIT_RULE, "test_percent": self.test_percent,
                "train_items": len(self.train), "test_items": len(self.test)}


def _sms(path: Path) -> list[str]:
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        label, _, text = line.partition("\t")
        if text.strip():
            out.append(text.strip())
    return out


def _imdb(path: Path) -> list[str]:
    out = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            text = _HTML.sub(" ", row.get("text") or "")
            text = re.sub(r"\s+", " ", text).strip()
            out += [s.strip() for s in _SENTENCE_END.split(text) if len(s.strip()) > 2]
    return out


def _transcripts(path: Path) -> list[str]:
    out = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if (row.get("transcript") or "").strip():
                out.append(row["transcript"].strip())
    return out


_READERS = {"sms": _sms, "imdb": _imdb, "transcripts": _transcripts}


def is_held_out(text: str, test_percent: int = 10) -> bool:
    """True when ``text`` belongs to the held-out split."""
    return int(hashlib.sha256(text.lower().encode("utf-8")).hexdigest()[:8], 16) % 100 < test_percent


def load_corpus(data_dir: str | Path | None = None, test_percent: int = 10) -> Corpus:
    """Assemble the corpus from the real data directory (default ``paths.real_data_dir()``)."""
    root = Path(data_dir) if data_dir else real_data_dir()
    files, items, seen = {}, [], set()
    total = hashlib.sha256()
    for name, rel in SOURCES.items():
        p = root / rel
        if not p.is_file():
            raise InputError(f"corpus source missing: {p}",
                             hint="the repo's data/ folder is incomplete: restore it with git checkout data, "
                                  "or set LGMTSC_REAL_DATA")
        data = p.read_bytes()
        files[name] = hashlib.sha256(data).hexdigest()
        total.update(name.encode() + b"\0" + data)
        for text in _READERS[name](p):
            key = text.lower()
            if key not in seen:
                seen.add(key)
                items.append(text)
    train = [t for t in items if not is_held_out(t, test_percent)]
    test = [t for t in items if is_held_out(t, test_percent)]
    return Corpus(train, test, total.hexdigest(), files, test_percent)
