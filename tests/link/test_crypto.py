"""Confidentiality on the air (link.crypto): digital ChaCha20, semantic keyed scrambling."""

from __future__ import annotations

import numpy as np
import pytest

from host_pipeline.link.crypto import (
    LABEL_DIGITAL,
    LABEL_SEMANTIC,
    decrypt_digital,
    encrypt_digital,
    keystream,
    nonce,
    scramble_params,
    scramble_symbols,
    subkey,
    unscramble_symbols,
)

KEY = bytes(range(32))


def test_digital_encryption_round_trips_and_depends_on_key_sender_and_seq():
    data = b"meet me at the station at noon"
    ct = encrypt_digital(KEY, 1, 7, data)
    assert len(ct) == len(data) and ct != data
    assert decrypt_digital(KEY, 1, 7, ct) == data
    assert decrypt_digital(bytes(32), 1, 7, ct) != data  # no key, no text
    assert encrypt_digital(KEY, 1, 8, data) != ct  # a fresh keystream per sequence number
    assert encrypt_digital(KEY, 2, 7, data) != ct
    assert encrypt_digital(KEY, 1, 7, b"") == b""


def test_chacha20_keystream_matches_the_rfc8439_test_vector():
    """RFC 8439 2.4.2 (block counter 1, nonce 000000000000004a00000000) through the same primitive."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    key = bytes(range(32))
    n = (1).to_bytes(4, "little") + bytes.fromhex("000000000000004a00000000")
    pt = (b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
          b"sunscreen would be it.")
    ct = Cipher(algorithms.ChaCha20(key, n), mode=None).encryptor().update(pt)
    assert ct[:16].hex() == "6e2e359a2568f98041ba0728dd0d6981"


def test_subkeys_and_nonces_are_separated():
    assert len({subkey(KEY, LABEL_DIGITAL), subkey(KEY, LABEL_SEMANTIC), KEY}) == 3
    assert len(nonce(1, 2)) == 16 and nonce(1, 2) != nonce(2, 1)
    assert keystream(KEY, LABEL_DIGITAL, 1, 2, 32) != keystream(KEY, LABEL_SEMANTIC, 1, 2, 32)
    with pytest.raises(ValueError):
        nonce(1, 2 ** 32)


def test_scrambling_is_unitary_and_undone_exactly_with_the_noise_variance():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=96) + 1j * rng.normal(size=96)).astype(np.complex64)
    nv = rng.uniform(0.01, 1, size=96).astype(np.float32)
    s = scramble_symbols(KEY, 3, 11, x)
    assert s.dtype == np.complex64 and np.allclose((np.abs(s) ** 2).sum(), (np.abs(x) ** 2).sum(), rtol=1e-5)
    perm, rot = scramble_params(KEY, 3, 11, 96)
    assert sorted(perm.tolist()) == list(range(96)) and np.allclose(np.abs(rot), 1)
    back, nv_back = unscramble_symbols(KEY, 3, 11, s, nv[perm])  # the channel's CSI travels with the symbols
    assert np.allclose(back, x, atol=1e-6) and np.array_equal(nv_back, nv)
    back, scalar = unscramble_symbols(KEY, 3, 11, s, 0.1)
    assert np.allclose(back, x, atol=1e-6) and float(scalar) == pytest.approx(0.1)
    wrong, _ = unscramble_symbols(bytes(32), 3, 11, s)
    assert np.abs(np.vdot(wrong, x)) / np.vdot(x, x).real < 0.5  # another key: uncorrelated
    assert not np.allclose(scramble_symbols(KEY, 3, 12, x), s)  # another message, another scrambling


def test_scrambling_preserves_awgn():
    """The legitimate receiver loses nothing: noise added after scrambling is the same noise, rotated."""
    rng = np.random.default_rng(1)
    x = np.exp(2j * np.pi * rng.uniform(size=4000)).astype(np.complex64)
    noise = ((rng.normal(size=4000) + 1j * rng.normal(size=4000)) * np.sqrt(0.05)).astype(np.complex64)
    y, _ = unscramble_symbols(KEY, 1, 1, scramble_symbols(KEY, 1, 1, x) + noise)
    err = y - x
    assert np.mean(np.abs(err) ** 2) == pytest.approx(0.1, rel=0.1)
    assert abs(np.mean(err.real * err.imag)) < 0.01 and abs(np.mean(err.real ** 2) - np.mean(err.imag ** 2)) < 0.01
