"""Articulation tracks from phoneme timings: jaw, lip gap, rounding, spreading, closure, labiodental, tongue.

Each phoneme has a target per articulation parameter and a dominance (how strongly it imposes that target on
its neighbours). The track of a parameter is the dominance-weighted mean of the targets (Cohen & Massaro's
coarticulation model): a segment's dominance is full inside it and decays exponentially outside, faster after
it (carry-over) than before it (anticipation), so the lips start moving towards a sound before it is heard,
and every target is reached ``ReconstructConfig.articulation_lead_s`` before its sound.
Bilabials (p, b, m) are then forced shut at their centre, whatever their neighbours want. Tracks are computed
at 100 Hz on the absolute time of the utterance and sampled at the frame times; a chunk of a longer message
continues from the articulation state at the end of the previous chunk (``start``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import ReconstructConfig
from .phonemes import PAUSE_S, PhonemeTiming

PARAMS = ("jaw", "gap", "round", "spread", "closure", "labiodental", "tongue")

# targets (jaw 0..1, inner-lip gap 0..1, round, spread, closure, labiodental, tongue) and dominance
_REST = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
_T: dict[str, tuple[tuple[float, ...], float]] = {}


def _set(symbols: str, target: tuple[float, ...], dominance: float) -> None:
    for c in symbols:
        _T[c] = (target, dominance)


#                 jaw   gap  round spread clos  labio tongue
_set("aɑæɐ",    (0.95, 1.00, 0.00, 0.20, 0.0, 0.0, 0.0), 1.0)
_set("A",       (0.70, 0.75, 0.00, 0.45, 0.0, 0.0, 0.0), 1.0)  # eɪ (mid onset, spread offset)
_set("I",       (0.95, 1.00, 0.00, 0.30, 0.0, 0.0, 0.0), 1.0)  # aɪ: its onset is the open /a/
_set("W",       (0.80, 0.85, 0.40, 0.00, 0.0, 0.0, 0.0), 1.0)  # aʊ
_set("ɛʌɜ",     (0.60, 0.70, 0.00, 0.25, 0.0, 0.0, 0.0), 1.0)
_set("ɔɒY",     (0.70, 0.75, 0.55, 0.00, 0.0, 0.0, 0.0), 1.0)
_set("əᵊeɚ",    (0.40, 0.45, 0.00, 0.10, 0.0, 0.0, 0.0), 0.7)
_set("Oo",      (0.45, 0.50, 0.85, 0.00, 0.0, 0.0, 0.0), 1.0)
_set("ɪi",      (0.25, 0.30, 0.00, 0.80, 0.0, 0.0, 0.0), 0.9)
_set("ʊuQ",     (0.25, 0.25, 1.00, 0.00, 0.0, 0.0, 0.0), 1.0)
_set("pbm",     (0.12, 0.00, 0.00, 0.00, 1.0, 0.0, 0.0), 1.2)
_set("fv",      (0.12, 0.06, 0.00, 0.10, 0.0, 1.0, 0.0), 1.1)
_set("θð",      (0.22, 0.18, 0.00, 0.20, 0.0, 0.0, 1.0), 1.0)
_set("l",       (0.30, 0.30, 0.00, 0.10, 0.0, 0.0, 0.6), 0.6)
_set("tdnɾ",    (0.18, 0.18, 0.00, 0.15, 0.0, 0.0, 0.2), 0.5)
_set("sz",      (0.08, 0.12, 0.00, 0.45, 0.0, 0.0, 0.0), 0.8)
_set("ʃʒʧʤ",    (0.12, 0.18, 0.65, 0.00, 0.0, 0.0, 0.0), 0.9)
_set("kɡŋhx",   (0.30, 0.30, 0.00, 0.00, 0.0, 0.0, 0.0), 0.25)
_set("w",       (0.10, 0.10, 1.00, 0.00, 0.0, 0.0, 0.0), 1.1)
_set("ɹ",       (0.20, 0.22, 0.50, 0.00, 0.0, 0.0, 0.0), 0.8)
_set("j",       (0.18, 0.20, 0.00, 0.50, 0.0, 0.0, 0.0), 0.6)
OPEN_VOWELS = set("aɑæɐAIWɛʌɜɔɒY")
BILABIALS = set("pbm")
_DEFAULT = ((0.3, 0.3, 0.1, 0.1, 0.0, 0.0, 0.0), 0.4)
REST_DOMINANCE = 0.8  # silence pulls the mouth shut
# dominance decay constants before a segment (anticipation) and after it (carry-over). 50/35 ms made up for the
# estimated timings' short vowels; with Kokoro's own timings (long vowels, short consonants) the vowels overshot
# the real talkers' articulation spread (brbk7n 1.36, lbax4n and pwij3p as below), and the 70/45 ms chosen first
# are back (brbk7n 1.36 -> 1.16, lbax4n 0.92 -> 0.80, pwij3p 0.89 -> 0.73; lip-sync 4-5 ms nearer the real clips)
ANTICIPATION_S = 0.07
CARRYOVER_S = 0.045
LEAD_S = ReconstructConfig.articulation_lead_s  # the default lead (one definition: the typed configuration)
HOP = 0.01


def target(symbol: str) -> tuple[tuple[float, ...], float]:
    if symbol in PAUSE_S:
        return _REST, REST_DOMINANCE
    return _T.get(symbol, _DEFAULT)


@dataclass
class ArticulationState:
    """Where the articulators are at the end of a rendered chunk, so the next chunk starts from there."""

    values: np.ndarray = field(default_factory=lambda: np.zeros(len(PARAMS)))
    time_s: float = 0.0  # absolute time (s) of the end of the chunk within the conversation


def segments(timings: list[PhonemeTiming], duration_s: float) -> list[tuple[str, float, float]]:
    """Phoneme segments with the silences around and between them made explicit (as ' ')."""
    out: list[tuple[str, float, float]] = []
    t = 0.0
    for p in timings:
        if p.start > t + 0.03:
            out.append((" ", t, p.start))
        out.append((p.symbol, p.start, max(p.end, p.start + 0.01)))
        t = max(t, p.end)
    if duration_s > t + 0.03:
        out.append((" ", t, duration_s))
    return out


def tracks(timings: list[PhonemeTiming], duration_s: float, times: np.ndarray,
           start: ArticulationState | None = None, lead_s: float = LEAD_S) -> dict[str, np.ndarray]:
    """Per-time (``times``, s from the start of this speech) values of every parameter in :data:`PARAMS`;
    every target is reached ``lead_s`` before its sound."""
    grid = np.arange(0.0, duration_s + 0.2, HOP)
    segs = [(s, a - lead_s, b - lead_s) for s, a, b in segments(timings, duration_s)]
    if not segs:
        segs = [(" ", 0.0, duration_s)]
    num = np.zeros((len(PARAMS), grid.size))
    den = np.full(grid.size, 1e-6)
    for sym, a, b in segs:
        tgt, dom = target(sym)
        before = np.clip(a - grid, 0, None)
        after = np.clip(grid - b, 0, None)
        d = dom * np.exp(-before / ANTICIPATION_S - after / CARRYOVER_S)
        num += np.asarray(tgt)[:, None] * d
        den += d
    val = num / den
    if start is not None:  # the previous chunk's state dominates the first ~100 ms
        d = 2.0 * np.exp(-grid / 0.06)
        val = (val * den + np.asarray(start.values)[:, None] * d) / (den + d)
    ic, ig = PARAMS.index("closure"), PARAMS.index("gap")
    for sym, a, b in segs:  # bilabials shut completely for the middle of their segment
        if sym in BILABIALS:
            c = 0.5 * (a + b)
            half = max(0.3 * (b - a), 0.03)  # shut from just before the (led) centre until the sound's own centre
            lo, hi = c - half, c + lead_s + half
            shape = np.interp(grid, [lo - 0.04, lo, hi, hi + 0.04], [0, 1, 1, 0], 0, 0)
            val[ic] = np.maximum(val[ic], shape)
    val[ig] *= 1.0 - np.clip(val[ic], 0, 1)
    return {k: np.interp(times, grid, val[i]) for i, k in enumerate(PARAMS)}


def state_at(tr: dict[str, np.ndarray], i: int, time_s: float) -> ArticulationState:
    return ArticulationState(np.array([tr[k][i] for k in PARAMS]), time_s)
