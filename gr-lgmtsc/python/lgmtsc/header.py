#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""The one air-interface contract of gr-lgmtsc and the host: enumerations, the per-message ``Header``, the
per-link ``LinkAssociation``, their bit layouts, the MAC input, and the short codes that protect them.

Per message (every burst)::

    header: 48 bits = kind 2 | prompt_class 2 | more 1 | seq 9 (low bits) | length 10 | CRC-24
    tag:    TAG_BITS = 32 bits (the sender's MAC, opaque to the PHY)

coded by the burst's ``BodyCoding`` (the preamble names it, ``waveform.PREAMBLES``)::

    ROBUST (long preamble, from Es/N0 0 dB): header -> tail-biting convolutional code K=9 rate 1/4
            (463, 535, 733, 745 octal, d_free 24) -> 96 Gray-QPSK uses; tag -> K=9 r=1/2 (561, 753) -> 32 QPSK
    DENSE (short preamble, good links): header and tag -> K=9 r=1/2 -> Gray 16-QAM: 24 + 16 uses

Per link (an association burst at the start, when a field changes, and every ``ASSOC_EVERY`` messages)::

    association: 136 bits = version 4 | modulation 2 | fec 2 | uses_per_token 8 | sender_id 16 |
                 checkpoint 16 | text_model 16 | flags 8 (bit 0: payload_crc) | seq_base 32 | CRC-32
                 -> K=9 r=1/4 -> 272 QPSK uses

``length`` counts tokens (semantic: the payload is ``length * uses_per_token`` complex symbols) or bytes
(digital). A digital payload carries a CRC32 only when the link's association says so (``payload_crc``): the
host's links send none, since the message tag over the payload already rejects a wrong decode, and the text
coder's model is named once per link (``text_model``) instead of in every message.
The receiver extends the 9 transmitted sequence bits to the sender's 32-bit sequence number around
the last one it saw (the association carries the full number), so a message may arrive up to 255 numbers late
or early. Decoding is wrap-around Viterbi (near maximum likelihood), vectorised over a batch of codewords.

This module imports only numpy (the host loads it without GNU Radio's blocks).
"""

from __future__ import annotations

import enum
import struct
import threading
import zlib
from dataclasses import dataclass

import numpy as np

from .modulation import BITS_PER_SYMBOL, demod_llr, modulate

FORMAT_VERSION = 3   # 3: the association names the text coder's model and the payload CRC


class Mode(enum.IntEnum):
    """What a message's payload is."""
    SEMANTIC = 0   # complex symbols of the semantic codec
    DIGITAL = 1    # bytes (FEC + modulation of the link, CRC32 if the link has ``payload_crc``)

    @classmethod
    def parse(cls, v) -> Mode:
        if isinstance(v, str):
            try:
                return cls[v.upper()]
            except KeyError:
                raise ValueError("unknown mode %r" % v) from None
        try:
            return cls(int(v))
        except (ValueError, TypeError):
            raise ValueError("bad mode %r" % (v,)) from None

    @property
    def label(self) -> str:
        return self.name.lower()


class Kind(enum.IntEnum):
    """The header's 2-bit segment kind (3 is invalid: a header carrying it is rejected)."""
    SEMANTIC = 0
    DIGITAL = 1
    ASSOCIATION = 2


class PromptClass(enum.IntEnum):
    """Prompt-codec length class chosen from the receiver's SNR feedback (3 is invalid on air)."""
    LOW = 0
    MEDIUM = 1
    HIGH = 2

    @classmethod
    def parse(cls, v) -> PromptClass:
        if isinstance(v, str):
            try:
                return cls[v.upper()]
            except KeyError:
                raise ValueError("unknown prompt class %r" % v) from None
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= int(v) <= 2:
            raise ValueError("prompt_class must be 0..2 or low/medium/high, not %r" % (v,))
        return cls(int(v))

    @property
    def label(self) -> str:
        return self.name.lower()


class ChannelKind(enum.StrEnum):
    """Channel models of the loopback flowgraphs and the host's simulations."""
    NONE = "none"
    AWGN = "awgn"
    RAYLEIGH = "rayleigh"
    SELECTIVE = "selective"


MODULATIONS = ("bpsk", "qpsk", "16qam")   # index = association code
FECS = ("none", "cc", "ldpc")             # index = association code

SEQ_BITS = 9
LENGTH_BITS = 10
MAX_LENGTH = (1 << LENGTH_BITS) - 1
HEADER_FIELD_BITS = 24
HEADER_CRC_BITS = 24
HEADER_BITS = HEADER_FIELD_BITS + HEADER_CRC_BITS           # 48 information bits per message
TAG_BITS = 32                                               # per-message MAC, carried in the tag block
ASSOC_FIELD_BITS = 104
ASSOC_BITS = ASSOC_FIELD_BITS + 32                          # + CRC-32
ASSOC_EVERY = 32                                            # messages between association repeats
CRC24_POLY = 0x864CFB                                       # CRC-24 (OpenPGP / LTE CRC24A)
CRC24_INIT = 0xB704CE


# ---------------------------------------------------------------- bits and CRC
def int_to_bits(v: int, n: int) -> np.ndarray:
    return ((int(v) >> np.arange(n - 1, -1, -1)) & 1).astype(np.uint8)


def bits_to_int(bits) -> np.ndarray:
    """[..., n] bits (MSB first) -> integers (object-free: n <= 63)."""
    b = np.asarray(bits, np.int64)
    w = np.int64(1) << np.arange(b.shape[-1] - 1, -1, -1, dtype=np.int64)
    return b @ w


def _crc24_table() -> np.ndarray:
    t = np.zeros(256, np.int64)
    for i in range(256):
        c = i << 16
        for _ in range(8):
            c = ((c << 1) ^ CRC24_POLY) if c & 0x800000 else (c << 1)
        t[i] = c & 0xFFFFFF
    return t


_CRC24 = _crc24_table()


def crc24(fields) -> np.ndarray:
    """CRC-24 of 24-bit field words (one per row, vectorised): 3 bytes each, MSB first."""
    f = np.asarray(fields, np.int64)
    c = np.full(f.shape, CRC24_INIT, np.int64)
    for shift in (16, 8, 0):
        byte = (f >> shift) & 0xFF
        c = ((c << 8) & 0xFFFFFF) ^ _CRC24[((c >> 16) ^ byte) & 0xFF]
    return c


# ---------------------------------------------------------------- tail-biting convolutional codes
class TailBitingCode:
    """Tail-biting convolutional code of constraint length K on numpy batches.

    ``encode(bits[..., k]) -> coded[..., k*n]``; ``decode(llr[..., k*n]) -> (bits[..., k], metric[...])`` with
    ``llr = log P(1)/P(0)``. Decoding: wrap-around Viterbi over the codeword extended by ``wrap`` steps on both
    sides (the last steps before it, the first ones after it), bits of the middle (near maximum likelihood);
    ``metric`` is the correlation of the decided codeword with the LLRs over their sum of magnitudes.
    """

    def __init__(self, polys, K=9, wrap=40):
        self.K, self.m, self.wrap = int(K), int(K) - 1, int(wrap)
        self.polys = tuple(int(p) for p in polys)
        self.n = len(self.polys)
        ns_count = 1 << self.m
        reg = np.arange(2 * ns_count)
        # out[reg, j]: parity of register (input bit at bit m, then the m previous inputs) and polynomial j
        self.out_bits = np.array([[bin(r & p).count("1") & 1 for p in self.polys] for r in reg], np.uint8)
        self.out = (2.0 * self.out_bits - 1).astype(np.float32)
        # decoder tables: the signs of the 2^n output patterns, and each register's pattern in the order the
        # add-compare-select reads them, [d, u, s']: register (u s' d) goes to next state (u s') from state (s' d)
        half = ns_count >> 1
        self._signs = (2.0 * ((np.arange(1 << self.n)[:, None] >> np.arange(self.n)) & 1) - 1).astype(np.float32)
        pattern = self.out_bits.astype(np.int64) @ (1 << np.arange(self.n))
        d, u, s = np.meshgrid(np.arange(2), np.arange(2), np.arange(half), indexing="ij")
        self._acs_pattern = pattern[(((u * half + s) << 1) | d)].ravel()
        self._out_even, self._out_odd = self.out[0::2].T.copy(), self.out[1::2].T.copy()    # [n, 2^m]
        self._local = threading.local()
        self._windows = {}
        self._reg_weights = 1 << np.arange(self.m + 1, dtype=np.int64)             # oldest input first

    def registers(self, bits) -> np.ndarray:
        """[B, k] bits -> [B, k] encoder registers (tail-biting: the first ones hold the last inputs)."""
        b = np.asarray(bits, np.int64)
        k = b.shape[-1]
        window = self._windows.get(k)
        if window is None:       # [k, m + 1]: the inputs in register t, oldest first (wrapping around)
            window = self._windows[k] = (np.arange(k)[:, None] + np.arange(-self.m, 1)) % k
        return b[:, window] @ self._reg_weights

    def encode(self, bits) -> np.ndarray:
        b = np.asarray(bits, np.uint8)
        k = b.shape[-1]
        return self.out_bits[self.registers(b.reshape(-1, k))].reshape(*b.shape[:-1], k * self.n)

    def decode(self, llr, chunk=512):
        L = np.asarray(llr, np.float32)
        lead = L.shape[:-1]
        k = L.shape[-1] // self.n
        L = L.reshape(-1, k, self.n)
        B = L.shape[0]
        u = np.empty((B, k), np.uint8)
        for a in range(0, B, chunk):                  # codewords are independent: chunks bound the memory
            u[a:a + chunk] = self._viterbi(L[a:a + chunk])
        c = self.encode(u).astype(np.float32).reshape(B, k * self.n)
        Lf = L.reshape(B, k * self.n)
        metric = np.sum((2 * c - 1) * Lf, axis=1) / np.maximum(np.sum(np.abs(Lf), axis=1), 1e-30)
        return u.reshape(*lead, k), metric.reshape(lead)

    def _workspace(self, B: int, k: int) -> dict:
        """This thread's work arrays for B codewords of k bits, and their per-step views (allocating them on
        every call page-faults more than the decoding costs). Threads decode concurrently: one set each."""
        cache = getattr(self._local, "ws", None)
        if cache is None:
            cache = self._local.ws = {}
        ws = cache.get((B, k))
        if ws is None:
            if len(cache) >= 8:
                cache.clear()
            S, half = 1 << self.m, 1 << (self.m - 1)
            w = min(self.wrap, 2 * k)
            T = k + 2 * w
            bm = np.empty((k, B, 2 * S), np.float32)
            C = np.empty((T, B, 2, 2, half), np.float32)
            Ms = np.empty((T + 1, B, S), np.float32)
            bm5 = bm.reshape(k, B, 2, 2, half)
            ws = cache[(B, k)] = dict(
                bm=bm, C=C, Ms=Ms, dec=np.empty((T, B, 2, half), bool),
                bms=[bm5[i] for i in (np.arange(-w, k + w) % k).tolist()],
                Cs=list(C), C0=list(C[:, :, 0]), C1=list(C[:, :, 1]),
                Mv=list(Ms.reshape(T + 1, B, half, 2).transpose(0, 1, 3, 2)[:, :, :, None, :]),   # [B, d, 1, s']
                Mn=list(Ms.reshape(T + 1, B, 2, half)))                                           # [B, u, s']
        return ws

    def _viterbi(self, L, small=8) -> np.ndarray:
        """L [B, k, n] float32 -> the decided bits [B, k] (the middle of the wrap-around trellis).

        Two implementations of the same arithmetic (the same float32 sums in the same order, so the same
        decisions): up to ``small`` codewords (the receiver decodes one header, or four CFO hypotheses, at a
        time) the per-call overhead dominates, so everything that does not depend on the path metrics is done
        before or after the time loop; larger batches keep the per-step products, which stay in cache."""
        B, k, n = L.shape
        m = self.m
        S, half = 1 << m, 1 << (m - 1)
        w = min(self.wrap, 2 * k)
        idx = np.arange(-w, k + w) % k
        T = idx.size
        add, maximum = np.add, np.maximum
        if B <= small:
            ws = self._workspace(B, k)
            # branch metrics: each output pattern's correlation with the LLRs of each position, summed LLR by LLR
            # in order (the rounding of the product with the +-1 outputs), then per register: [k, B, d, u, s']
            Lk = np.ascontiguousarray(L.transpose(1, 0, 2))
            G = Lk[..., 0, None] * self._signs[:, 0]
            for j in range(1, n):
                G = G + Lk[..., j, None] * self._signs[:, j]
            np.take(G, self._acs_pattern, axis=2, out=ws["bm"], mode="wrap")   # (indices valid: no checks)
            # add-compare-select in two numpy calls a step: C[t] = the candidates (branch metric + the metric of
            # the predecessor (s' d) = state 2 s' + d), the next states' (u s') metrics their maximum over d
            # (renormalised every 16 steps); the decisions come from all the C[t] at once after the loop
            Ms, C, bms, Cs, C0, C1, Mv, Mn = (ws[x] for x in ("Ms", "C", "bms", "Cs", "C0", "C1", "Mv", "Mn"))
            Ms[0] = 0
            for t in range(T):
                add(bms[t], Mv[t], out=Cs[t])
                maximum(C0[t], C1[t], out=Mn[t + 1])
                if t % 16 == 15:
                    Mt = Ms[t + 1]
                    Mt -= Mt.max(axis=1, keepdims=True)
            dec = np.greater(C[:, :, 1], C[:, :, 0], out=ws["dec"])   # [T, B, u s']: the odd predecessor won
        else:
            M = np.zeros((B, S), np.float32)             # the path metrics
            dec = np.empty((T, B, 2, half), bool)
            Ls = [L[:, i] for i in idx.tolist()]
            for t in range(T):
                c0 = (Ls[t] @ self._out_even).reshape(B, 2, half) + M[:, None, 0::2]
                c1 = (Ls[t] @ self._out_odd).reshape(B, 2, half) + M[:, None, 1::2]
                np.greater(c1, c0, out=dec[t])
                M = maximum(c0, c1).reshape(B, S)
                if t % 16 == 15:
                    M -= M.max(axis=1, keepdims=True)
            Ms = [M] * (T + 1)
        # traceback from the best final state; the bits are those of the middle k steps
        state = np.argmax(Ms[T], axis=1)
        u = np.empty((B, k), np.uint8)
        mask, top, lo = half - 1, m - 1, w + k
        if B <= 8:                                        # a few codewords: in Python over the decisions' bytes
            db, step = memoryview(dec.reshape(-1).view(np.uint8)), B * S
            for b in range(B):
                s, pos = int(state[b]), (T - 1) * step + b * S
                for _ in range(T - lo):
                    s = ((s & mask) << 1) | db[pos + s]
                    pos -= step
                path = [0] * k
                for i in range(k - 1, -1, -1):
                    path[i] = s
                    s = ((s & mask) << 1) | db[pos + s]
                    pos -= step
                u[b] = np.array(path) >> top
            return u
        flat = dec.reshape(T, B * S).view(np.uint8)
        base = np.arange(B) * S
        for t in range(T - 1, w - 1, -1):
            if t < lo:
                u[:, t - w] = state >> top
            state = ((state & mask) << 1) | flat[t][base + state]
        return u


HEADER_CODE = TailBitingCode((0o463, 0o535, 0o733, 0o745), K=9)   # rate 1/4, d_free 24
TAG_CODE = TailBitingCode((0o561, 0o753), K=9)                     # rate 1/2, d_free 12
HEADER_USES = HEADER_BITS * HEADER_CODE.n // 2                # 96 QPSK channel uses
TAG_USES = TAG_BITS * TAG_CODE.n // 2                         # 32
ASSOC_USES = ASSOC_BITS * HEADER_CODE.n // 2                  # 272


def _map(coded, modulation: str) -> np.ndarray:
    """Coded bits [..., k m] -> Gray symbols [..., m] (modulation.modulate row by row)."""
    c = np.asarray(coded)
    k = BITS_PER_SYMBOL[modulation]
    return modulate(c.reshape(-1), modulation).reshape(*c.shape[:-1], c.shape[-1] // k)


def _llr(z, noise_var, modulation: str) -> np.ndarray:
    """Equalised symbols [..., m] -> bit LLRs log P(1)/P(0) [..., k m] (modulation.demod_llr row by row)."""
    z = np.asarray(z)
    nv = np.broadcast_to(np.asarray(noise_var, np.float64), z.shape)
    return demod_llr(z.reshape(-1), nv.reshape(-1), modulation).reshape(*z.shape[:-1], -1)


def qpsk(coded) -> np.ndarray:
    """Coded bits [..., 2m] -> Gray QPSK [..., m], unit energy (bit 0 -> +1/sqrt 2)."""
    c = np.asarray(coded, np.float64)
    c = c.reshape(*c.shape[:-1], -1, 2)
    return ((1 - 2 * c[..., 0]) + 1j * (1 - 2 * c[..., 1])) / np.sqrt(2)


def qpsk_llr(z, noise_var) -> np.ndarray:
    """Equalised QPSK symbols [..., m] with complex noise variance -> LLRs log P(1)/P(0) [..., 2m]."""
    z = np.asarray(z)
    nv = np.maximum(np.asarray(noise_var, np.float64), 1e-9)
    a = -4 / np.sqrt(2) / nv
    return np.stack([a * z.real, a * z.imag], -1).reshape(*z.shape[:-1], -1)


# ---------------------------------------------------------------- how a burst codes its headers and tags
class BodyCoding:
    """How a burst carries each message's header and tag block: their codes, modulation and the header's
    reliability threshold. ``ROBUST`` (the long preamble's) decodes from Es/N0 0 dB; ``DENSE`` (the short
    preamble's, sent only while the link's SNR reports are high) puts the same bits in 40 channel uses instead of
    128. The link association is always coded as ``ROBUST``'s header."""

    def __init__(self, name: str, header_code: TailBitingCode, tag_code: TailBitingCode, modulation: str,
                 min_metric: float):
        self.name, self.header_code, self.tag_code = name, header_code, tag_code
        self.modulation, self.min_metric = modulation, float(min_metric)
        k = BITS_PER_SYMBOL[modulation]
        self.header_coded_bits, self.tag_coded_bits = HEADER_BITS * header_code.n, TAG_BITS * tag_code.n
        self.header_uses, self.tag_uses = self.header_coded_bits // k, self.tag_coded_bits // k

    def __repr__(self):
        return "BodyCoding(%s: header %d + tag %d %s uses)" % (self.name, self.header_uses, self.tag_uses,
                                                               self.modulation)

    def symbols(self, coded) -> np.ndarray:
        return qpsk(coded) if self.modulation == "qpsk" else _map(coded, self.modulation)

    def llr(self, z, noise_var) -> np.ndarray:
        return qpsk_llr(z, noise_var) if self.modulation == "qpsk" else _llr(z, noise_var, self.modulation)

    def header_symbols(self, bits) -> np.ndarray:
        return self.symbols(self.header_code.encode(bits))

    def tag_symbols(self, tag: int) -> np.ndarray:
        return self.symbols(self.tag_code.encode(int_to_bits(tag, TAG_BITS)))

    def decode_tag(self, z, noise_var) -> int:
        bits, _ = self.tag_code.decode(self.llr(z, noise_var))
        return int(bits_to_int(bits))


# ---------------------------------------------------------------- the per-message header
def expand_seq(low: int, ref: int) -> int:
    """The 32-bit sequence number nearest ``ref`` whose low SEQ_BITS bits are ``low``."""
    m = 1 << SEQ_BITS
    d = (int(low) - int(ref)) % m
    if d >= m // 2:
        d -= m
    return (int(ref) + d) % (1 << 32)


@dataclass(frozen=True)
class Header:
    """What changes per message. ``seq`` is the sender's full 32-bit number (its low 9 bits go on air)."""
    kind: Kind
    seq: int
    length: int = 0                        # tokens (semantic) / bytes (digital) / 0 (association)
    prompt_class: PromptClass = PromptClass.HIGH
    more: bool = False                     # another segment follows in this burst

    def __post_init__(self):
        object.__setattr__(self, "kind", Kind(int(self.kind)))
        object.__setattr__(self, "prompt_class", PromptClass.parse(self.prompt_class))
        if not 0 <= int(self.seq) < (1 << 32):
            raise ValueError("seq out of range: %r" % (self.seq,))
        if not 0 <= int(self.length) <= MAX_LENGTH:
            raise ValueError("length must be 0..%d (tokens or bytes), not %r" % (MAX_LENGTH, self.length))

    def fields(self) -> int:
        return (int(self.kind) << 22) | (int(self.prompt_class) << 20) | (int(self.more) << 19) | \
            ((int(self.seq) & ((1 << SEQ_BITS) - 1)) << LENGTH_BITS) | int(self.length)

    def pack(self) -> np.ndarray:
        """The 48 information bits (fields then CRC-24), MSB first."""
        f = self.fields()
        return np.concatenate([int_to_bits(f, HEADER_FIELD_BITS), int_to_bits(int(crc24(f)), HEADER_CRC_BITS)])

    def symbols(self, coding: BodyCoding | None = None) -> np.ndarray:
        return (coding or ROBUST).header_symbols(self.pack())

    @staticmethod
    def check(bits) -> np.ndarray:
        """[..., 48] decoded bits -> bool [...]: CRC and field ranges pass (vectorised)."""
        b = np.asarray(bits)
        f = bits_to_int(b[..., :HEADER_FIELD_BITS])
        c = bits_to_int(b[..., HEADER_FIELD_BITS:])
        kind, pcls = f >> 22, (f >> 20) & 3
        ok = (crc24(f) == c) & (kind <= int(Kind.ASSOCIATION)) & (pcls <= int(PromptClass.HIGH))
        return ok & ((kind != int(Kind.ASSOCIATION)) | ((f & MAX_LENGTH) == 0))

    @classmethod
    def unpack(cls, bits, seq_ref: int = 0):
        """48 bits -> Header (seq extended around ``seq_ref``), or None if the CRC or a field check fails."""
        b = np.asarray(bits, np.uint8)
        if b.size != HEADER_BITS or not bool(cls.check(b)):
            return None
        f = int(bits_to_int(b[:HEADER_FIELD_BITS]))
        return cls(Kind(f >> 22), expand_seq((f >> LENGTH_BITS) & ((1 << SEQ_BITS) - 1), seq_ref),
                   f & MAX_LENGTH, PromptClass((f >> 20) & 3), bool((f >> 19) & 1))

    @classmethod
    def decode(cls, z, noise_var, seq_ref: int = 0, positions=None, coding: BodyCoding | None = None):
        """The equalised header symbols -> Header or None (``decode_header_bits`` with the phase-slope retry)."""
        ok, bits = decode_header_bits(np.asarray(z)[None], np.broadcast_to(noise_var, np.shape(z))[None], positions,
                                      coding=coding)
        return cls.unpack(bits[0], seq_ref) if ok[0] else None


MAX_MESSAGES = 16                      # messages per burst (headers with ``more`` before the last)
SLOPE_HYPOTHESES = np.array([0.0, -0.006, 0.006, -0.012, 0.012])   # residual CFO, radians per symbol
# reliability test on a decoded header: the Viterbi metric (correlation of the decided codeword with the LLRs over
# their magnitudes, scale-free) must reach this. A decode of pure noise reaches it in 1.6 % of candidates; headers
# decoded at Es/N0 0 dB drop from 99.987 to 99.974 % (benchmarks/phy_header.py): wrong ones pass 60 times less often
HEADER_MIN_METRIC = 0.69
# the dense coding has none: 16-QAM's magnitude bits give noise decodes high metrics (median 0.74, above the 1st
# percentile of true headers at 8-12 dB, 0.60-0.66; benchmarks/phy_header.py --coding dense), so the CRC-24 and
# field checks alone reject wrong headers (5 hypotheses x 2^-24 x 3/8 = 1.1e-7 per corrupted header)
DENSE_MIN_METRIC = 0.0

ROBUST = BodyCoding("robust", HEADER_CODE, TAG_CODE, "qpsk", HEADER_MIN_METRIC)
DENSE = BodyCoding("dense", TAG_CODE, TAG_CODE, "16qam", DENSE_MIN_METRIC)
CODINGS = {c.name: c for c in (ROBUST, DENSE)}


def decode_header_bits(z, noise_var, positions=None, slopes=SLOPE_HYPOTHESES, min_metric=None, coding=None):
    """Batched header decoding as the receiver does it: z, noise_var [B, n] -> (ok [B], bits [B, 48]) (``coding``:
    ``ROBUST`` unless given; ``min_metric``: the coding's unless given).

    The LTF's fine CFO leaves a residual of up to about 0.01 rad/symbol at Es/N0 0 dB (a radian over the
    robust header's 96 symbols), which the header symbols alone cannot estimate at that SNR. So the header is
    decoded under the first hypothesis and, where that fails, under the others (one batched Viterbi), anchored
    where the channel estimate is; of their candidates whose CRC and field checks pass, the one the decoder trusts
    most is taken. A corrupted header is checked ``len(slopes)`` times, so a wrong one passes with probability
    about len(slopes) * 2^-24 * 3/8 (5 hypotheses: 1.1e-7), times, for ``ROBUST``, the chance that its Viterbi
    metric reaches ``min_metric`` (1.6 % for noise; ``DENSE`` has no metric test). ``positions``: the header
    symbols' distances (symbols) from the phase reference (the receiver: from the LTF's centre)."""
    coding = coding or ROBUST
    min_metric = coding.min_metric if min_metric is None else min_metric
    code = coding.header_code
    z = np.asarray(z, np.complex128)
    nv = np.asarray(noise_var, np.float64)
    pos = np.arange(z.shape[-1], dtype=float) if positions is None else np.asarray(positions, float)
    ramp = np.exp(-1j * np.asarray(slopes)[:, None] * pos[None, :])              # [K, n]
    bits, metric0 = code.decode(coding.llr(z * ramp[0], nv))                    # the first hypothesis for all
    ok = Header.check(bits) & (metric0 >= min_metric)
    redo = np.flatnonzero(~ok)                                                   # the others where it failed
    if redo.size and ramp.shape[0] > 1:
        zk = z[redo, None, :] * ramp[None, 1:]                                   # [R, K-1, n]
        bk, metric = code.decode(coding.llr(zk, np.broadcast_to(nv[redo, None, :], zk.shape)))
        okk = Header.check(bk) & (metric >= min_metric)
        best = np.argmax(np.where(okk, metric, -np.inf), axis=1)
        hit = okk.any(axis=1)
        bits[redo[hit]] = bk[np.flatnonzero(hit), best[hit]]
        ok[redo[hit]] = True
    return ok, bits


# ---------------------------------------------------------------- the per-link association
@dataclass(frozen=True)
class LinkAssociation:
    """What stays fixed on a link: sent at the start, when it changes and every ASSOC_EVERY messages."""
    sender_id: int
    modulation: str = "qpsk"               # digital payload
    fec: str = "cc"
    uses_per_token: int = 1                # semantic payload: complex symbols per token (codec checkpoint)
    checkpoint: int = 0                    # 16-bit id of the semantic codec checkpoint (0: unspecified)
    seq_base: int = 0                      # the sender's sequence number at the time it was sent
    version: int = FORMAT_VERSION
    text_model: int = 0                    # 16-bit id of the digital payload's text-coder models (0: unspecified)
    payload_crc: bool = True               # digital payloads carry a CRC32 (the host's links: False)

    def __post_init__(self):
        if self.modulation not in MODULATIONS or self.fec not in FECS:
            raise ValueError("modulation must be one of %s and fec one of %s" % (MODULATIONS, FECS))
        for name, hi in (("sender_id", 1 << 16), ("uses_per_token", 256), ("checkpoint", 1 << 16),
                         ("seq_base", 1 << 32), ("version", 16), ("text_model", 1 << 16)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= int(v) < hi:
                raise ValueError("%s out of range: %r" % (name, v))
        if self.uses_per_token < 1:
            raise ValueError("uses_per_token must be >= 1")

    def same_link(self, other) -> bool:
        """Equal in everything but ``seq_base``."""
        return other is not None and self.key() == other.key()

    def key(self) -> tuple:
        return (self.version, self.sender_id, self.modulation, self.fec, self.uses_per_token, self.checkpoint,
                self.text_model, bool(self.payload_crc))

    def pack(self) -> np.ndarray:
        body = struct.pack(">HHHHBI", (self.version << 12) | (MODULATIONS.index(self.modulation) << 10)
                           | (FECS.index(self.fec) << 8) | self.uses_per_token, self.sender_id,
                           self.checkpoint, self.text_model, int(bool(self.payload_crc)), self.seq_base)
        raw = body + struct.pack(">I", zlib.crc32(body))
        return np.unpackbits(np.frombuffer(raw, np.uint8))

    def symbols(self) -> np.ndarray:
        return qpsk(HEADER_CODE.encode(self.pack()))

    @classmethod
    def unpack(cls, bits):
        raw = np.packbits(np.asarray(bits, np.uint8)).tobytes()
        if len(raw) != ASSOC_BITS // 8:
            return None
        nb = ASSOC_FIELD_BITS // 8
        body, crc = raw[:nb], struct.unpack(">I", raw[nb:])[0]
        if zlib.crc32(body) != crc:
            return None
        w0, sid, ckpt, tmodel, flags, seq = struct.unpack(">HHHHBI", body)
        mod, fec, upt = (w0 >> 10) & 3, (w0 >> 8) & 3, w0 & 0xFF
        if (w0 >> 12) != FORMAT_VERSION or mod >= len(MODULATIONS) or fec >= len(FECS) or upt < 1 or flags > 1:
            return None
        return cls(sid, MODULATIONS[mod], FECS[fec], upt, ckpt, seq, text_model=tmodel, payload_crc=bool(flags))

    @classmethod
    def decode(cls, z, noise_var):
        bits, _ = HEADER_CODE.decode(qpsk_llr(z, noise_var))
        return cls.unpack(bits)


# ---------------------------------------------------------------- tag block
def tag_symbols(tag: int, coding: BodyCoding | None = None) -> np.ndarray:
    return (coding or ROBUST).tag_symbols(tag)


def decode_tag(z, noise_var, coding: BodyCoding | None = None) -> int:
    return (coding or ROBUST).decode_tag(z, noise_var)


# ---------------------------------------------------------------- PDU metadata and MAC input
def checkpoint_id(name: str) -> int:
    """16-bit id of a codec checkpoint name (0 is reserved for 'unspecified')."""
    return (zlib.crc32(name.encode()) & 0xFFFF) or 1


def mac_input(meta: dict) -> bytes:
    """The authenticated message fields in a fixed layout (version, mode, sender, full seq, length, class,
    checkpoint, text model): the sender's MAC covers them and the content."""
    mode = Mode.parse(meta["mode"])
    return struct.pack(">BBHIHBHH", int(meta.get("version", FORMAT_VERSION)), int(mode), int(meta["sender_id"]),
                       int(meta["seq"]), int(meta["n_tokens"]), int(PromptClass.parse(meta["prompt_class"])),
                       int(meta.get("checkpoint", 0)), int(meta.get("text_model", 0)))
