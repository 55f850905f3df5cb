#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""The streaming burst receiver (used by burst_rx): search, header stage, payload stage, PDU metadata.

It keeps the link's association (``header.LinkAssociation``, from association bursts) and the last sequence
number, which turn a message header's 9 sequence bits into the sender's 32-bit number.
"""

import numpy as np

from . import header as H
from . import pdu_format as pf
from .waveform import DET_SYMBOLS, MAX_PAYLOAD_SYMBOLS, TRIGGER_THRESHOLDS, body_layout

SCAN_SAMPLES = 1 << 15   # samples searched per step
# a later header of a burst, tracked up to the header before it: the slope hypotheses turn about its start
LATER_POS = np.arange(H.HEADER_USES, dtype=float)
LATER_SMOOTH = None


def _blas_libraries():
    """The OpenBLAS builds this process may use: numpy's own copy (wheels bundle it in ``numpy.libs`` with 64-bit
    symbols), then the system's."""
    import glob
    import os

    import numpy
    bundled = sorted(glob.glob(os.path.join(os.path.dirname(numpy.__file__) + ".libs", "libopenblas*.so*")))
    return bundled + ["libopenblas.so.0", "libblas.so.3"]


def limit_blas_threads(n=1):
    """OpenBLAS threads spin-wait on the tiny matrices of the receiver (a 25x25 solve took
    4-45 ms instead of 0.05 ms on a loaded 2-core machine): limit them in every OpenBLAS this process
    may use (numpy's bundled copy is the one numpy calls; the system's alone was not). Process-wide.
    Returns the number of libraries limited."""
    import ctypes
    done = 0
    for name in _blas_libraries():
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        for symbol in ("openblas_set_num_threads64_", "openblas_set_num_threads"):
            fn = getattr(lib, symbol, None)
            if fn is not None:
                fn(ctypes.c_int(n))
                done += 1
                break
    return done


class Receiver:
    """Burst receiver on a continuous sample stream (used by burst_rx).

    ``feed(samples)`` returns a list of (meta dict, payload ndarray) for each message burst whose header
    passed its CRC and field checks and whose link association is known (``association``: the link's
    association if known beforehand, else learnt from the first association burst). Counters:
    ``n_triggers``, ``n_header_fail``, ``n_bursts`` (messages out), ``n_associations``, ``n_no_association``.
    """

    def __init__(self, frame, threshold=TRIGGER_THRESHOLDS[pf.PREAMBLE_LONG], samp_rate=1.0, calibration=None,
                 ltf_threshold=0.2, blas_threads=1, association=None):
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
        self.n_associations = self.n_no_association = 0
        self.assoc = association
        # header symbols' distance from the channel estimate's phase reference, the LTF's centre
        self.hdr_pos = body_layout(frame.n_hdr, final=False)[0] + frame.ltf.size / 2.0
        self.seq_ref = association.seq_base if association is not None else 0
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

    @property
    def buffered(self):
        """Samples held in the stream buffer."""
        return self.buf.size

    def resync(self):
        """Drop what is being decoded and continue after the samples already fed (after an exception)."""
        self.pending = None
        self.search = self.base + self.buf.size

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
        # the LTF search: from a crossing on the rising edge (the STF starts up to W later) to one on the falling
        # edge (a weak STF whose plateau stayed under the threshold: it starts up to (stf_reps - SC window) periods
        # earlier, 6 L for the default frame; 3 L missed such a burst at 0 dB)
        s_lo, s_hi = dc - max(3 * f.L, f.n_stf * f.sps - f.W + 2 * f.L), dc + f.W + 2 * f.L
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
                # one gain for the header stage (LTF + the header's pilots): per-block tracking on 2 pilots per block is
                # noise at 0 dB; the residual CFO's phase slope is left to the header decoder's hypotheses
                r = f.demodulate(mfa, S, f.n_hdr, final=False, smooth=1 << 20)
                hdr = H.Header.decode(r["z"], r["noise_var"], self.seq_ref, self.hdr_pos, f.coding)
            except (ValueError, IndexError, np.linalg.LinAlgError):
                hdr = None
        if hdr is None:
            if acq is not None:
                self.n_header_fail += 1
            self.search = dc + 2 * f.L
            return True
        assoc = self.assoc
        if hdr.kind == H.Kind.ASSOCIATION:
            n_pay = H.ASSOC_USES
        elif assoc is None:                      # no association yet: the payload's size is unknown
            self.n_no_association += 1
            self.search = dc + 2 * f.L
            return True
        else:
            n_pay = self._message_uses(hdr, assoc)
        if n_pay is None:
            self.n_header_fail += 1
            self.search = dc + 2 * f.L
            return True
        segs = [(hdr, n_pay)]
        # several messages in one burst: their headers follow the first one; each is decoded with the ones before
        # it as known symbols (gain and phase tracked up to it)
        while segs[-1][0].more and len(segs) < H.MAX_MESSAGES:
            j = len(segs)
            b2 = b + (body_layout((j + 1) * f.n_hdr, final=False)[2] - body_layout(f.n_hdr, final=False)[2]) * f.sps
            if end < b2:                         # wait for the samples (the search restarts at this trigger)
                self.n_triggers -= 1
                self.search = start + i0 * f.sps
                return False
            try:
                seg3 = self._seg(a, b2).astype(np.complex128) * np.exp(-2j * np.pi * eps * np.arange(b2 - a))
                known = np.concatenate([h.symbols(f.coding) for h, _ in segs])
                r = f.demodulate(f.matched_filter(seg3, frac), S, (j + 1) * f.n_hdr, final=False, known=known,
                                 smooth=LATER_SMOOTH)
                nxt = H.Header.decode(r["z"][j * f.n_hdr:], r["noise_var"][j * f.n_hdr:], segs[-1][0].seq,
                                      LATER_POS[:f.n_hdr], f.coding)
            except (ValueError, IndexError, np.linalg.LinAlgError):
                nxt = None
            n_pay = None if nxt is None or nxt.kind == H.Kind.ASSOCIATION else self._message_uses(nxt, assoc)
            if n_pay is None or sum(f.n_hdr + p for _, p in segs) + f.n_hdr + n_pay > MAX_PAYLOAD_SYMBOLS:
                self.n_header_fail += 1          # without this header the burst's layout is unknown: all lost
                self.search = dc + 2 * f.L
                return True
            segs.append((nxt, n_pay))
        S_abs = a + S
        self.pending = (S_abs, eps, segs, frac, assoc)
        self.search = S_abs
        return True

    def _message_uses(self, hdr, assoc):
        """Tag block + payload symbols of a message, or None if too long."""
        if hdr.kind == H.Kind.DIGITAL:
            n_pay = self.f.n_tag + self.f.digital_n_symbols(hdr.length, assoc.modulation, assoc.fec,
                                                            assoc.payload_crc)
        else:
            n_pay = self.f.n_tag + hdr.length * assoc.uses_per_token
        return n_pay if n_pay <= MAX_PAYLOAD_SYMBOLS else None

    def _demodulate(self, S_abs, eps, frac, n_data, final, known, smooth=None):
        """The burst at S_abs with ``n_data`` body data symbols (timing refined on the known headers)."""
        f = self.f
        a = S_abs - f.rrc.size
        seg = self._seg(a, S_abs + f.burst_samples(0, n_data) + 2 * f.rrc.size + 4 * f.sps).astype(np.complex128)
        seg *= np.exp(-2j * np.pi * eps * np.arange(seg.size))
        frac = f.refine_timing(seg, f.rrc.size, frac, ls=f.known_ls(known))
        mfa = f.matched_filter(seg, frac)
        return f.demodulate(mfa, f.rrc.size, n_data, final=final, known=known, smooth=smooth), frac

    def _finish(self, out, end):
        f = self.f
        S_abs, eps, segs, frac, assoc = self.pending
        # timing again, now with the decoded headers as a long known sequence
        known = np.concatenate([h.symbols(f.coding) for h, _ in segs])
        n_data = sum(f.n_hdr + p for _, p in segs)
        if end < S_abs + f.burst_samples(0, n_data) + 2 * f.rrc.size + 4 * f.sps:
            return False
        r, frac = self._demodulate(S_abs, eps, frac, n_data, True, known)
        self.pending = None
        self.search = S_abs + f.burst_samples(0, n_data) - f.rrc.size
        hdr = segs[0][0]
        if hdr.kind == H.Kind.ASSOCIATION:
            z, nv = r["z"][f.n_hdr:n_data], r["noise_var"][f.n_hdr:n_data]
            new = H.LinkAssociation.decode(z, nv)
            if new is None:  # once more with one gain for the burst (the tracked gains are noise at low SNR)
                r = self._demodulate(S_abs, eps, frac, n_data, True, known, smooth=1 << 20)[0]
                z, nv = r["z"][f.n_hdr:n_data], r["noise_var"][f.n_hdr:n_data]
                pos = np.arange(z.size) - z.size / 2.0
                for slope in H.SLOPE_HYPOTHESES:   # and the residual CFO's phase slope, as for headers
                    new = H.LinkAssociation.decode(z * np.exp(-1j * slope * pos), nv)
                    if new is not None:
                        break
            if new is None:
                self.n_header_fail += 1
            else:
                self.assoc, self.seq_ref = new, new.seq_base
                self.n_associations += 1
            return True
        o = len(segs) * f.n_hdr                  # the headers, then each message's tag block and payload
        for hdr, n_pay in segs:
            self.seq_ref = hdr.seq
            a, b = o, o + n_pay
            z, nv = r["z"][a:b], r["noise_var"][a:b]
            tag = f.coding.decode_tag(z[:f.n_tag], nv[:f.n_tag])
            out.append(self._make_output(hdr, assoc, tag, r, z[f.n_tag:], nv[f.n_tag:], S_abs + frac, eps,
                                         a + f.n_tag))
            self.n_bursts += 1
            o = b
        return True

    def _make_output(self, hdr, assoc, tag, r, z, nv, S_abs, eps, raw_start):
        f = self.f
        snr_raw = 10 * np.log10(max(r["snr_lin"], 1e-6))
        snr = self.cal.correct(snr_raw) if self.cal is not None else snr_raw
        cfo = eps + (r["d3"] + r["om"] / (2 * np.pi)) / f.sps
        meta = pf.message_meta(hdr, assoc, tag, z.size)
        meta.update({pf.KEY_SNR_DB: float(snr), pf.KEY_SNR_DB_RAW: float(snr_raw),
                     pf.KEY_CFO: float(cfo), pf.KEY_CFO_HZ: float(cfo * self.samp_rate),
                     pf.KEY_SAMPLE_OFFSET: int(round(S_abs)),
                     pf.KEY_RX_TIME: float(S_abs / self.samp_rate),
                     pf.KEY_HEADER_OK: True})
        self.last_raw = r["yraw"][raw_start:raw_start + z.size]
        if hdr.kind == H.Kind.DIGITAL:
            data, ok = f.digital.decode(z, nv, hdr.length, assoc.modulation, assoc.fec, assoc.payload_crc)
            if ok is not None:                   # without a CRC the message tag is the only check (at the host)
                meta[pf.KEY_CRC_OK] = bool(ok)
            meta[pf.KEY_NOISE_VAR] = nv.astype(np.float32)
            payload = np.frombuffer(data, np.uint8).copy()
        else:
            meta[pf.KEY_NOISE_VAR] = nv.astype(np.float32)
            payload = z.astype(np.complex64)
        return meta, payload


class PreambleReceivers:
    """One streaming ``Receiver`` per preamble (``waveform.PREAMBLES``) over the same samples, sharing the link
    association and the sequence reference (used by burst_rx).

    The long-preamble receiver learns the association (association bursts always use the long preamble) and is
    fed first, so a short-preamble message in the same samples already has it. PDUs come out in the order of
    their bursts, each with ``preamble`` in its metadata. ``frames``: {preamble: Frame}; the other arguments are
    ``Receiver``'s (``threshold`` per preamble from ``waveform.TRIGGER_THRESHOLDS`` unless given)."""

    def __init__(self, frames, thresholds=None, **kw):
        thresholds = {**TRIGGER_THRESHOLDS, **(thresholds or {})}
        order = [pf.PREAMBLE_LONG] + [k for k in frames if k != pf.PREAMBLE_LONG]  # the long one is fed first
        self.receivers = {kind: Receiver(frames[kind], threshold=thresholds[kind], **kw) for kind in order}
        self.long = self.receivers[pf.PREAMBLE_LONG]
        self.last_raw = np.zeros(0, np.complex64)

    def _total(self, name):
        return sum(getattr(r, name) for r in self.receivers.values())

    n_no_association = property(lambda self: self._total("n_no_association"))
    n_header_fail = property(lambda self: self._total("n_header_fail"))
    n_triggers = property(lambda self: self._total("n_triggers"))
    n_bursts = property(lambda self: self._total("n_bursts"))
    n_associations = property(lambda self: self.long.n_associations)
    cal = property(lambda self: self.long.cal)

    def feed(self, samples):
        out = []
        for kind, rx in self.receivers.items():   # the long one first: it learns the association
            if rx is not self.long and rx.assoc is not self.long.assoc:
                rx.assoc, rx.seq_ref = self.long.assoc, self.long.seq_ref
            got = rx.feed(samples)
            for meta, _ in got:
                meta[pf.KEY_PREAMBLE] = kind
            if got:
                self.last_raw = rx.last_raw
                for other in self.receivers.values():   # the newest message sets every receiver's reference
                    if other is not rx:
                        other.seq_ref = rx.seq_ref
            out += got
        return sorted(out, key=lambda mp: mp[0][pf.KEY_SAMPLE_OFFSET])

    @property
    def buffered(self):
        return max(rx.buffered for rx in self.receivers.values())

    def resync(self):
        for rx in self.receivers.values():
            rx.resync()
