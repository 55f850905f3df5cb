#
# Copyright 2026 LGM-TSC developers.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Synchronisation and equalisation: the receiver's signal-processing steps on one burst.

Schmidl-Cox detection on the STF (lag one STF period, one value per symbol after a short polyphase RRC), LTF
search (non-coherent chunks) with CFO refinement, fractional timing from the asymmetry of the LTF channel taps
(again with the decoded header as a longer known sequence), matched filter, least-squares channel estimate on
top of the known pulse ISI, MMSE FIR equaliser, pilot (and header) gain/phase tracking with a smoothing length
chosen by cross-validation, and the noise variance per symbol from the known symbols' residuals.
"""

import numpy as np
from scipy.signal import upfirdn

from .waveform import DET_SYMBOLS, PILOT_BLOCK, PILOT_SEQ, body_layout


class Synchroniser:
    """RX steps; mixed into ``frame.Frame`` with ``waveform.Waveform`` (uses its pulse, preamble and sizes)."""

    def _init_sync(self, channel_taps=5):
        # detection filter: the central DET_SYMBOLS symbols of the RRC, as polyphase rows
        c = (self.rrc.size - 1) // 2
        hd = self.rrc[c - (DET_SYMBOLS * self.sps) // 2:][:DET_SYMBOLS * self.sps]
        self._det_taps = hd.reshape(DET_SYMBOLS, self.sps).astype(np.float32)
        self.sc_delay = (DET_SYMBOLS - 1) * self.sps - (DET_SYMBOLS * self.sps - 1) // 2
        self._rrc_f = {}
        self.ltf_chunks = max(d for d in (1, 2, 3, 6) if self.ltf.size % d == 0)
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
        self._init_timing_sensitivity()

    def sc_metric(self, x):
        """Schmidl-Cox metric on x after a decimating matched filter (central RRC), at two sampling phases half a
        symbol apart whose correlations and energies are summed (one phase alone loses up to half a symbol of
        timing: at Es/N0 0 dB its plateau fell below the threshold in 7 of 10^4 bursts, the two-phase one in none
        of 3000, and it crosses the threshold on noise 40 % less often).

        Returns (M, P) at positions j*sps, j = 0..(len(x) - sps/2 - W - L)//sps - 1 (lag L, window W);
        position j*sps refers to the sample (j*sps - sc_delay) of x (its first phase)."""
        s = self.sps
        h = s // 2
        Ld, Wd = self.L // s, self.W // s
        nd = (x.size - h) // s
        n = nd - Wd - Ld
        if n <= 0:
            return np.zeros(0), np.zeros(0, complex)
        X = np.stack([x[:nd * s].reshape(nd, s), x[h:h + nd * s].reshape(nd, s)], 1)   # [nd, phase, s]
        g = self._det_taps
        K = g.shape[0]
        f = X @ g[K - 1]
        for m in range(K - 1):                     # polyphase FIR, one output per symbol and phase
            k = K - 1 - m
            f[k:] += X[:nd - k] @ g[m]
        p = np.sum(np.conj(f[:-Ld]) * f[Ld:], axis=1).astype(np.complex128)
        e = np.sum(f.real ** 2 + f.imag ** 2, axis=1).astype(np.float64)
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
            # non-coherent over ltf_chunks pieces: tolerant to the coarse CFO's residual
            Y = mfa[cand[:, None] + offs[None, :]]
            c = (Y * cltf).reshape(cand.size, self.ltf_chunks, -1).sum(2)
            en = np.sum(Y.real ** 2 + Y.imag ** 2, axis=1) * (self.ltf.size / self.ltf_chunks)
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
        # CFO refined over the STF with lags 2L then 4L (the coarse estimate's error reaches 0.0035 cycles/sample
        # at 0 dB, near lag 4L's ambiguity of 1/(8L) = 0.0039)
        d_eps = self._stf_cfo(mfa, S)
        # The non-coherent chunks leave the Zadoff-Chu's delay-Doppler ambiguity: under a residual CFO of one
        # bin (1/ltf_n cycles/symbol) its correlation peaks 1/root (mod ltf_n) symbols away (5 for root 25), and
        # at Es/N0 0 dB with the coarse CFO's error that peak won in 1 % of triggers. With the refined CFO
        # removed, the correlation over each LTF half is coherent, and that one peaks only at the true start.
        r = 8 * sps
        cand = np.arange(max(0, S - r), min(last, S + r) + 1)
        if cand.size >= 3:
            nh = 2 if self.ltf.size % 2 == 0 else 1
            idx = cand[:, None] + offs[None, :]
            Y = mfa[idx] * np.exp(-2j * np.pi * d_eps * idx)
            c = (Y * cltf).reshape(cand.size, nh, -1).sum(2)
            en = np.sum(Y.real ** 2 + Y.imag ** 2, axis=1) * (self.ltf.size / nh)
            rho = np.sum(c.real ** 2 + c.imag ** 2, axis=1) / np.maximum(en, 1e-30)
            i = int(np.argmax(rho))
            if cand[i] != S:
                S = int(cand[i])
                d_eps = self._stf_cfo(mfa, S)
        # fractional timing: parabola through the correlation magnitude around the peak
        frac = 0.0
        if 0 < i < rho.size - 1:
            a0, a1, a2 = np.sqrt(rho[i - 1:i + 2])
            den = a0 - 2 * a1 + a2
            if den < 0:
                frac = float(np.clip(0.5 * (a0 - a2) / den, -0.5, 0.5))
        return S, d_eps, float(rho[i]), frac

    def _stf_cfo(self, mfa, S):
        """Residual CFO (cycles/sample) over the STF of a burst at S in the matched-filter output mfa."""
        sps = self.sps
        a, b = S + self.span * sps, S + (self.n_stf - self.span) * sps
        v = mfa[max(a, 0):max(b, 0)]
        d = 0.0
        for lag in (2 * self.L, 4 * self.L):
            if v.size <= lag:
                break
            w = np.vdot(v[:-lag], v[lag:]) * np.exp(-2j * np.pi * d * lag)
            d += np.angle(w) / (2 * np.pi * lag)
        return float(d)

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

    def known_ls(self, known):
        """LS operator over the LTF and the known first body data symbols (the decoded header):
        (rows, pinv, regressor)."""
        dpos, ppos, nb = body_layout(known.size, final=False)
        body = np.zeros(nb, complex)
        body[dpos] = known
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
        d3 = np.angle(np.vdot(yl[:-self.ltf_n], yl[self.ltf_n:])) / (2 * np.pi * self.ltf_n)
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
        # gain tracking per 32-symbol block from known symbols: the LTF (positions -nl..-1 of the body), the
        # pilots and the header once decoded. The LTF anchors short bodies (a robust header alone has 8 pilots).
        nl = self.ltf.size
        z = zall[self.n_pre - nl:self.n_pre + blen]          # z[nl + k] = body symbol k
        pv = PILOT_SEQ[np.arange(ppos.size) % PILOT_SEQ.size]
        kpos = np.concatenate([np.arange(-nl, 0), ppos])
        kval = np.concatenate([self.ltf, pv])
        if known is not None:
            kpos = np.concatenate([kpos, dpos[:known.size]])
            kval = np.concatenate([kval, known])
        # per block the least-squares gain sum(z k*) / sum(|k|^2): known symbols of unequal energy (a 16-QAM header)
        # count by their energy; ``cnt`` is the block's known energy (its count for unit-energy symbols)
        energy = np.abs(kval) ** 2
        prod = z[kpos + nl] * np.conj(kval)
        off = -(-nl // PILOT_BLOCK) * PILOT_BLOCK
        blk = (kpos + off) // PILOT_BLOCK
        nbk = int(blk.max()) + 1
        cnt = np.bincount(blk, energy, nbk)
        use = cnt > 1e-9
        cnt = cnt[use]
        gb = (np.bincount(blk, prod.real, nbk) + 1j * np.bincount(blk, prod.imag, nbk))[use] / cnt
        cb = np.bincount(blk, kpos * energy, nbk)[use] / cnt
        npb = gb.size
        n = np.arange(-nl, blen)
        om = 0.0
        for lag in (1, 4, 16, 64, 256):   # residual frequency, hierarchically (long bodies only: the LTF's
            if npb < max(lag + 2, 12):    # fine CFO is better than a few noisy pilot blocks)
                break
            gr_ = gb * np.exp(-1j * om * cb)
            dc = cb[lag:] - cb[:-lag]
            om += np.angle(np.sum(gr_[lag:] * np.conj(gr_[:-lag]))) / float(np.mean(dc))
        z = z * np.exp(-1j * om * n)
        gb = gb * np.exp(-1j * om * cb)
        gs, neff = gb, cnt
        static = npb < 3                     # the fit found no change of the gain over the burst
        if smooth and smooth >= 2 * npb:     # one gain for the whole span (the header stage)
            gs = np.full(npb, np.sum(gb * cnt) / np.sum(cnt))
            neff = np.full(npb, np.sum(cnt))
            static = True
        elif npb >= 3:
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
            static = best is fits[-1]
        g = np.interp(n, cb, gs.real) + 1j * np.interp(n, cb, gs.imag)
        neff_n = np.interp(n, cb, neff)
        g2 = np.maximum(np.abs(g) ** 2, 1e-12)
        # noise after equalisation and tracking from the known symbols' residuals
        e = z[kpos + nl] - g[kpos + nl] * kval
        sv2 = float(np.mean(np.abs(e) ** 2)) / max(1e-3, 1.0 - float(np.mean(1.0 / neff_n[kpos + nl])))
        zc = z[dpos + nl] / g[dpos + nl]
        nv = np.maximum(sv2 / g2[dpos + nl] * (1.0 + 1.0 / neff_n[dpos + nl]), 1e-7)
        snr = float(np.mean(g2[nl:])) / max(sv2, 1e-7)
        if static:
            # a static channel: the SNR from one gain fitted to all known symbols (the data-aided ML estimate;
            # the tracked gains' scatter would add to it), unbiased for the fitted gain's noise
            # the STF is known too (its first symbols, inside the equaliser's start-up, are left out)
            i_stf = np.arange(2 * self.eq_half, self.n_stf)
            zk = np.concatenate([zall[i_stf] * np.exp(-1j * om * (i_stf - self.n_pre)), z[kpos + nl]])
            kv = np.concatenate([self.stf[i_stf], kval])
            nk = float(np.sum(np.abs(kv) ** 2))
            g1 = np.vdot(kv, zk) / nk
            s1 = float(np.sum(np.abs(zk - g1 * kv) ** 2)) / max(1, kv.size - 1)
            snr = max(float(abs(g1) ** 2) - s1 / nk, 1e-7) / max(s1, 1e-7)
        yraw = y[self.n_pre + dpos] / (h[self.D] if abs(h[self.D]) > 0 else 1.0)
        return dict(z=zc, yraw=yraw, noise_var=nv, snr_lin=snr, sv2=sv2, h=h, beta=beta,
                    d3=d3, om=float(om), sigma2=sigma2)

