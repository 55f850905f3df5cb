"""Confidentiality on the air, keyed per sender: the digital payload encrypted with ChaCha20, the semantic payload's
channel symbols scrambled (a keyed permutation of positions and unit-modulus phase rotations).

Both draw on ChaCha20 (the ``cryptography`` package, pinned in requirements/host.txt) under a subkey of the sender's
32-byte key, with a nonce made of the sender id and the message's 32-bit sequence number::

    subkey(label) = HMAC-SHA256(sender key, "LGMTSC-KDF-1" | label)     labels: "digital-enc", "semantic-scramble"
    nonce         = 0 (32-bit block counter) | 0x4C 0x47 | sender_id (u16) | seq (u32) | 0 (u32)      16 bytes

The transmitter never reuses a sequence number under one key (``KeyStore.next_seq`` persists it and refuses to wrap
past 2**32), so a (subkey, nonce) pair encrypts one message only. Encryption keeps the length, so the header's
length field and the PHY's CRC/FEC are unchanged; the tag (``auth.compute_tag``) is computed over the ciphertext in
digital mode, over the token ids in semantic mode (the tag is a PRF output: it reveals nothing about them).

Semantic scrambling, per message: ``sent[i] = x[perm[i]] * exp(j * theta[i])`` with ``perm`` the argsort of 64-bit
keystream words and ``theta`` 32-bit keystream words scaled to [0, 2 pi). It is unitary, so the legitimate receiver
undoes it exactly (symbols and their per-symbol noise variance) and an AWGN channel is unchanged by it: the receiver
loses nothing. An eavesdropper with the public codec and no key sees symbols whose positions and phases are uniformly
random to it. Limits (docs/link.md, security): it hides content, not the length (token count), the timing, the
sender id or the prompt class, which travel in clear headers; and it is a scrambling of analogue symbols, not an
encryption with a proof: amplitudes are left as they are, so statistics of the symbol magnitudes remain visible.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

import numpy as np

KDF_DOMAIN = b"LGMTSC-KDF-1"
LABEL_DIGITAL = b"digital-enc"
LABEL_SEMANTIC = b"semantic-scramble"
LABEL_FEEDBACK = b"feedback-mac"


def subkey(key: bytes, label: bytes) -> bytes:
    """A 32-byte key for one use of the sender's key (key separation: encryption, scrambling, feedback MAC)."""
    return hmac.new(key, KDF_DOMAIN + b"|" + label, hashlib.sha256).digest()


def nonce(sender_id: int, seq: int) -> bytes:
    """ChaCha20's 16-byte nonce as ``cryptography`` takes it (4-byte counter first, set to 0)."""
    if not (0 <= int(sender_id) <= 0xFFFF and 0 <= int(seq) <= 0xFFFFFFFF):
        raise ValueError(f"sender id {sender_id} or sequence number {seq} out of range")
    return struct.pack("<I", 0) + b"LG" + struct.pack(">HII", int(sender_id), int(seq), 0)


def keystream(key: bytes, label: bytes, sender_id: int, seq: int, n_bytes: int) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    enc = Cipher(algorithms.ChaCha20(subkey(key, label), nonce(sender_id, seq)), mode=None).encryptor()
    return enc.update(bytes(int(n_bytes)))


# ------------------------------------------------------------------------------------------------ digital mode
def encrypt_digital(key: bytes, sender_id: int, seq: int, data: bytes) -> bytes:
    """ChaCha20 of the coded text (its own inverse: ``decrypt_digital`` is the same function)."""
    data = bytes(data)
    ks = np.frombuffer(keystream(key, LABEL_DIGITAL, sender_id, seq, len(data)), np.uint8)
    return (np.frombuffer(data, np.uint8) ^ ks).tobytes()


decrypt_digital = encrypt_digital


# ----------------------------------------------------------------------------------------------- semantic mode
def scramble_params(key: bytes, sender_id: int, seq: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(perm [n] int, rot [n] complex unit-modulus) of one message."""
    ks = np.frombuffer(keystream(key, LABEL_SEMANTIC, sender_id, seq, 12 * int(n)), np.uint8)
    words64 = ks[: 8 * n].view(">u8")
    perm = np.argsort(words64, kind="stable")
    theta = ks[8 * n:].view(">u4").astype(np.float64) * (2 * np.pi / 2.0 ** 32)
    return perm, np.exp(1j * theta)


def scramble_symbols(key: bytes, sender_id: int, seq: int, symbols) -> np.ndarray:
    """The channel symbols as sent: positions permuted and phases rotated by the sender's keyed PRF."""
    x = np.asarray(symbols).reshape(-1)
    perm, rot = scramble_params(key, sender_id, seq, x.size)
    return (x[perm] * rot).astype(np.complex64)


def unscramble_symbols(key: bytes, sender_id: int, seq: int, symbols, noise_var=None):
    """Undo ``scramble_symbols``: (symbols, noise_var) in the codec's order (a scalar noise variance stays one)."""
    y = np.asarray(symbols).reshape(-1)
    perm, rot = scramble_params(key, sender_id, seq, y.size)
    x = np.empty(y.size, np.complex64)
    x[perm] = y * np.conj(rot)
    if noise_var is None:
        return x, None
    with np.errstate(over="ignore", invalid="ignore"):  # a wild value becomes inf: the decoder refuses it
        nv = np.asarray(noise_var, dtype=np.float32).reshape(-1)
    if nv.size == y.size and nv.size > 1:
        out = np.empty_like(nv)
        out[perm] = nv
        nv = out
    return x, nv if nv.size != 1 else nv[0]
