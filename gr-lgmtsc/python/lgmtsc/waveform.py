#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""The waveform of a burst and its construction at the transmitter.

Burst (symbol level, before RRC pulse shaping at ``sps`` samples/symbol)::

    | STF: stf_reps x seg | LTF: ZC, ZC | body: segment data, 2 pilots every 32 symbols | 2 pilots | guard |

* STF: a random QPSK segment of ``seg`` symbols (32 samples) repeated ``stf_reps`` times: Schmidl-Cox
  detection and coarse CFO (lag 32 samples, unambiguous to +-1/64 of fs), refined with a longer lag.
* LTF: two Zadoff-Chu sequences (length ``ltf_n``): fine timing, fine CFO, least-squares channel estimate.
* Body data: one segment, ``header.Header`` then a message (tag block + payload) or a link association
  (``header.LinkAssociation``); the frame's ``header.BodyCoding`` codes the header and tag block (long preamble:
  ``ROBUST``, 96 + 32 QPSK uses; short preamble: ``DENSE``, 24 + 16 16-QAM uses).
* Pilots: QPSK, 2 at the start of every 32-symbol body block and 2 after the last data symbol.
* Guard: zeros after the pulse tail, as many as the receiver needs to finish the burst without later samples
  (``guard_samples``): about 20 symbols once the body is longer than its header and tag; a receiver on a
  continuous stream (a radio) needs none, the samples after the burst come anyway.

Conventions: payload symbols have unit average energy; the transmitted samples have unit average power
(``amplitude`` scales them). Es/N0 is measured on the symbols after matched filtering.
"""

import dataclasses

import numpy as np
from scipy.signal import upfirdn

from . import header as H
from . import pdu_format as pf
from .modulation import DigitalCodec

STF_SEG_SAMPLES = 32
STF_REPS = 12          # shortest measured to keep detection at 0 dB (docs/phy.md; was 20)
SC_WINDOW_SEGS = 8     # Schmidl-Cox window, STF periods (was 16)
LTF_N = 63
LTF_ROOT = 25
PILOT_BLOCK = 32
PILOTS_PER_BLOCK = 2
DATA_PER_BLOCK = PILOT_BLOCK - PILOTS_PER_BLOCK
MAX_PAYLOAD_SYMBOLS = 1 << 21
DET_SYMBOLS = 3          # detection filter length (symbols)
# the burst formats a message may use (pdu_format.KEY_PREAMBLE), named by their preamble: the long one detects from
# Es/N0 0 dB and codes headers and tags robustly; the short one (86 symbols instead of 222, detected from 8 dB, with
# its own trigger threshold: a 2-period Schmidl-Cox window crosses 0.25 on noise about once every 100 samples) codes
# them densely (16-QAM, from about 10 dB); association bursts always use the long one
PREAMBLES = {pf.PREAMBLE_LONG: {}, pf.PREAMBLE_SHORT: dict(stf_reps=3, sc_window_segs=2, ltf_n=31, coding="dense")}
TRIGGER_THRESHOLDS = {pf.PREAMBLE_LONG: 0.25, pf.PREAMBLE_SHORT: 0.6}


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


def qpsk_sequence(n, seed):
    b = np.random.default_rng(seed).integers(0, 2, (n, 2))
    return ((1 - 2 * b[:, 0]) + 1j * (1 - 2 * b[:, 1])) / np.sqrt(2)


PILOT_SEQ = qpsk_sequence(1 << 16, 0x9170)


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


def _int_field(meta, key, hi):
    v = meta[key]
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= int(v) < hi:
        raise ValueError("%s out of range: %r" % (key, v))
    return int(v)


def bool_field(meta, key, default):
    """A PDU flag: a bool (or 0/1); ValueError naming the key otherwise."""
    v = meta.get(key, default)
    if not isinstance(v, (bool, np.bool_, int, np.integer)) or int(v) not in (0, 1):
        raise ValueError("%s must be a bool, not %r" % (key, v))
    return bool(v)


class Waveform:
    """Burst parameters, sizes and TX construction."""

    def __init__(self, sps=4, rolloff=0.35, span=8, amplitude=1.0, stf_reps=STF_REPS,
                 sc_window_segs=SC_WINDOW_SEGS, ltf_n=LTF_N, ltf_root=LTF_ROOT, coding="robust"):
        if sps < 2:
            raise ValueError("sps must be >= 2")
        if not 2 <= sc_window_segs < stf_reps:
            raise ValueError("the Schmidl-Cox window must be shorter than the STF")
        self.sps, self.rolloff, self.span = int(sps), float(rolloff), int(span)
        self.amplitude = float(amplitude)
        self.rrc = rrc_taps(self.sps, self.rolloff, self.span)
        self.seg = max(2, STF_SEG_SAMPLES // self.sps)
        self.L = self.seg * self.sps                       # STF period, samples
        self.stf_reps, self.sc_window_segs = int(stf_reps), int(sc_window_segs)
        self.W = self.sc_window_segs * self.L              # Schmidl-Cox window
        self.stf = np.tile(qpsk_sequence(self.seg, 0x57F), self.stf_reps)
        self.ltf_n = int(ltf_n)
        z = zadoff_chu(self.ltf_n, ltf_root)
        self.ltf = np.concatenate([z, z])
        self.pre = np.concatenate([self.stf, self.ltf])
        self.n_stf, self.n_pre = self.stf.size, self.pre.size
        self.coding = H.CODINGS[coding]
        self.n_hdr, self.n_tag = self.coding.header_uses, self.coding.tag_uses
        self.digital = DigitalCodec()
        self.eq_half = self.span + 2 * 2                    # MMSE FIR half length (5 channel taps)

    # ------------------------------------------------------------ sizes (channel uses = symbol periods)
    def digital_n_symbols(self, nbytes, mod, fec, crc=True):
        return self.digital.n_symbols(nbytes, mod, fec, crc)

    def digital_symbols(self, data, mod, fec, crc=True):
        return self.digital.symbols(data, mod, fec, crc)

    def decode_digital(self, z, nv, header):
        return self.digital.decode(z, nv, header[pf.KEY_PAYLOAD_LEN], header[pf.KEY_MODULATION],
                                   header[pf.KEY_FEC], header.get(pf.KEY_PAYLOAD_CRC, True))

    def guard_samples(self, n_data):
        """Zero samples after a burst of ``n_data`` body data symbols: what the receiver still reads after the
        pulse tail. The header stage needs a window beyond the header (the trigger may come up to the end of
        the STF less the Schmidl-Cox window), which a short body does not cover; the payload stage needs the
        matched filter and equaliser span after the last symbol."""
        body, hdr_body = body_layout(n_data)[2], body_layout(min(n_data, self.n_hdr), final=False)[2]
        header_stage = (self.stf_reps + 1) * self.L + self.rrc.size + (hdr_body + self.eq_half + 4 - body) * self.sps
        return int(max(2 * self.rrc.size + 8 * self.sps, header_stage))

    def guard_symbols(self, n_data):
        """Symbol periods after the last body symbol: pulse tail and zero guard."""
        return -(-(self.rrc.size - self.sps + self.guard_samples(n_data)) // self.sps)

    def burst_symbols(self, n_payload, n_data=None):
        """All channel uses of a message burst with ``n_payload`` payload symbols: preamble, header, tag, pilots,
        payload, pulse tail and guard."""
        n_data = self.n_hdr + self.n_tag + n_payload if n_data is None else n_data
        return self.n_pre + body_layout(n_data)[2] + self.guard_symbols(n_data)

    def association_symbols(self):
        """All channel uses of an association burst (association bursts go in the long format: ask its frame)."""
        return self.burst_symbols(0, self.n_hdr + H.ASSOC_USES)

    def burst_samples(self, n_payload, n_data=None):
        """Samples of a burst incl. the filter tails (without the zero guard)."""
        n_data = self.n_hdr + self.n_tag + n_payload if n_data is None else n_data
        return (self.n_pre + body_layout(n_data)[2] - 1) * self.sps + self.rrc.size

    # ------------------------------------------------------------ TX
    def parse_tx(self, meta, payload, modulation="qpsk", fec="cc"):
        """A TX PDU (metadata dict + payload) -> (LinkAssociation, Header, tag, payload symbols).

        Raises ValueError naming the bad field."""
        missing = [k for k in pf.REQUIRED_TX_KEYS if k not in meta]
        if missing:
            raise ValueError("missing keys: %s" % ", ".join(missing))
        if _int_field(meta, pf.KEY_VERSION, 16) != H.FORMAT_VERSION:
            raise ValueError("unsupported version %r (this PHY speaks %d)" % (meta[pf.KEY_VERSION], H.FORMAT_VERSION))
        mode = H.Mode.parse(meta[pf.KEY_MODE])
        seq = _int_field(meta, pf.KEY_SEQ, 1 << 32)
        tag = _int_field(meta, pf.KEY_AUTH_TAG, 1 << H.TAG_BITS)
        pcls = H.PromptClass.parse(meta[pf.KEY_PROMPT_CLASS])
        ckpt = _int_field(meta, pf.KEY_CHECKPOINT, 1 << 16) if pf.KEY_CHECKPOINT in meta else 0
        tmodel = _int_field(meta, pf.KEY_TEXT_MODEL, 1 << 16) if pf.KEY_TEXT_MODEL in meta else 0
        link = dict(text_model=tmodel, payload_crc=bool_field(meta, pf.KEY_PAYLOAD_CRC, True))
        mod = meta.get(pf.KEY_MODULATION, modulation)
        fec = meta.get(pf.KEY_FEC, fec)
        mod = H.MODULATIONS[mod] if isinstance(mod, (int, np.integer)) and 0 <= mod < 3 else mod
        fec = H.FECS[fec] if isinstance(fec, (int, np.integer)) and 0 <= fec < 3 else fec
        if mode == H.Mode.DIGITAL:
            data = np.asarray(payload, np.uint8).tobytes()
            if len(data) > H.MAX_LENGTH:
                raise ValueError("payload too long: %d bytes (at most %d per message)" % (len(data), H.MAX_LENGTH))
            if meta.get(pf.KEY_N_TOKENS, len(data)) != len(data):
                raise ValueError("digital mode: n_tokens must equal the payload bytes (%d)" % len(data))
            upt = _int_field(meta, pf.KEY_USES_PER_TOKEN, 256) if pf.KEY_USES_PER_TOKEN in meta else 1
            assoc = H.LinkAssociation(_int_field(meta, pf.KEY_SENDER_ID, 1 << 16), mod, fec, max(upt, 1), ckpt, seq,
                                      **link)
            sym = self.digital_symbols(data, assoc.modulation, assoc.fec, assoc.payload_crc)
            length = len(data)
        else:
            sym = np.asarray(payload, np.complex128).ravel()
            if not np.all(np.isfinite(sym)):
                raise ValueError("non-finite payload symbols")
            length = _int_field(meta, pf.KEY_N_TOKENS, H.MAX_LENGTH + 1)
            if pf.KEY_USES_PER_TOKEN in meta:
                upt = _int_field(meta, pf.KEY_USES_PER_TOKEN, 256)
            else:
                upt = sym.size // length if length and sym.size % length == 0 else 0
            if upt < 1 or sym.size != length * upt:
                raise ValueError("semantic payload of %d symbols is not n_tokens (%d) x uses_per_token"
                                 % (sym.size, length))
            assoc = H.LinkAssociation(_int_field(meta, pf.KEY_SENDER_ID, 1 << 16), mod, fec, upt, ckpt, seq, **link)
        if sym.size > MAX_PAYLOAD_SYMBOLS:
            raise ValueError("payload too long")
        return assoc, H.Header(H.Kind(int(mode)), seq, length, pcls), tag, sym

    def burst(self, data_sym):
        """Body data symbols -> complex64 samples: preamble, pilots, RRC shaping, unit power, zero guard."""
        dpos, ppos, blen = body_layout(data_sym.size)
        body = np.empty(blen, np.complex128)
        body[dpos] = data_sym
        body[ppos] = PILOT_SEQ[np.arange(ppos.size) % PILOT_SEQ.size]
        x = upfirdn(self.rrc, np.concatenate([self.pre, body]), self.sps)
        x *= self.amplitude / np.sqrt(np.mean(np.abs(x) ** 2))
        out = np.zeros(x.size + self.guard_samples(data_sym.size), np.complex64)
        out[:x.size] = x
        return out

    def message_burst(self, header, tag, sym):
        return self.messages_burst([(header, tag, sym)])

    def messages_burst(self, messages):
        """Several messages [(Header, tag, payload symbols), ...] (at most ``header.MAX_MESSAGES``) in one burst:
        one preamble and one guard; the body holds the headers one after the other (``more`` set on all but the
        last), then each message's tag block and payload, in the same order. The receiver decodes the headers
        first, each with the ones before it as known symbols."""
        if not 1 <= len(messages) <= H.MAX_MESSAGES:
            raise ValueError("1..%d messages per burst, not %d" % (H.MAX_MESSAGES, len(messages)))
        hdrs = [dataclasses.replace(hdr, more=i + 1 < len(messages)).symbols(self.coding)
                for i, (hdr, _, _) in enumerate(messages)]
        rest = [np.concatenate([self.coding.tag_symbols(tag), np.asarray(sym, np.complex128).ravel()])
                for _, tag, sym in messages]
        return self.burst(np.concatenate(hdrs + rest))

    def messages_symbols(self, payload_sizes):
        """All channel uses of one burst carrying messages with these payload sizes (symbols)."""
        n = len(payload_sizes) * (self.n_hdr + self.n_tag) + int(sum(payload_sizes))
        return self.burst_symbols(0, n)

    def association_burst(self, assoc):
        """The link association's burst (burst_tx sends it in the long format only; this frame's header coding)."""
        hdr = H.Header(H.Kind.ASSOCIATION, assoc.seq_base, 0)
        return self.burst(np.concatenate([hdr.symbols(self.coding), assoc.symbols()]))

    def build_burst(self, meta, payload, modulation="qpsk", fec="cc"):
        """TX: a PDU's metadata + payload -> (message burst samples, the link's association).

        The receiver needs the association (``association_burst``) before the first message."""
        assoc, hdr, tag, sym = self.parse_tx(meta, payload, modulation, fec)
        return self.message_burst(hdr, tag, sym), assoc
