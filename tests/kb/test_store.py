"""The SQLite fact store: add/list/remove per user, idempotence, retrieval by similarity, re-embedding."""

from __future__ import annotations

import sqlite3

import pytest

from host_pipeline.errors import InputError
from host_pipeline.kb.store import FactStore


def test_add_list_remove(tmp_path, embedder):
    s = FactStore(tmp_path / "kb.sqlite", embedder)
    a = s.add("alice", "Alice has a young child.")
    assert s.add("alice", "  Alice has   a young child. ") == a  # same fact, one row
    s.add("alice", "Alice works as a nurse.")
    s.add("bob", "Bob plays cricket.")
    assert [f.text for f in s.list("alice")] == ["Alice has a young child.", "Alice works as a nurse."]
    assert len(s.list()) == 3
    assert s.remove("alice", a) == 1 and s.remove("alice", a) == 0
    assert s.remove("bob") == 1
    assert [f.text for f in FactStore(tmp_path / "kb.sqlite").list()] == ["Alice works as a nurse."]  # persisted


def test_bad_input(tmp_path, embedder):
    s = FactStore(tmp_path / "kb.sqlite", embedder)
    with pytest.raises(InputError):
        s.add("", "x")
    with pytest.raises(InputError):
        s.add("alice", "   ")
    with pytest.raises(InputError):
        s.add("alice", "x" * 600)


def test_relevant_ranks_by_similarity_per_user(tmp_path, embedder):
    s = FactStore(tmp_path / "kb.sqlite", embedder)
    for f in ["The user likes jazz music.", "The user has a young child.", "The user's favourite colour is green."]:
        s.add("alice", f)
    s.add("bob", "Bob's children are grown up.")
    hits = s.relevant("alice", "I can't bear children; they seldom listen to me.", top_k=2)
    assert [f.text for f, _ in hits][0] == "The user has a young child."
    assert len(hits) == 2 and hits[0][1] > hits[1][1]
    assert all(f.user == "alice" for f, _ in hits)
    assert s.relevant("alice", "children", top_k=3, threshold=0.99) == []
    assert s.relevant("nobody", "children") == [] and s.relevant("alice", "   ") == []


def test_embeddings_are_stored_and_refreshed_when_the_encoder_changes(tmp_path, embedder):
    path = tmp_path / "kb.sqlite"
    s = FactStore(path, embedder)
    s.add("alice", "The user has a young child.")
    db = sqlite3.connect(path)
    blob, name = db.execute("SELECT embedding, embedder FROM facts").fetchone()
    assert len(blob) == 4 * embedder.dim and name == embedder.name
    db.execute("UPDATE facts SET embedder = 'old-encoder', embedding = x'00'")
    db.commit()
    assert s.relevant("alice", "my kid")[0][0].text == "The user has a young child."
    assert db.execute("SELECT embedder FROM facts").fetchone()[0] == embedder.name


def test_unwritable_location_is_a_clear_error(tmp_path):
    from host_pipeline.errors import LgmtscError

    (tmp_path / "file").write_text("x")
    with pytest.raises(LgmtscError, match="cannot open the knowledge base"):
        FactStore(tmp_path / "file" / "kb.sqlite")
