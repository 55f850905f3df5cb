"""The downstream datasets (``data/text``): SMS Spam and IMDB, and the codec corpus's held-out split."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

from ..errors import InputError
from ..paths import real_data_dir

DATASETS = ("sms_spam", "imdb")
BALANCED = ("sms_spam",)  # evaluation sets drawn half spam, half ham (spam is 13 % of the messages)
_HTML = re.compile(r"<[^>]+>")


def load_dataset(name: str, words: int | None = None) -> list[tuple[str, int]]:
    """(text, label) pairs of a dataset; IMDB reviews cut to their first ``words`` words (None = whole)."""
    root = real_data_dir() / "text"
    if name == "sms_spam":
        p = root / "SMSSpamCollection"
        _need(p)
        out = []
        for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
            label, _, text = line.partition("\t")
            if text.strip() and label in ("ham", "spam"):
                out.append((text.strip(), int(label == "spam")))
        return out
    if name == "imdb":
        p = root / "imdb_sample_ArthurHan.csv"
        _need(p)
        out = []
        with p.open(encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                text = re.sub(r"\s+", " ", _HTML.sub(" ", row.get("text") or "")).strip()
                if text:
                    out.append((" ".join(text.split()[:words]) if words else text, int(row["label"])))
        return out
    raise InputError(f"unknown dataset {name!r}", hint=f"one of {', '.join(DATASETS)}")


def _need(p: Path) -> None:
    if not p.is_file():
        raise InputError(f"dataset file missing: {p}",
                         hint="the repo's data/ folder is incomplete: restore it with git checkout data, "
                              "or set LGMTSC_REAL_DATA")


def split(pairs: list[tuple[str, int]]) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(train, held-out) by the codec corpus's hash rule on the text; duplicates (case-insensitive) dropped."""
    from ..codec.corpus import is_held_out

    seen, train, test = set(), [], []
    for text, label in pairs:
        if text.lower() in seen:
            continue
        seen.add(text.lower())
        (test if is_held_out(text) else train).append((text, label))
    return train, test



def _data_sha(pairs: list[tuple[str, int]]) -> str:
    h = hashlib.sha256()
    for t, l in pairs:
        h.update(f"{l}\t{t}\n".encode())
    return h.hexdigest()
