#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Modulation: Gray BPSK/QPSK/16-QAM mapping, exact bit LLRs, and the digital payload chain
(bytes [+ CRC32] -> FEC -> symbols, and back)."""

import struct
import zlib

import numpy as np

BITS_PER_SYMBOL = {"bpsk": 1, "qpsk": 2, "16qam": 4}


def bytes_to_bits(data):
    return np.unpackbits(np.frombuffer(bytes(data), np.uint8))


def bits_to_bytes(bits):
    return np.packbits(np.asarray(bits, np.uint8)).tobytes()


def modulate(bits, mod):
    """Gray-mapped unit-energy symbols; bits are zero-padded to whole symbols."""
    k = BITS_PER_SYMBOL[mod]
    bits = np.asarray(bits, np.int8)
    pad = (-bits.size) % k
    if pad:
        bits = np.concatenate([bits, np.zeros(pad, np.int8)])
    b = bits.reshape(-1, k)
    if mod == "bpsk":
        return (1.0 - 2 * b[:, 0]).astype(np.complex128)
    if mod == "qpsk":
        return ((1 - 2 * b[:, 0]) + 1j * (1 - 2 * b[:, 1])) / np.sqrt(2)
    i = (1 - 2 * b[:, 0]) * (1 + 2 * b[:, 1])
    q = (1 - 2 * b[:, 2]) * (1 + 2 * b[:, 3])
    return (i + 1j * q) / np.sqrt(10)


def _pam4_llr(y, nv, a):
    """LLRs log P(1)/P(0) of (sign, magnitude) bits of Gray PAM4 levels a*{+-1,+-3}."""
    lev = np.array([1.0, 3.0, -1.0, -3.0]) * a  # (b0,b1) = 00, 01, 10, 11
    m = -(y[:, None] - lev[None, :]) ** 2 / nv[:, None]
    l0 = np.logaddexp(m[:, 2], m[:, 3]) - np.logaddexp(m[:, 0], m[:, 1])
    l1 = np.logaddexp(m[:, 1], m[:, 3]) - np.logaddexp(m[:, 0], m[:, 2])
    return l0, l1


def demod_llr(z, noise_var, mod):
    """Exact bit LLRs, log P(b=1)/P(b=0), of equalised symbols with complex noise var."""
    z = np.asarray(z)
    nv = np.maximum(np.broadcast_to(np.asarray(noise_var, np.float64), z.shape), 1e-9)
    if mod == "bpsk":
        return -4.0 * z.real / nv
    if mod == "qpsk":
        a = 1 / np.sqrt(2)
        return np.stack([-4 * a * z.real / nv, -4 * a * z.imag / nv], 1).ravel()
    a = 1 / np.sqrt(10)
    i0, i1 = _pam4_llr(z.real, nv, a)
    q0, q1 = _pam4_llr(z.imag, nv, a)
    return np.stack([i0, i1, q0, q1], 1).ravel()


class DigitalCodec:
    """Digital payload: bytes (+ CRC32 if ``crc``) -> gr-fec code -> Gray symbols, and back (codes built once per
    name)."""

    def __init__(self):
        self._codes = {}

    def code(self, name):
        if name not in self._codes:
            from .fec_codec import make_code  # gr-fec: only where digital payloads are coded
            self._codes[name] = make_code(name)
        return self._codes[name]

    def n_symbols(self, nbytes, mod, fec, crc=True):
        nbits = self.code(fec).coded_len(8 * (nbytes + 4 * bool(crc)))
        return -(-nbits // BITS_PER_SYMBOL[mod])

    def symbols(self, data, mod, fec, crc=True):
        data = bytes(data)
        bits = bytes_to_bits(data + (struct.pack(">I", zlib.crc32(data)) if crc else b""))
        return modulate(self.code(fec).encode(bits), mod)

    def decode(self, z, nv, nbytes, mod, fec, crc=True):
        """Payload symbols -> (bytes, crc_ok); crc_ok is None without a CRC."""
        code = self.code(fec)
        nbits = 8 * (nbytes + 4 * bool(crc))
        llr = demod_llr(z, nv, mod)[:code.coded_len(nbits)]
        raw = bits_to_bytes(code.decode(llr, nbits))
        if not crc:
            return raw[:nbytes], None
        data, check = raw[:nbytes], struct.unpack(">I", raw[nbytes:nbytes + 4])[0]
        return data, zlib.crc32(data) == check
