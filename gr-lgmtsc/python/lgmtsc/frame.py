#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""The one framing module of gr-lgmtsc, used by burst_tx, burst_rx, tests and benchmarks.

Burst (symbol level, before RRC pulse shaping at ``sps`` samples/symbol)::

    | STF: 20 x seg | LTF: ZC63, ZC63 | body: header (888 BPSK) + payload, 2 pilots every 32 |

* STF: a random QPSK segment of ``seg`` symbols (32 samples) repeated 20 times:
  Schmidl-Cox autocorrelation detection and coarse CFO (lag 32 samples, unambiguous
  to +-1/64 of fs), refined with lag 128 samples.
* LTF: two Zadoff-Chu (N=63, root 25) sequences: fine timing (cross-correlation),
  fine CFO (half-to-half phase) and least-squares channel estimate.
* Header: 23 bytes + CRC32, cc K=7 r=1/2 (gr-fec), BPSK, sent twice (888 symbols).
* Pilots: QPSK, 2 at the start of every 32-symbol body block and 2 after the last
  data symbol; they track gain/phase (slow fading, residual CFO) and give the noise.

Conventions: payload symbols have unit average energy; the transmitted samples have
unit average power (``amplitude`` scales them). Es/N0 is measured on the symbols
after matched filtering: noise std per real dimension 1/sqrt(2*10^(EsN0/10)).
"""

import struct
import zlib

import numpy as np
from scipy.signal import fftconvolve, upfirdn

from . import pdu_format as pf
from .fec_codec import make_code, CcCode

# ---------------------------------------------------------------- constants
STF_SEG_SAMPLES = 32
STF_REPS = 20
SC_WINDOW_SEGS = 16
LTF_N = 63
LTF_ROOT = 25
LTF_CHUNKS = 6
PILOT_BLOCK = 32
PILOTS_PER_BLOCK = 2
DATA_PER_BLOCK = PILOT_BLOCK - PILOTS_PER_BLOCK
HEADER_BYTES = 23
HEADER_CRC_BYTES = 4
HEADER_BITS = 8 * (HEADER_BYTES + HEADER_CRC_BYTES)
HEADER_REP = 2
MAX_PAYLOAD_SYMBOLS = 1 << 21
SCAN_SAMPLES = 1 << 15   # receiver: samples searched per step
DET_SYMBOLS = 3          # detection filter length (symbols)
BITS_PER_SYMBOL = {"bpsk": 1, "qpsk": 2, "16qam": 4}


# ---------------------------------------------------------------- pulse shape
def rrc_taps(sps, rolloff, span):
    """Root-raised-cosine taps, unit energy, length span*sps+1."""
    n = span * sps
    t = (np.arange(n + 1) - n / 2.0) / sps
    a = rolloff
    h = np.empty_like(t)
    for_special = np.isclose(np.abs(4 * a * t), 1.0) if a > 0 else np.zeros_like(t, bool)
    zero = np.isclose(t, 0.0)
    reg = ~(for_special | zero)
    tr = t[reg]
    h[reg] = (np.sin(np.pi * tr * (1 - a)) + 4 * a * tr * np.cos(np.pi * tr * (1 + a))) / \
             (np.pi * tr * (1 - (4 * a * tr) ** 2))
    h[zero] = 1 - a + 4 * a / np.pi
    if a > 0:
        h[for_special] = a / np.sqrt(2) * ((1 + 2 / np.pi) * np.sin(np.pi / (4 * a)) +
                                           (1 - 2 / np.pi) * np.cos(np.pi / (4 * a)))
    return h / np.sqrt(np.sum(h ** 2))


def zadoff_chu(n, root):
    k = np.arange(n)
    return np.exp(-1j * np.pi * root * k * (k + 1) / n)


def _qpsk_sequence(n, seed):
    b = np.random.default_rng(seed).integers(0, 2, (n, 2))
    return ((1 - 2 * b[:, 0]) + 1j * (1 - 2 * b[:, 1])) / np.sqrt(2)


PILOT_SEQ = _qpsk_sequence(1 << 16, 0x9170)


# ---------------------------------------------------------------- modulation
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


def hard_bits(z, mod):
    return (demod_llr(z, 1.0, mod) > 0).astype(np.uint8)


# ---------------------------------------------------------------- header
def _enum_code(value, names, what):
    if isinstance(value, str):
        if value not in names:
            raise ValueError("unknown %s %r" % (what, value))
        return names.index(value)
    v = int(value)
    if not 0 <= v < len(names):
        raise ValueError("bad %s %r" % (what, value))
    return v


def header_pack(h):
    """Header dict -> 27 bytes (23 + CRC32). Raises ValueError on bad fields."""
    mode = h[pf.KEY_MODE]
    mode = pf.MODE_IDS[mode] if isinstance(mode, str) else int(mode)
    if mode not in pf.MODE_NAMES:
        raise ValueError("bad mode %r" % (h[pf.KEY_MODE],))
    mod = _enum_code(h.get(pf.KEY_MODULATION, 0), pf.MODULATIONS, "modulation")
    fec = _enum_code(h.get(pf.KEY_FEC, 0), pf.FECS, "fec")
    ver = int(h[pf.KEY_VERSION])
    plen = int(h[pf.KEY_PAYLOAD_LEN])
    pcls = int(h[pf.KEY_PROMPT_CLASS])
    if not (0 <= ver < 16 and 0 <= plen < (1 << 24) and 0 <= pcls <= 2):
        raise ValueError("header field out of range")
    body = struct.pack(">BBBBHI", (ver << 4) | mode, (mod << 4) | fec, pcls,
                       int(h[pf.KEY_FLAGS]), int(h[pf.KEY_SENDER_ID]), int(h[pf.KEY_SEQ]))
    body += plen.to_bytes(3, "big")
    body += struct.pack(">HQ", int(h[pf.KEY_N_TOKENS]), int(h[pf.KEY_AUTH_TAG]))
    assert len(body) == HEADER_BYTES
    return body + struct.pack(">I", zlib.crc32(body))


def header_unpack(raw):
    """27 bytes -> header dict, or None if the CRC or a field is invalid."""
    raw = bytes(raw)
    if len(raw) != HEADER_BYTES + HEADER_CRC_BYTES:
        return None
    body, crc = raw[:HEADER_BYTES], struct.unpack(">I", raw[HEADER_BYTES:])[0]
    if zlib.crc32(body) != crc:
        return None
    b0, b1, pcls, flags, sender, seq = struct.unpack(">BBBBHI", body[:10])
    plen = int.from_bytes(body[10:13], "big")
    ntok, auth = struct.unpack(">HQ", body[13:])
    mode, mod, fec = b0 & 0xF, b1 >> 4, b1 & 0xF
    if mode not in pf.MODE_NAMES or mod >= len(pf.MODULATIONS) or fec >= len(pf.FECS) \
            or pcls > 2 or (b0 >> 4) != pf.FORMAT_VERSION:
        return None
    return {pf.KEY_VERSION: b0 >> 4, pf.KEY_MODE: pf.MODE_NAMES[mode],
            pf.KEY_MODULATION: pf.MODULATIONS[mod], pf.KEY_FEC: pf.FECS[fec],
            pf.KEY_PROMPT_CLASS: pcls, pf.KEY_FLAGS: flags, pf.KEY_SENDER_ID: sender,
            pf.KEY_SEQ: seq, pf.KEY_PAYLOAD_LEN: plen, pf.KEY_N_TOKENS: ntok,
            pf.KEY_AUTH_TAG: auth}


def validate_tx_meta(meta):
    """Check the required TX keys; returns a normalised header dict (no payload_len)."""
    missing = [k for k in pf.REQUIRED_TX_KEYS if k not in meta]
    if missing:
        raise ValueError("missing keys: %s" % ", ".join(missing))
    h = {k: meta[k] for k in pf.REQUIRED_TX_KEYS}
    if isinstance(h[pf.KEY_MODE], str) and h[pf.KEY_MODE] not in pf.MODE_IDS:
        raise ValueError("bad mode %r" % h[pf.KEY_MODE])
    for k, hi in ((pf.KEY_SENDER_ID, 1 << 16), (pf.KEY_SEQ, 1 << 32), (pf.KEY_N_TOKENS, 1 << 16),
                  (pf.KEY_FLAGS, 1 << 8), (pf.KEY_AUTH_TAG, 1 << 64), (pf.KEY_VERSION, 16)):
        if not isinstance(h[k], (int, np.integer)) or not 0 <= int(h[k]) < hi:
            raise ValueError("%s out of range: %r" % (k, h[k]))
    if int(h[pf.KEY_VERSION]) != pf.FORMAT_VERSION:
        raise ValueError("unsupported version %r" % h[pf.KEY_VERSION])
    if int(h[pf.KEY_PROMPT_CLASS]) not in (0, 1, 2):
        raise ValueError("prompt_class must be 0..2")
    for k in (pf.KEY_MODULATION, pf.KEY_FEC):
        if k in meta:
            h[k] = meta[k]
    return h


# ---------------------------------------------------------------- body layout
def body_layout(n_data, final=True):
    """Positions of data and pilot symbols in the body.

    Returns (data_pos, pilot_pos, body_len). With ``final=False`` (a prefix of a
    longer body, as when only the header is decoded) the closing pilot pair is omitted.
    """
    j = np.arange(n_data)
    data_pos = (j // DATA_PER_BLOCK) * PILOT_BLOCK + PILOTS_PER_BLOCK + j % DATA_PER_BLOCK
    nblk = -(-n_data // DATA_PER_BLOCK)
    pil = (np.arange(nblk)[:, None] * PILOT_BLOCK + np.arange(PILOTS_PER_BLOCK)[None, :]).ravel()
    last = int(data_pos[-1]) if n_data else -1
    if final:
        pil = np.concatenate([pil, last + 1 + np.arange(PILOTS_PER_BLOCK)])
        blen = last + 1 + PILOTS_PER_BLOCK
    else:
        blen = last + 1
    return data_pos, pil, blen


# ---------------------------------------------------------------- the frame
class Frame:
    """Frame parameters plus TX construction and the RX signal-processing steps."""

    def __init__(self, sps=4, rolloff=0.35, span=8, channel_taps=5, amplitude=1.0):
        if sps < 2:
            raise ValueError("sps must be >= 2")
        self.sps, self.rolloff, self.span = int(sps), float(rolloff), int(span)
        self.amplitude = float(amplitude)
        self.rrc = rrc_taps(self.sps, self.rolloff, self.span)
        # detection filter: the central DET_SYMBOLS symbols of the RRC, as polyphase rows
        c = (self.rrc.size - 1) // 2
        hd = self.rrc[c - (DET_SYMBOLS * self.sps) // 2:][:DET_SYMBOLS * self.sps]
        self._det_taps = hd.reshape(DET_SYMBOLS, self.sps).astype(np.float32)
        self.sc_delay = (DET_SYMBOLS - 1) * self.sps - (DET_SYMBOLS * self.sps - 1) // 2
        self._rrc_f = {}
        self.seg = max(2, STF_SEG_SAMPLES // self.sps)
        self.L = self.seg * self.sps                       # STF period, samples
        self.W = SC_WINDOW_SEGS * self.L                   # Schmidl-Cox window
        self.stf = np.tile(_qpsk_sequence(self.seg, 0x57F), STF_REPS)
        z = zadoff_chu(LTF_N, LTF_ROOT)
        self.ltf = np.concatenate([z, z])
        self.pre = np.concatenate([self.stf, self.ltf])
        self.n_stf, self.n_pre = self.stf.size, self.pre.size
        self.hcode = CcCode()
        self.n_hdr = HEADER_REP * self.hcode.coded_len(HEADER_BITS)
        self._codes = {}
        # pulse ISI at symbol spacing (truncated RRC * RRC), normalised to p[0] = 1
        p = np.convolve(self.rrc, self.rrc)
        c = (p.size - 1) // 2
        self.pisi = p[c % self.sps::self.sps] / p[c]       # length 2*span+1
        # LS channel estimation over the LTF: y = (x * pisi) * h_short + n
        self.ch_taps = int(channel_taps) | 1
        self.D = self.ch_taps // 2
        xf = np.convolve(self.pre, self.pisi)[self.span:self.span + self.n_pre]
        rows = np.arange(self.n_stf, self.n_pre - self.D - self.span)
        cols = np.arange(-self.D, self.D + 1)
        self.ls_rows = rows
        self.ls_X = xf[rows[:, None] - cols[None, :]]
        self.ls_pinv = np.linalg.pinv(self.ls_X)
        self.eq_half = self.span + 2 * self.D               # MMSE FIR: 2*eq_half+1 taps
        # TX zero guard after a burst: lets the receiver finish it without later samples
        self._init_timing_sensitivity()
        self.tail = self.W + 6 * self.L + (self.eq_half + 8) * self.sps + 2 * self.rrc.size

    # ------------------------------------------------------------ sizes
    def code(self, name):
        if name not in self._codes:
            self._codes[name] = make_code(name)
        return self._codes[name]

    def digital_n_symbols(self, nbytes, mod, fec):
        nbits = self.code(fec).coded_len(8 * (nbytes + 4))
        return -(-nbits // BITS_PER_SYMBOL[mod])

    def burst_symbols(self, n_payload):
        return self.n_pre + body_layout(self.n_hdr + n_payload)[2]

    def burst_samples(self, n_payload):
        """Samples of a burst incl. the filter tails (without the zero guard)."""
        return (self.burst_symbols(n_payload) - 1) * self.sps + self.rrc.size

    # ------------------------------------------------------------ TX
    def header_symbols(self, header):
        bits = bytes_to_bits(header_pack(header))
        c = modulate(self.hcode.encode(bits), "bpsk")
        return np.tile(c, HEADER_REP)

    def digital_symbols(self, data, mod, fec):
        data = bytes(data)
        bits = bytes_to_bits(data + struct.pack(">I", zlib.crc32(data)))
        return modulate(self.code(fec).encode(bits), mod)

    def build_burst(self, meta, payload):
        """TX: validated meta + payload (complex symbols or bytes) -> complex64 samples.

        Returns (samples incl. zero guard, header dict). Raises ValueError on bad input.
        """
        h = validate_tx_meta(meta)
        mode = h[pf.KEY_MODE]
        mode = pf.MODE_IDS[mode] if isinstance(mode, str) else int(mode)
        if mode == pf.MODE_DIGITAL:
            mod = h.setdefault(pf.KEY_MODULATION, "qpsk")
            fec = h.setdefault(pf.KEY_FEC, "cc")
            mod = pf.MODULATIONS[_enum_code(mod, pf.MODULATIONS, "modulation")]
            fec = pf.FECS[_enum_code(fec, pf.FECS, "fec")]
            h[pf.KEY_MODULATION], h[pf.KEY_FEC] = mod, fec
            data = np.asarray(payload, np.uint8).tobytes()
            h[pf.KEY_PAYLOAD_LEN] = len(data)
            sym = self.digital_symbols(data, mod, fec)
        else:
            sym = np.asarray(payload, np.complex128).ravel()
            if not np.all(np.isfinite(sym)):
                raise ValueError("non-finite payload symbols")
            h[pf.KEY_PAYLOAD_LEN] = sym.size
            h[pf.KEY_MODULATION], h[pf.KEY_FEC] = "bpsk", "none"
        if h[pf.KEY_PAYLOAD_LEN] >= (1 << 24) or sym.size > MAX_PAYLOAD_SYMBOLS:
            raise ValueError("payload too long")
        h[pf.KEY_MODE] = mode
        data_sym = np.concatenate([self.header_symbols(h), sym])
        dpos, ppos, blen = body_layout(data_sym.size)
        body = np.empty(blen, np.complex128)
        body[dpos] = data_sym
        body[ppos] = PILOT_SEQ[np.arange(ppos.size) % PILOT_SEQ.size]
        syms = np.concatenate([self.pre, body])
        x = upfirdn(self.rrc, syms, self.sps)
        x *= self.amplitude / np.sqrt(np.mean(np.abs(x) ** 2))
        out = np.zeros(x.size + self.tail, np.complex64)
        out[:x.size] = x
        return out, h

    # ------------------------------------------------------------ RX steps
    def sc_metric(self, x):
        """Schmidl-Cox metric on x after a decimating matched filter (central RRC, one output
        per symbol).

        Returns (M, P) at positions j*sps, j = 0..(len(x) - W - L)//sps - 1 (lag L, window W);
        position j*sps refers to the sample (j*sps - sc_delay) of x."""
        s = self.sps
        Ld, Wd = self.L // s, self.W // s
        nd = x.size // s
        n = nd - Wd - Ld
        if n <= 0:
            return np.zeros(0), np.zeros(0, complex)
        X = x[:nd * s].reshape(nd, s)
        g = self._det_taps
        K = g.shape[0]
        f = X @ g[K - 1]
        for m in range(K - 1):                     # polyphase FIR, one output per symbol
            k = K - 1 - m
            f[k:] += X[:nd - k] @ g[m]
        p = (np.conj(f[:-Ld]) * f[Ld:]).astype(np.complex128)
        e = np.abs(f).astype(np.float64) ** 2
        e = 0.5 * (e[:-Ld] + e[Ld:])
        cp = np.concatenate([[0], np.cumsum(p)])
        ce = np.concatenate([[0], np.cumsum(e)])
        P = cp[Wd:Wd + n] - cp[:n]
        R = ce[Wd:Wd + n] - ce[:n]
        M = np.abs(P) / np.maximum(R, 1e-30)
        return M, P

    def matched_filter(self, seg, frac=0.0):
        """MF output aligned so that index S + k*sps is symbol k of a burst starting at S,
        optionally advanced by a fractional ``frac`` samples (one FFT pair for both)."""
        n = seg.size + self.rrc.size - 1
        nf = 1 << int(np.ceil(np.log2(n + 64)))
        H = self._rrc_f.get(nf)
        if H is None:
            H = self._rrc_f[nf] = np.fft.fft(self.rrc, nf)
        X = np.fft.fft(seg, nf) * H
        if frac:
            X *= np.exp(2j * np.pi * np.fft.fftfreq(nf) * frac)
        return np.fft.ifft(X)[self.rrc.size - 1:n]

    def acquire(self, seg, s_lo, s_hi, eps1, ltf_threshold=0.2):
        """LTF search in [s_lo, s_hi] of seg (derotated by eps1).

        Returns (S, d_eps, peak, frac) or None: integer start, CFO correction (cycles/sample),
        normalised correlation peak and a first fractional-timing estimate."""
        sps = self.sps
        mfa = self.matched_filter(seg)
        last = mfa.size - (self.n_pre - 1) * sps - 1
        s_hi = min(s_hi, last)
        s_lo = max(s_lo, 0)
        if s_hi < s_lo:
            return None
        offs = (self.n_stf + np.arange(self.ltf.size)) * sps
        cltf = np.conj(self.ltf)[None, :]

        def corr(cand):
            # non-coherent over LTF_CHUNKS pieces: tolerant to the coarse CFO's residual
            Y = mfa[cand[:, None] + offs[None, :]]
            c = (Y * cltf).reshape(cand.size, LTF_CHUNKS, -1).sum(2)
            en = np.sum(Y.real ** 2 + Y.imag ** 2, axis=1) * (self.ltf.size / LTF_CHUNKS)
            return np.sum(c.real ** 2 + c.imag ** 2, axis=1) / np.maximum(en, 1e-30)

        # coarse grid (half a symbol), then every sample around the best point
        coarse = np.arange(s_lo, s_hi + 1, max(1, sps // 2))
        ib = int(coarse[np.argmax(corr(coarse))])
        cand = np.arange(max(s_lo, ib - sps), min(s_hi, ib + sps) + 1)
        rho = corr(cand)
        i = int(np.argmax(rho))
        if rho[i] < ltf_threshold:
            return None
        S = int(cand[i])
        # fractional timing: parabola through the correlation magnitude around the peak
        frac = 0.0
        if 0 < i < rho.size - 1:
            a0, a1, a2 = np.sqrt(rho[i - 1:i + 2])
            den = a0 - 2 * a1 + a2
            if den < 0:
                frac = float(np.clip(0.5 * (a0 - a2) / den, -0.5, 0.5))
        # refine CFO with lag 4L over the STF
        lag = 4 * self.L
        a, b = S + self.span * sps, S + (self.n_stf - self.span) * sps
        if b - lag > a:
            v = mfa[a:b]
            d_eps = np.angle(np.vdot(v[:-lag], v[lag:])) / (2 * np.pi * lag)
        else:
            d_eps = 0.0
        return S, d_eps, float(rho[i]), frac

    @staticmethod
    def frac_shift(x, d):
        """x[n + d] for fractional d (FFT interpolation; x is bandlimited)."""
        if d == 0.0:
            return x
        nf = 1 << int(np.ceil(np.log2(x.size + 64)))
        k = np.fft.fftfreq(nf)
        return np.fft.ifft(np.fft.fft(x, nf) * np.exp(2j * np.pi * k * d))[:x.size]

    def _ltf_taps(self, mfa, S, ls=None):
        if ls is None:
            y = self.symbols(mfa, S, self.ls_rows[-1] + 1)[self.ls_rows]
            h = self.ls_pinv @ y
        else:
            rows, pinv, xr = ls
            y = self.symbols(mfa, S, rows[-1] + 1)[rows]
            # remove the residual frequency over the long known span first
            nc = y.size // 64
            c = (y[:nc * 64] * np.conj(xr[:nc * 64])).reshape(nc, 64).sum(1)
            om = np.angle(np.sum(c[1:] * np.conj(c[:-1]))) / 64 if nc > 1 else 0.0
            h = pinv @ (y * np.exp(-1j * om * np.arange(y.size)))
        return h / h[self.D] if abs(h[self.D]) > 0 else h

    def known_ls(self, header):
        """LS operator over the LTF and the (decoded) header region: (rows, pinv, regressor)."""
        nb = body_layout(self.n_hdr, final=False)[2]
        dpos, ppos, _ = body_layout(self.n_hdr, final=False)
        body = np.zeros(nb, complex)
        body[dpos] = self.header_symbols(header)
        body[ppos] = PILOT_SEQ[np.arange(ppos.size) % PILOT_SEQ.size]
        seq = np.concatenate([self.pre, body])
        xf = np.convolve(seq, self.pisi)[self.span:self.span + seq.size]
        rows = np.arange(self.n_stf, seq.size - self.D - self.span)
        cols = np.arange(-self.D, self.D + 1)
        return rows, np.linalg.pinv(xf[rows[:, None] - cols[None, :]]), xf[rows]

    def _init_timing_sensitivity(self):
        x = np.concatenate([np.zeros(2 * self.rrc.size), upfirdn(self.rrc, self.pre, self.sps),
                            np.zeros(4 * self.rrc.size)])
        S, d = 2 * self.rrc.size, 0.05
        hp = self._ltf_taps(self.matched_filter(x, d), S)
        hm = self._ltf_taps(self.matched_filter(x, -d), S)
        self.dh = (hp - hm) / (2 * d)

    def refine_timing(self, seg, S, frac, iters=2, ls=None):
        """Fractional timing from the LTF channel taps: their asymmetry, projected on the
        taps' derivative with respect to a timing shift, is the residual timing error.

        seg: CFO-corrected samples with the burst at integer S. Returns the refined shift.
        """
        lo = max(0, S + (self.n_stf - self.span - 4) * self.sps - 2 * self.rrc.size)
        last = self.n_pre if ls is None else ls[0][-1] + self.span + 1
        hi = min(seg.size, S + last * self.sps + 2 * self.rrc.size + 64)
        part = seg[lo:hi]
        e0 = np.zeros(self.ch_taps)
        e0[self.D] = 1
        nrm = float(np.real(np.vdot(self.dh, self.dh)))
        for _ in range(iters):
            v = self._ltf_taps(self.matched_filter(part, frac), S - lo, ls) - e0
            frac = float(np.clip(frac - np.real(np.vdot(self.dh, v)) / nrm, -0.75, 0.75))
        return frac

    def symbols(self, mfa, S, n_sym):
        idx = S + np.arange(n_sym) * self.sps
        ok = (idx >= 0) & (idx < mfa.size)
        y = np.zeros(n_sym, complex)
        y[ok] = mfa[idx[ok]]
        return y

    def mmse_equaliser(self, h_tot, sigma2):
        """MMSE FIR (2*eq_half+1 taps) for channel taps h_tot centred on their middle."""
        Lw = 2 * self.eq_half + 1
        Lt = h_tot.size
        Dt = (Lt - 1) // 2
        ncol = Lw + Lt - 1
        H = np.zeros((Lw, ncol), complex)
        r = np.arange(Lw)[:, None]
        cidx = np.arange(ncol)[None, :]
        j = r + 2 * Dt - cidx
        ok = (j >= 0) & (j < Lt)
        H[ok] = np.broadcast_to(h_tot[np.clip(j, 0, Lt - 1)], H.shape)[ok]
        c0 = self.eq_half + Dt
        R = H @ H.conj().T + (sigma2 + 1e-12) * np.eye(Lw)
        w = np.linalg.solve(R, H[:, c0])
        beta = float(np.real(np.vdot(w, H[:, c0])))
        return w, beta

    def demodulate(self, mfa, S, n_data, final=True, known=None, smooth=None):
        """Symbols -> equalised data, per-symbol noise var and SNR for one burst.

        ``known``: dict data-index -> symbols known after header decoding (for the
        noise estimate); defaults to pilots only.
        """
        dpos, ppos, blen = body_layout(n_data, final)
        n_sym = self.n_pre + blen
        y = self.symbols(mfa, S, n_sym + self.eq_half)
        # fine CFO from the two LTF halves
        yl = y[self.n_stf + self.span:self.n_pre - self.span]
        d3 = np.angle(np.vdot(yl[:-LTF_N], yl[LTF_N:])) / (2 * np.pi * LTF_N)
        y = y * np.exp(-2j * np.pi * d3 * np.arange(y.size))
        # LS channel (short taps) on top of the known pulse ISI
        yr = y[self.ls_rows]
        h = self.ls_pinv @ yr
        res = yr - self.ls_X @ h
        sigma2 = float(np.real(np.vdot(res, res))) / max(1, res.size - h.size)
        # prune taps indistinguishable from estimation noise (keeps the strongest)
        weak = np.abs(h) ** 2 < 8.0 * sigma2 / res.size
        weak[np.argmax(np.abs(h))] = False
        h = np.where(weak, 0, h)
        h_tot = np.convolve(h, self.pisi)
        w, beta = self.mmse_equaliser(h_tot, sigma2)
        beta = max(beta, 1e-6)
        zall = np.correlate(y, w, "same") / beta
        z = zall[self.n_pre:self.n_pre + blen]
        # gain tracking per 32-symbol block from known symbols (pilots, + header if known)
        pv = PILOT_SEQ[np.arange(ppos.size) % PILOT_SEQ.size]
        kpos, kval = ppos, pv
        if known is not None:
            kpos = np.concatenate([ppos, dpos[:known.size]])
            kval = np.concatenate([pv, known])
        prod = z[kpos] * np.conj(kval) / np.maximum(np.abs(kval) ** 2, 1e-12)
        blk = kpos // PILOT_BLOCK
        nbk = int(blk.max()) + 1
        cnt = np.bincount(blk, minlength=nbk).astype(float)
        use = cnt > 0
        cnt = cnt[use]
        gb = (np.bincount(blk, prod.real, nbk) + 1j * np.bincount(blk, prod.imag, nbk))[use] / cnt
        cb = np.bincount(blk, kpos.astype(float), nbk)[use] / cnt
        npb = gb.size
        n = np.arange(blen)
        om = 0.0
        for lag in (1, 4, 16, 64, 256):   # residual frequency, hierarchically
            if npb < lag + 2:
                break
            gr_ = gb * np.exp(-1j * om * cb)
            dc = cb[lag:] - cb[:-lag]
            om += np.angle(np.sum(gr_[lag:] * np.conj(gr_[:-lag]))) / float(np.mean(dc))
        z = z * np.exp(-1j * om * n)
        gb = gb * np.exp(-1j * om * cb)
        prod = prod * np.exp(-1j * om * kpos)
        gs, neff = gb, cnt
        if npb >= 3:
            # smoothing length by leave-one-out cross-validation (bias/variance trade-off:
            # long for static channels, short for fading)
            full = npb - (npb + 1) % 2
            cands = [min(smooth, full)] if smooth else \
                sorted({L for L in (3, 5, 9, 15, 25, 41, 81, 161, 321) if L <= npb} | {full})
            fits = []
            for L in cands:
                ker = np.ones(L)
                num = np.convolve(gb * cnt, ker, "same")
                den = np.convolve(cnt, ker, "same")
                loo = (num - gb * cnt) / np.maximum(den - cnt, 1e-9)
                fits.append((float(np.sum(cnt * np.abs(gb - loo) ** 2)), num / den, den))
            # the longest window whose CV error is within 5 % of the best (favours static fits;
            # per-block noise dominates the CV error, so shorter windows must win clearly)
            cvmin = min(f[0] for f in fits)
            best = [f for f in fits if f[0] <= 1.05 * cvmin][-1]
            gs, neff = best[1], best[2]
        g = np.interp(n, cb, gs.real) + 1j * np.interp(n, cb, gs.imag)
        neff_n = np.interp(n, cb, neff)
        g2 = np.maximum(np.abs(g) ** 2, 1e-12)
        # noise after equalisation and tracking from the known symbols' residuals
        e = z[kpos] - g[kpos] * kval
        sv2 = float(np.mean(np.abs(e) ** 2)) / max(1e-3, 1.0 - float(np.mean(1.0 / neff_n[kpos])))
        zc = z[dpos] / g[dpos]
        nv = np.maximum(sv2 / g2[dpos] * (1.0 + 1.0 / neff_n[dpos]), 1e-7)
        snr = float(np.mean(g2)) / max(sv2, 1e-7)
        yraw = y[self.n_pre + dpos] / (h[self.D] if abs(h[self.D]) > 0 else 1.0)
        return dict(z=zc, yraw=yraw, noise_var=nv, snr_lin=snr, sv2=sv2, h=h, beta=beta,
                    d3=d3, om=float(om), sigma2=sigma2)

    def decode_header(self, z, nv):
        n1 = self.n_hdr // HEADER_REP
        llr = demod_llr(z[:self.n_hdr], nv[:self.n_hdr], "bpsk").reshape(HEADER_REP, n1).sum(0)
        bits = self.hcode.decode(llr, HEADER_BITS)
        return header_unpack(bits_to_bytes(bits))

    def decode_digital(self, z, nv, header):
        """Payload symbols -> (bytes, crc_ok)."""
        nbytes = header[pf.KEY_PAYLOAD_LEN]
        mod, fec = header[pf.KEY_MODULATION], header[pf.KEY_FEC]
        code = self.code(fec)
        nbits = 8 * (nbytes + 4)
        ncoded = code.coded_len(nbits)
        llr = demod_llr(z, nv, mod)[:ncoded]
        bits = code.decode(llr, nbits)
        raw = bits_to_bytes(bits)
        data, crc = raw[:nbytes], struct.unpack(">I", raw[nbytes:nbytes + 4])[0]
        return data, zlib.crc32(data) == crc


# ---------------------------------------------------------------- streaming receiver
def limit_blas_threads(n=1):
    """OpenBLAS threads spin-wait on the tiny matrices of the receiver (a 25x25 solve took
    45 ms instead of 12 us on a loaded 2-core machine): limit them. Process-wide."""
    import ctypes
    for name in ("libopenblas.so.0", "libblas.so.3"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        fn = getattr(lib, "openblas_set_num_threads", None)
        if fn is not None:
            fn(ctypes.c_int(n))
            return True
    return False


class Receiver:
    """Burst receiver on a continuous sample stream (used by burst_rx).

    ``feed(samples)`` returns a list of (meta dict, payload ndarray) for each burst
    whose header passed its CRC. Counters: ``n_triggers``, ``n_header_fail``, ``n_bursts``.
    """

    def __init__(self, frame, threshold=0.25, samp_rate=1.0, calibration=None,
                 ltf_threshold=0.2, blas_threads=1):
        self.f = frame
        self.thr = float(threshold)
        self.ltf_thr = float(ltf_threshold)
        self.samp_rate = float(samp_rate)
        self.cal = calibration
        self.buf = np.zeros(0, np.complex64)
        self.base = 0          # absolute index of buf[0]
        self.search = 0        # absolute index where the search continues
        self.pending = None    # (S_abs, eps, header, known) while waiting for the payload
        self.n_triggers = self.n_header_fail = self.n_bursts = 0
        if blas_threads:
            limit_blas_threads(blas_threads)
        f = frame
        self.pre_need = f.W + 2 * f.L + f.rrc.size * 2 + \
            (f.n_pre + body_layout(f.n_hdr, final=False)[2] + f.eq_half + 4) * f.sps

    def feed(self, samples):
        x = np.asarray(samples, np.complex64)
        if x.size and not np.isfinite(x.sum()):   # corrupt input (NaN/inf): zero it
            x = np.where(np.isfinite(x), x, 0).astype(np.complex64)
            x = np.clip(x.real, -1e15, 1e15) + 1j * np.clip(x.imag, -1e15, 1e15)
            x = x.astype(np.complex64)
        if x.size:
            self.buf = np.concatenate([self.buf, x]) if self.buf.size else x.copy()
        out = []
        try:
            while self._step(out):
                pass
        finally:
            self._trim()
        return out

    def _trim(self):
        keep = self.search - self.f.W - 8 * self.f.L - 2 * self.f.rrc.size
        if self.pending is not None:
            keep = min(keep, self.pending[0] - 2 * self.f.rrc.size - 4 * self.f.L)
        cut = keep - self.base
        if cut > 0:
            cut = min(cut, self.buf.size)
            self.buf = self.buf[cut:]
            self.base += cut

    def _seg(self, a, b):
        """Samples a..b (absolute), zero-padded at the front if trimmed."""
        a0 = max(a, self.base)
        s = self.buf[a0 - self.base:b - self.base]
        if a0 > a:
            s = np.concatenate([np.zeros(a0 - a, np.complex64), s])
        return s

    def _step(self, out):
        f = self.f
        end = self.base + self.buf.size
        if self.pending is not None:
            return self._finish(out, end)
        start = max(self.search, self.base)
        # scan a bounded stretch (later samples are scanned after this burst is handled)
        k0 = min((start - self.base) // f.sps, DET_SYMBOLS - 1)  # filter warm-up
        x0 = start - k0 * f.sps
        x = self.buf[x0 - self.base:start - self.base + SCAN_SAMPLES + f.W + f.L]
        M, P = f.sc_metric(x)
        M, P = M[k0:], P[k0:]
        if M.size == 0:
            return False
        hit = np.flatnonzero(M > self.thr)
        if hit.size == 0:
            self.search = start + M.size * f.sps
            return x.size - k0 * f.sps > SCAN_SAMPLES
        i0 = int(hit[0])
        dc = start + i0 * f.sps - f.sc_delay
        if end < dc + self.pre_need:
            self.search = start + i0 * f.sps
            return False
        if i0 + (f.W + 4 * f.L) // f.sps > M.size:      # need the whole plateau
            self.search = start + i0 * f.sps
            return x.size - k0 * f.sps > SCAN_SAMPLES
        self.n_triggers += 1
        reg = slice(i0, i0 + (f.W + 4 * f.L) // f.sps)
        ib = i0 + int(np.argmax(M[reg]))
        eps1 = float(np.angle(P[ib]) / (2 * np.pi * f.L))
        s_lo, s_hi = dc - 3 * f.L, dc + f.W + 2 * f.L
        a = s_lo - 2 * f.rrc.size
        b = dc + self.pre_need
        seg = self._seg(a, b).astype(np.complex128)
        seg *= np.exp(-2j * np.pi * eps1 * np.arange(seg.size))
        acq = f.acquire(seg, s_lo - a, s_hi - a, eps1, self.ltf_thr)
        hdr = None
        if acq is not None:
            S, d_eps, _, frac = acq
            eps = eps1 + d_eps
            seg2 = self._seg(a, b).astype(np.complex128) * np.exp(-2j * np.pi * eps * np.arange(b - a))
            frac = f.refine_timing(seg2, S, frac)
            mfa = f.matched_filter(seg2, frac)
            try:
                r = f.demodulate(mfa, S, f.n_hdr, final=False)
                hdr = f.decode_header(r["z"], r["noise_var"])
            except (ValueError, IndexError, np.linalg.LinAlgError):
                hdr = None
        if hdr is None:
            if acq is not None:
                self.n_header_fail += 1
            self.search = dc + 2 * f.L
            return True
        if hdr[pf.KEY_MODE] == "digital":
            n_pay = f.digital_n_symbols(hdr[pf.KEY_PAYLOAD_LEN], hdr[pf.KEY_MODULATION], hdr[pf.KEY_FEC])
        else:
            n_pay = hdr[pf.KEY_PAYLOAD_LEN]
        if n_pay > MAX_PAYLOAD_SYMBOLS:
            self.n_header_fail += 1
            self.search = dc + 2 * f.L
            return True
        S_abs = a + S
        self.pending = (S_abs, eps, hdr, n_pay, frac)
        self.search = S_abs
        return True

    def _finish(self, out, end):
        f = self.f
        S_abs, eps, hdr, n_pay, frac = self.pending
        nsamp = f.burst_samples(n_pay) + 2 * f.rrc.size + 4 * f.sps
        if end < S_abs + nsamp:
            return False
        a = S_abs - f.rrc.size
        seg = self._seg(a, S_abs + nsamp).astype(np.complex128)
        seg *= np.exp(-2j * np.pi * eps * np.arange(seg.size))
        # timing again, now with the decoded header as a long known sequence
        frac = f.refine_timing(seg, f.rrc.size, frac, ls=f.known_ls(hdr))
        mfa = f.matched_filter(seg, frac)
        known = f.header_symbols(hdr)
        r = f.demodulate(mfa, f.rrc.size, f.n_hdr + n_pay, final=True, known=known)
        self.pending = None
        self.search = S_abs + f.burst_samples(n_pay) - f.rrc.size
        out.append(self._make_output(hdr, r, n_pay, S_abs + frac, eps))
        self.n_bursts += 1
        return True

    def _make_output(self, hdr, r, n_pay, S_abs, eps):
        f = self.f
        snr_raw = 10 * np.log10(max(r["snr_lin"], 1e-6))
        snr = self.cal.correct(snr_raw) if self.cal is not None else snr_raw
        cfo = eps + (r["d3"] + r["om"] / (2 * np.pi)) / f.sps
        meta = dict(hdr)
        z = r["z"][f.n_hdr:f.n_hdr + n_pay]
        nv = r["noise_var"][f.n_hdr:f.n_hdr + n_pay]
        meta.update({pf.KEY_SNR_DB: float(snr), pf.KEY_SNR_DB_RAW: float(snr_raw),
                     pf.KEY_CFO: float(cfo), pf.KEY_CFO_HZ: float(cfo * self.samp_rate),
                     pf.KEY_SAMPLE_OFFSET: int(round(S_abs)),
                     pf.KEY_RX_TIME: float(S_abs / self.samp_rate),
                     pf.KEY_HEADER_OK: True})
        self.last_raw = r["yraw"][f.n_hdr:f.n_hdr + n_pay]
        if hdr[pf.KEY_MODE] == "digital":
            data, ok = f.decode_digital(z, nv, hdr)
            meta[pf.KEY_CRC_OK] = bool(ok)
            meta[pf.KEY_NOISE_VAR] = nv.astype(np.float32)
            payload = np.frombuffer(data, np.uint8).copy()
        else:
            meta[pf.KEY_NOISE_VAR] = nv.astype(np.float32)
            payload = z.astype(np.complex64)
        return meta, payload
