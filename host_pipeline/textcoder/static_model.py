"""Static byte model: order-0..k byte contexts counted on a training corpus, Witten-Bell interpolation in integers.

Works on UTF-8 bytes, so any text (Chinese, emoji) codes. The table is a compressed ``.npz`` (per order, sorted
n-gram keys ``context << 8 | byte`` and their counts) shipped in ``host_pipeline/textcoder/tables/`` with a JSON card
holding its SHA-256; ``calibration/textcoder/train_static.py`` rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .arith import cumulative

TABLE_DIR = Path(__file__).resolve().parent / "tables"  # package data
TOTAL = 1 << 24  # probability scale before the +1 floor; totals stay < 2**24 + 256
START = b"\n"  # the context before a message (training lines are preceded by it too)


def count_ngrams(corpus: bytes, order: int, min_count: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per order 0..``order``: (sorted uint64 keys ``context << 8 | byte``, uint32 counts >= ``min_count``).

    Each line of ``corpus`` is preceded by ``order`` START bytes, as messages are when coded."""
    lines = corpus.split(b"\n")
    data = np.frombuffer(b"".join(START * order + line for line in lines), dtype=np.uint8).astype(np.uint64)
    # positions whose byte belongs to a line (not padding): the START runs are contexts only
    is_text = np.concatenate([np.r_[np.zeros(order, bool), np.ones(len(line), bool)] for line in lines])
    tables = []
    for k in range(order + 1):
        keys = np.zeros(len(data) - k, dtype=np.uint64)
        for j in range(k + 1):
            keys = (keys << np.uint64(8)) | data[j: len(data) - k + j]
        keys = keys[is_text[k:]]
        uniq, counts = np.unique(keys, return_counts=True)
        keep = counts >= (min_count if k >= 2 else 1)
        tables.append((uniq[keep], counts[keep].astype(np.uint32)))
    return tables


def save_table(path: Path, tables: list[tuple[np.ndarray, np.ndarray]], card: dict) -> str:
    """Write the table and its JSON card (with the table's SHA-256); returns the SHA-256."""
    arrays = {}
    for k, (keys, counts) in enumerate(tables):
        arrays[f"keys{k}"] = np.diff(keys, prepend=np.uint64(0))  # deltas compress far better
        arrays[f"counts{k}"] = counts
    np.savez_compressed(path, **arrays)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_suffix(".json").write_text(json.dumps({**card, "sha256": sha, "order": len(tables) - 1}, indent=1) + "\n")
    return sha


def resolve_table(name_or_path: str) -> Path:
    p = TABLE_DIR / f"{name_or_path}.npz"
    if p.is_file():
        return p
    p = Path(name_or_path).expanduser()
    if p.is_file():
        return p
    raise ModelError(f"static text-coder table {name_or_path!r} not found",
                     hint="use a table in host_pipeline/textcoder/tables/ (e.g. order4) or a .npz path")


class StaticByteModel:
    """Integer next-byte frequencies from the counted contexts of the last ``order`` bytes."""

    def __init__(self, path: Path):
        raw = path.read_bytes()
        self.sha256 = hashlib.sha256(raw).hexdigest()
        card = path.with_suffix(".json")
        if card.is_file():
            want = json.loads(card.read_text()).get("sha256")
            if want and want != self.sha256:
                raise ModelError(f"static table {path} does not match its card (sha256 {self.sha256[:12]}..., "
                                 f"card says {want[:12]}...)", hint="restore it from git or rerun "
                                 "calibration/textcoder/train_static.py")
        try:
            with np.load(path) as z:
                self.order = sum(1 for n in z.files if n.startswith("keys")) - 1
                self.keys = [np.cumsum(z[f"keys{k}"], dtype=np.uint64) for k in range(self.order + 1)]
                self.counts = [z[f"counts{k}"].astype(np.int64) for k in range(self.order + 1)]
        except (OSError, ValueError, KeyError) as e:
            raise ModelError(f"static table {path} is unreadable: {e}") from e
        self.path = path

    def start(self) -> bytes:
        return START * self.order

    def cum(self, history: bytes) -> np.ndarray:
        """Cumulative frequencies of the byte after ``history`` (which starts with :meth:`start`)."""
        p = np.full(256, TOTAL >> 8, dtype=np.int64)
        for k in range(self.order + 1):
            ctx = int.from_bytes(history[len(history) - k:], "big") if k else 0
            lo, hi = np.searchsorted(self.keys[k], np.array([ctx << 8, (ctx + 1) << 8], dtype=np.uint64))
            if hi <= lo:
                continue
            c = np.zeros(256, dtype=np.int64)
            c[(self.keys[k][lo:hi] & np.uint64(0xFF)).astype(np.intp)] = self.counts[k][lo:hi]
            n, u = int(self.counts[k][lo:hi].sum()), hi - lo
            p = (c * TOTAL + u * p) // (n + u)
        return cumulative(p + 1)
