"""Digital baseline at equal channel uses: text -> UTF-8 -> DEFLATE -> gr-lgmtsc's digital payload coding
(CRC32 + FEC + Gray QPSK/16-QAM, the PHY's own ``frame.Frame.digital_symbols``/``decode_digital``) -> the same
channel as the codec (``channel.transmit``) -> text, lost when the CRC fails.

Equal channel uses: the message gets exactly the budget of the semantic codec (``n_tokens * uses`` complex
symbols). The most robust PHY mode whose symbols fit is used (ladder below); the rest of the budget is filled by
cyclic repetition, combined at the receiver by maximum-ratio combining. If no mode fits, the text is lost.
This is a symbol-level simulation of the PHY's digital mode (no preamble, header or pilots: perfect
synchronisation and CSI, exactly like the semantic codec's simulation).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import torch

from . import channel as ch

# (modulation, fec) from most to least robust; info bits per complex symbol 1, 2, 2, 4
MODE_LADDER = (("qpsk", "cc"), ("16qam", "cc"), ("qpsk", "none"), ("16qam", "none"))


class TextCompressor:
    """Raw DEFLATE (level 9) with a preset dictionary of frequent words of the training split (lossless)."""

    def __init__(self, zdict: bytes = b""):
        self.zdict = zdict[-32768:]

    @classmethod
    def from_texts(cls, texts: list[str], size: int = 32768) -> TextCompressor:
        from collections import Counter

        counts = Counter(w for t in texts for w in t.split())
        words, total = [], 0
        for w, _ in counts.most_common():
            if total + len(w) + 1 > size:
                break
            words.append(w)
            total += len(w) + 1
        return cls(" ".join(reversed(words)).encode("utf-8"))  # most frequent last: shortest distances

    def compress(self, text: str) -> bytes:
        c = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zdict=self.zdict) if self.zdict else \
            zlib.compressobj(9, zlib.DEFLATED, -15, 9)
        return c.compress(text.encode("utf-8")) + c.flush()

    def decompress(self, data: bytes) -> str:
        d = zlib.decompressobj(-15, zdict=self.zdict) if self.zdict else zlib.decompressobj(-15)
        return (d.decompress(data) + d.flush()).decode("utf-8", errors="replace")


@dataclass
class DigitalResult:
    text: str  # "" when lost
    ok: bool
    mode: tuple[str, str] | None
    repetitions: float  # budget / symbols of the chosen mode


class DigitalBaseline:
    """One message at a time through the PHY's digital payload coding at a given channel-use budget."""

    def __init__(self, compressor: TextCompressor):
        from gnuradio.lgmtsc import frame

        self.frame = frame.Frame()
        self.compressor = compressor

    def choose_mode(self, nbytes: int, budget: int) -> tuple[str, str] | None:
        for mod, fec in MODE_LADDER:
            if self.frame.digital_n_symbols(nbytes, mod, fec) <= budget:
                return mod, fec
        return None

    def transmit(self, text: str, budget: int, esn0_db: float, channel: str,
                 generator: torch.Generator | None = None) -> DigitalResult:
        data = self.compressor.compress(text)
        mode = self.choose_mode(len(data), budget)
        if mode is None:
            return DigitalResult("", False, None, 0.0)
        mod, fec = mode
        sym = self.frame.digital_symbols(data, mod, fec)
        n = sym.size
        tx = np.resize(sym, budget)  # cyclic repetition fills the budget exactly
        out = ch.transmit(torch.as_tensor(tx.astype(np.complex64)), esn0_db, channel, generator=generator)
        y, nv = out.symbols.numpy().astype(np.complex128), out.noise_var.numpy().astype(np.float64)
        w = 1.0 / np.maximum(nv, 1e-12)
        idx = np.arange(budget) % n
        wsum = np.bincount(idx, weights=w, minlength=n)
        z = (np.bincount(idx, weights=(w * y.real), minlength=n) + 1j * np.bincount(idx, weights=(w * y.imag),
                                                                                     minlength=n)) / wsum
        header = {"payload_len": len(data), "modulation": mod, "fec": fec}
        raw, ok = self.frame.decode_digital(z, 1.0 / wsum, header)
        if not ok:
            return DigitalResult("", False, mode, budget / n)
        try:
            return DigitalResult(self.compressor.decompress(raw), True, mode, budget / n)
        except zlib.error:
            return DigitalResult("", False, mode, budget / n)
