"""Binary arithmetic coding with integer frequency tables (Witten, Neal and Cleary 1987, 32-bit state).

Both ends see the same integer cumulative frequencies, so they agree bit for bit; a table's total must stay
below ``MAX_TOTAL`` and every codable symbol needs a frequency >= 1. The decoder reads zero bits past the end of
its input (a few dozen such bits are normal; many more mean corrupt input, see ``overrun_bits``).
"""

from __future__ import annotations

import numpy as np

STATE_BITS = 32
_TOP = (1 << STATE_BITS) - 1
_HALF = 1 << (STATE_BITS - 1)
_QUARTER = 1 << (STATE_BITS - 2)
MAX_TOTAL = _QUARTER  # every symbol of frequency >= 1 keeps a non-empty interval


def cumulative(freq: np.ndarray) -> np.ndarray:
    """Cumulative table ``cum`` (int64, exact): symbol ``s`` owns ``[cum[s] - freq[s], cum[s])``."""
    cum = np.cumsum(freq, dtype=np.int64)
    if cum[-1] >= MAX_TOTAL or freq.min() < 1:
        raise ValueError(f"frequency table total {cum[-1]} >= {MAX_TOTAL} or a zero frequency")
    return cum


class ArithmeticEncoder:
    def __init__(self):
        self.low, self.high, self.pending = 0, _TOP, 0
        self.bits: list[int] = []

    def encode(self, cum: np.ndarray, symbol: int) -> None:
        """Code ``symbol`` with the cumulative table ``cum`` (from :func:`cumulative`)."""
        lo = int(cum[symbol - 1]) if symbol else 0
        self._narrow(lo, int(cum[symbol]), int(cum[-1]))

    def _narrow(self, lo: int, hi: int, total: int) -> None:
        span = self.high - self.low + 1
        self.high = self.low + span * hi // total - 1
        self.low = self.low + span * lo // total
        while True:
            if self.high < _HALF:
                self._emit(0)
            elif self.low >= _HALF:
                self._emit(1)
                self.low -= _HALF
                self.high -= _HALF
            elif self.low >= _QUARTER and self.high < _HALF + _QUARTER:
                self.pending += 1
                self.low -= _QUARTER
                self.high -= _QUARTER
            else:
                break
            self.low <<= 1
            self.high = (self.high << 1) | 1

    def _emit(self, bit: int) -> None:
        self.bits.append(bit)
        self.bits.extend([1 - bit] * self.pending)
        self.pending = 0

    def finish(self) -> bytes:
        """The coded bytes: the fewest further bits that, followed by the zeros the decoder reads past the end,
        land in the final interval (1 to 2 bits, plus the pending ones; the classic ending always spent 2)."""
        for k in range(1, STATE_BITS + 1):
            unit = 1 << (STATE_BITS - k)
            v = -(-self.low // unit) * unit  # the smallest multiple of 2**(32-k) >= low
            if v <= self.high:
                break
        for i in range(k):
            bit = (v >> (STATE_BITS - 1 - i)) & 1
            if i == 0:
                self._emit(bit)  # resolves the pending bits
            else:
                self.bits.append(bit)
        return np.packbits(np.asarray(self.bits, dtype=np.uint8)).tobytes()


class ArithmeticDecoder:
    def __init__(self, data: bytes):
        self._bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8)).tolist()
        self._pos = 0
        self.low, self.high = 0, _TOP
        self.value = 0
        for _ in range(STATE_BITS):
            self.value = (self.value << 1) | self._next_bit()

    def _next_bit(self) -> int:
        bit = self._bits[self._pos] if self._pos < len(self._bits) else 0
        self._pos += 1
        return bit

    def decode(self, cum: np.ndarray) -> int:
        """The symbol coded with the cumulative table ``cum``."""
        total = int(cum[-1])
        span = self.high - self.low + 1
        target = ((self.value - self.low + 1) * total - 1) // span
        symbol = int(np.searchsorted(cum, target, side="right"))
        if symbol >= len(cum):  # only reachable from corrupt input
            symbol = len(cum) - 1
        lo = int(cum[symbol - 1]) if symbol else 0
        self._narrow(lo, int(cum[symbol]), total)
        return symbol

    def _narrow(self, lo: int, hi: int, total: int) -> None:
        span = self.high - self.low + 1
        self.high = self.low + span * hi // total - 1
        self.low = self.low + span * lo // total
        while True:
            if self.high < _HALF:
                pass
            elif self.low >= _HALF:
                self.low -= _HALF
                self.high -= _HALF
                self.value -= _HALF
            elif self.low >= _QUARTER and self.high < _HALF + _QUARTER:
                self.low -= _QUARTER
                self.high -= _QUARTER
                self.value -= _QUARTER
            else:
                break
            self.low <<= 1
            self.high = (self.high << 1) | 1
            self.value = (self.value << 1) | self._next_bit()

    @property
    def overrun_bits(self) -> int:
        """How many bits past the end of the input the decoder has read (large values mean corrupt input)."""
        return max(0, self._pos - len(self._bits))
