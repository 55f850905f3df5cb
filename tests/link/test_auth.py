"""Message tags, tag-aided decoding, the key store and replay rejection."""

from __future__ import annotations

import numpy as np
import pytest

from host_pipeline.errors import InputError
from host_pipeline.link.auth import (
    REPLAY_WINDOW,
    TAG_BITS,
    KeyStore,
    compute_tag,
    contract,
    token_bytes,
    verify_semantic,
    verify_tag,
)

META = {"version": contract.FORMAT_VERSION, "mode": "semantic", "sender_id": 3, "seq": 17, "n_tokens": 6,
        "prompt_class": 2}
IDS = [2023, 2003, 1037, 3231, 1997, 1996]


def _tagged(key, ids=IDS, **changes):
    meta = {**META, **changes}
    return {**meta, "auth_tag": compute_tag(key, meta, token_bytes(ids))}


def test_tag_binds_key_header_and_content():
    key, other = bytes(range(32)), bytes(32)
    meta = _tagged(key)
    assert TAG_BITS == 32 and 0 <= meta["auth_tag"] < 2 ** TAG_BITS
    assert verify_tag(key, meta, token_bytes(IDS))
    assert not verify_tag(other, meta, token_bytes(IDS))  # another key (a forger) cannot make the tag
    assert not verify_tag(key, {**meta, "seq": 18}, token_bytes(IDS))  # header fields are covered
    assert not verify_tag(key, {**meta, "prompt_class": 0}, token_bytes(IDS))
    assert not verify_tag(key, {**meta, "seq": 17 + 512}, token_bytes(IDS))  # the full seq, not its 9 bits on air
    assert not verify_tag(key, {**meta, "checkpoint": 7}, token_bytes(IDS))  # the link association is covered
    assert not verify_tag(key, {**meta, "auth_tag": 2 ** 40}, token_bytes(IDS))  # out of range: refused, no error
    assert not verify_tag(key, meta, token_bytes(IDS[:-1] + [1996 + 1]))  # one token changed


def _candidates(rng, true_ids, wrong_at, k=4):
    """Decoder-like candidates: the true token is the runner-up at ``wrong_at`` positions, best elsewhere."""
    n = len(true_ids)
    ids = rng.integers(1000, 30000, size=(n, k))
    probs = np.sort(rng.dirichlet(np.ones(k), size=n), axis=1)[:, ::-1]
    ids[:, 0] = true_ids
    for p in wrong_at:
        ids[p, 1], ids[p, 0] = ids[p, 0], ids[p, 1]
        probs[p, :2] = [0.5, 0.45]
    return ids, probs


def test_tag_aided_decoding_recovers_exact_ids_from_runner_ups():
    rng = np.random.default_rng(7)
    key = rng.bytes(32)
    true = rng.integers(1000, 30000, size=24)
    meta = _tagged(key, true)
    for wrong in ([], [5], [0, 23], [3, 9, 17]):
        ids, probs = _candidates(rng, true, wrong)
        got, tried = verify_semantic(key, meta, ids, probs)
        assert got == true.tolist(), wrong
        assert tried >= 1 + len(wrong) > 0


def test_forgery_and_undecodable_message_are_not_verified_within_budget():
    rng = np.random.default_rng(8)
    key, forger = rng.bytes(32), rng.bytes(32)
    true = rng.integers(1000, 30000, size=24)
    ids, probs = _candidates(rng, true, [1, 2])
    got, tried = verify_semantic(key, _tagged(forger, true), ids, probs, budget=500)
    assert got is None and tried == 500
    ids[4, :] = 1  # the true token is not among the candidates anywhere at position 4
    got, _ = verify_semantic(key, _tagged(key, true), ids, probs, budget=500)
    assert got is None


def test_key_store_provisions_persists_and_exports(tmp_path):
    ks = KeyStore(tmp_path / "keys.sqlite")
    a, b = ks.provision("alice"), ks.provision("bob")
    assert (a.sender_id, b.sender_id) == (1, 2) and a.key != b.key and len(a.key) == 32
    assert ks.provision("alice") == a  # idempotent
    for f in tmp_path.glob("keys.sqlite*"):  # secret keys, also in SQLite's -wal and -shm files: owner only
        assert f.stat().st_mode & 0o077 == 0, f.name
    line = ks.export_line("alice")
    other = KeyStore(tmp_path / "rx.sqlite")
    assert other.import_line(line) == a and other.by_sender_id(1) == a
    with pytest.raises(InputError, match="not an lgmtsc key line"):
        other.import_line("lgmtsc-key 1 alice 1 nothex")
    with pytest.raises(InputError, match="hexadecimal"):
        other.import_line("lgmtsc-key 1 alice 1 " + "zz" * 32)
    with pytest.raises(InputError, match="already belongs"):
        other.import_line(ks.export_line("bob").replace(" 2 ", " 1 "))
    assert [ks.next_seq(1) for _ in range(3)] == [1, 2, 3]
    assert KeyStore(tmp_path / "keys.sqlite").next_seq(1) == 4  # a restarted transmitter continues


def test_replay_window(tmp_path):
    ks = KeyStore(tmp_path / "keys.sqlite")
    assert ks.accept(1, 5) and not ks.accept(1, 5)  # replay
    assert ks.accept(1, 3)  # late but new: accepted once
    assert not ks.accept(1, 3)
    assert ks.accept(1, 5 + REPLAY_WINDOW)
    assert ks.is_replay(1, 5) and ks.is_replay(1, 4)  # below the window: refused
    assert ks.accept(2, 1)  # senders are independent
    assert KeyStore(tmp_path / "keys.sqlite").is_replay(1, 5 + REPLAY_WINDOW)  # persisted across restarts


def test_a_new_key_starts_a_new_replay_window(tmp_path):
    """A sender whose key store was re-created starts again at seq 1; the receiver imports the new key."""
    tx, rx = KeyStore(tmp_path / "tx.sqlite"), KeyStore(tmp_path / "rx.sqlite")
    rx.import_line(tx.export_line(tx.provision("alice").user))
    assert rx.accept(1, 500)
    rx.import_line(tx.export_line("alice"))  # the same key again: the window stays
    assert rx.is_replay(1, 500) and rx.is_replay(1, 3)
    (tmp_path / "tx.sqlite").unlink()
    rx.import_line(KeyStore(tmp_path / "tx.sqlite").export_line(
        KeyStore(tmp_path / "tx.sqlite").provision("alice").user))
    assert not rx.is_replay(1, 1) and rx.accept(1, 1)  # the old key's messages cannot verify under the new one


def test_forgery_rate_is_budget_over_two_to_the_tag_bits():
    """Random tags (a forger without the key) against a search of B candidates: accepted about B / 2**32."""
    rng = np.random.default_rng(5)
    key = bytes(range(32))
    ids = rng.integers(1000, 30000, size=(8, 4))
    probs = np.sort(rng.dirichlet(np.ones(4), size=8), axis=1)[:, ::-1]
    got = [verify_semantic(key, {**META, "seq": 100 + i, "n_tokens": 8, "auth_tag": int(t)}, ids, probs, budget=64)
           for i, t in enumerate(rng.integers(0, 2 ** 32, 300))]
    assert all(g[0] is None for g in got) and max(g[1] for g in got) <= 64  # 300 * 64 / 2**32 = 4.5e-6 expected
