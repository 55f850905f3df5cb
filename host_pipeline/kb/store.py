"""The private knowledge base store: facts about each user in SQLite, with their sentence embeddings.

One table ``facts(id, user, fact, embedding, embedder, created)``; embeddings are float32 blobs made by the
configured sentence encoder and recomputed when the encoder changes. ``relevant(user, text)`` ranks a user's
facts by cosine similarity to a sentence.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BackendError, ConfigError, InputError
from ..paths import data_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL,
    fact TEXT NOT NULL,
    embedding BLOB NOT NULL,
    embedder TEXT NOT NULL,
    created REAL NOT NULL,
    UNIQUE (user, fact)
);
CREATE INDEX IF NOT EXISTS facts_user ON facts (user);
"""
MAX_FACT_CHARS = 500


@dataclass(frozen=True)
class Fact:
    id: int
    user: str
    text: str


def default_db_path() -> Path:
    return data_dir() / "kb.sqlite"


def _db_errors(method):
    """SQLite failures (read-only file, locked past the timeout) as one-line errors."""
    @functools.wraps(method)
    def call(self, *a, **kw):
        try:
            return method(self, *a, **kw)
        except sqlite3.Error as e:
            raise BackendError(f"the knowledge base {self.path} failed: {e}") from None
    return call


class FactStore:
    """Facts per user in one SQLite file. ``embedder`` (a SentenceEmbedder) is needed to add or rank facts."""

    def __init__(self, path: str | Path | None = None, embedder=None):
        self.path = Path(path).expanduser() if path else default_db_path()
        self.embedder = embedder
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
            self.db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as e:
            raise ConfigError(f"cannot open the knowledge base {self.path}: {e}",
                              hint="set kb.db_path to a writable file or LGMTSC_DATA to a writable directory") from e

    def close(self) -> None:
        self.db.close()

    def _need_embedder(self):
        if self.embedder is None:
            raise RuntimeError("this FactStore was opened without an embedder")
        return self.embedder

    @_db_errors
    def add(self, user: str, fact: str) -> int:
        """Store a fact (idempotent: the same fact twice keeps one row). Returns its id."""
        user, fact = _check_user(user), " ".join(str(fact).split())
        if not fact:
            raise InputError("a fact must not be empty")
        if len(fact) > MAX_FACT_CHARS:
            raise InputError(f"a fact is limited to {MAX_FACT_CHARS} characters (got {len(fact)})",
                             hint="split it into several short facts")
        emb = self._need_embedder()
        vec = emb.embed([fact])[0].astype(np.float32)
        with self.db:
            self.db.execute("INSERT INTO facts (user, fact, embedding, embedder, created) VALUES (?, ?, ?, ?, ?) "
                            "ON CONFLICT (user, fact) DO UPDATE SET embedding = excluded.embedding, "
                            "embedder = excluded.embedder",
                            (user, fact, vec.tobytes(), emb.name, time.time()))
        return int(self.db.execute("SELECT id FROM facts WHERE user = ? AND fact = ?", (user, fact)).fetchone()[0])

    @_db_errors
    def list(self, user: str | None = None) -> list[Fact]:
        if user is None:
            rows = self.db.execute("SELECT id, user, fact FROM facts ORDER BY user, id")
        else:
            rows = self.db.execute("SELECT id, user, fact FROM facts WHERE user = ? ORDER BY id", (_check_user(user),))
        return [Fact(*r) for r in rows]

    @_db_errors
    def remove(self, user: str, fact_id: int | None = None) -> int:
        """Delete one fact of ``user`` (by id) or, with ``fact_id`` None, all of them. Returns rows removed."""
        user = _check_user(user)
        with self.db:
            if fact_id is None:
                cur = self.db.execute("DELETE FROM facts WHERE user = ?", (user,))
            else:
                cur = self.db.execute("DELETE FROM facts WHERE user = ? AND id = ?", (user, int(fact_id)))
        return cur.rowcount

    @_db_errors
    def relevant(self, user: str, text: str, top_k: int = 3, threshold: float = 0.0) -> list[tuple[Fact, float]]:
        """The user's facts most similar to ``text`` (cosine >= threshold), best first, at most ``top_k``."""
        user = _check_user(user)
        if not text.strip() or top_k <= 0:
            return []
        rows = self.db.execute("SELECT id, user, fact, embedding, embedder FROM facts WHERE user = ? ORDER BY id",
                               (user,)).fetchall()
        if not rows:
            return []
        emb = self._need_embedder()
        stale = [r for r in rows if r[4] != emb.name or len(r[3]) != 4 * emb.dim]
        if stale:  # the encoder changed since these facts were stored: re-embed them once
            vecs = emb.embed([r[2] for r in stale])
            with self.db:
                self.db.executemany("UPDATE facts SET embedding = ?, embedder = ? WHERE id = ?",
                                    [(v.astype(np.float32).tobytes(), emb.name, r[0]) for r, v in zip(stale, vecs)])
            rows = self.db.execute("SELECT id, user, fact, embedding, embedder FROM facts WHERE user = ? "
                                   "ORDER BY id", (user,)).fetchall()
        mat = np.stack([np.frombuffer(r[3], dtype=np.float32) for r in rows])
        scores = mat @ emb.embed([text])[0]
        order = np.argsort(-scores, kind="stable")[:top_k]
        return [(Fact(rows[i][0], rows[i][1], rows[i][2]), float(scores[i])) for i in order if scores[i] >= threshold]


def _check_user(user: str) -> str:
    u = str(user).strip()
    if not u:
        raise InputError("a user name must not be empty", hint="pass --user NAME")
    return u
