"""Metrics of the reconstruction: identity distance (dlib 128-d), lip-sync, speaker similarity, intelligibility."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ModelError
from ..publickb.face import FaceAnalyzer


class IdentityMeter:
    """dlib's 128-d face descriptor (face-recognition-models); distance < 0.6 is dlib's same-person threshold."""

    def __init__(self):
        try:
            import dlib
            import face_recognition_models as frm
        except ImportError as e:
            raise ModelError(f"the identity metric needs dlib ({e})",
                             hint="pip install dlib-bin==20.0.1.post1 face-recognition-models==0.3.0 "
                                  "-c requirements/constraints.txt") from None
        self.detector = dlib.get_frontal_face_detector()
        self.shape = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        self.net = dlib.face_recognition_model_v1(frm.face_recognition_model_location())

    def descriptor(self, rgb: np.ndarray) -> np.ndarray | None:
        img = np.ascontiguousarray(rgb)
        dets = self.detector(img, 1 if min(img.shape[:2]) < 400 else 0)
        if not dets:
            return None
        d = max(dets, key=lambda r: r.width() * r.height())
        return np.asarray(self.net.compute_face_descriptor(img, self.shape(img, d)), np.float32)

    def distance(self, ref: np.ndarray, rgb: np.ndarray) -> float:
        """Euclidean descriptor distance (inf when no face is found in ``rgb``)."""
        d = self.descriptor(rgb)
        return float(np.linalg.norm(ref - d)) if d is not None else float("inf")


@dataclass
class LipSync:
    correlation: float  # Pearson correlation of mouth opening and audio envelope at zero lag
    best_correlation: float
    offset_ms: float  # lag of the best correlation; positive = mouth after sound
    opening: np.ndarray
    envelope: np.ndarray


def frame_envelope(audio: np.ndarray, sr: int, fps: int, n: int) -> np.ndarray:
    """RMS of the audio within each video frame period."""
    hop = sr / fps
    out = np.zeros(n)
    for i in range(n):
        seg = audio[int(i * hop):int((i + 1) * hop)]
        out[i] = np.sqrt(np.mean(seg**2)) if seg.size else 0.0
    return out


def lip_sync(frames: list[np.ndarray], audio: np.ndarray, sr: int, fps: int, analyzer: FaceAnalyzer,
             max_lag: int = 5) -> LipSync:
    """Mouth opening measured by face mesh on each rendered frame against the audio envelope."""
    opening = np.array([(f.mouth_opening() if (f := analyzer.largest(fr)) else np.nan) for fr in frames])
    if np.isnan(opening).any():
        good = ~np.isnan(opening)
        opening = (np.interp(np.arange(opening.size), np.flatnonzero(good), opening[good]) if good.any()
                   else np.zeros(opening.size))
    env = frame_envelope(audio, sr, fps, len(frames))

    def corr(lag: int) -> float:
        a, b = (opening[lag:], env[:env.size - lag]) if lag >= 0 else (opening[:lag], env[-lag:])
        if a.size < 3 or a.std() < 1e-9 or b.std() < 1e-9:
            return 0.0
        return float(np.corrcoef(a, b)[0, 1])

    lags = list(range(-max_lag, max_lag + 1))
    cs = [corr(k) for k in lags]
    k = int(np.argmax(cs))
    return LipSync(corr(0), cs[k], 1000.0 * lags[k] / fps, opening, env)


# ---- articulation, measured with the face mesh on real and reconstructed frames alike

def mouth_openings(frames, analyzer: FaceAnalyzer) -> np.ndarray:
    """Inner-lip gap / mouth width per frame (face mesh); frames without a face are interpolated."""
    op = np.array([(f.mouth_opening() if (f := analyzer.largest(fr)) else np.nan) for fr in frames])
    good = ~np.isnan(op)
    if not good.all():
        op = np.interp(np.arange(op.size), np.flatnonzero(good), op[good]) if good.any() else np.zeros(op.size)
    return op


def articulation_spread(opening: np.ndarray) -> float:
    """95th minus 5th percentile of the mouth opening."""
    return float(np.percentile(opening, 95) - np.percentile(opening, 5))


CLOSURE_SEARCH_S = 0.02  # how far around a bilabial's timing its acoustic closure is looked for


def band_envelope(audio: np.ndarray, sr: int, lo: float = 500.0, hi: float = 4000.0,
                  hop: float = 0.005) -> tuple[np.ndarray, np.ndarray]:
    """(window middles, RMS in ``lo``-``hi`` Hz) of 25 ms Hann windows every ``hop`` s."""
    n, h = int(0.025 * sr), max(1, int(hop * sr))
    x = np.asarray(audio, np.float32)
    if x.size < n:
        return np.zeros(0), np.zeros(0)
    m = 1 + (x.size - n) // h
    fr = x[np.arange(n)[None, :] + h * np.arange(m)[:, None]] * np.hanning(n).astype(np.float32)
    p = np.abs(np.fft.rfft(fr, axis=1)) ** 2
    f = np.fft.rfftfreq(n, 1 / sr)
    return (np.arange(m) * h + n / 2) / sr, np.sqrt(p[:, (f >= lo) & (f <= hi)].sum(1) / n)


def closure_times(timings, audio: np.ndarray | None = None, sr: int = 0) -> list[float]:
    """The moment of each bilabial (p, b, m) in ``timings``: with the audio, the 25 ms of the speech with the least
    power between 0.5 and 4 kHz within ``CLOSURE_SEARCH_S`` of its timing (the lips shut: a stop's silence or
    voice bar, a nasal's murmur, whose power lies below 0.5 kHz while a vowel's formants are above), so the
    moment comes from the sound, not from the timings the animator followed; without the audio, or when the
    least power lies at the window's edge (no dip), the middle of the timing."""
    from .visemes import BILABIALS

    bil = [p for p in timings if p.symbol in BILABIALS]
    if audio is None or not sr or not bil:
        return [0.5 * (p.start + p.end) for p in bil]
    te, env = band_envelope(audio, sr)
    out = []
    for p in bil:
        w = np.flatnonzero((te >= p.start - CLOSURE_SEARCH_S) & (te <= p.end + CLOSURE_SEARCH_S))
        i = int(np.argmin(env[w])) if w.size > 2 else 0
        # a dip inside the window; at its edge the sound only falls on into a neighbour (m before a weak /ð/):
        # no moment of its own, the timing's middle is used
        out.append(float(te[w[i]]) if 0 < i < w.size - 1 else 0.5 * (p.start + p.end))
    return out


def closure_ratio(opening: np.ndarray, timings, fps: int, audio: np.ndarray | None = None,
                  sr: int = 0) -> tuple[float, int]:
    """Opening at the bilabials (p, b, m; at ``closure_times``: read from the audio when it is given, else the
    middle of each timing), as a fraction of the median opening on open vowels; and how many bilabials were
    measured (nan, 0 when the sentence has none)."""
    from .visemes import OPEN_VOWELS

    n = opening.size
    frame_of = lambda t: min(n - 1, max(0, int(t * fps)))  # noqa: E731
    closed = [opening[frame_of(t)] for t in closure_times(timings, audio, sr)]
    vowels = [opening[frame_of(t)] for p in timings if p.symbol in OPEN_VOWELS
              for t in np.arange(p.start, p.end, 1 / fps)]
    if not closed or not vowels:
        return float("nan"), 0
    return float(np.max(closed) / max(np.median(vowels), 1e-6)), len(closed)


SYNC_MAX_MS = 120.0  # plausible offsets: half a syllable period (GRID ~4 syllables/s: neighbours at 250-350 ms)
SYNC_BAND_HZ = (800.0, 2200.0)  # the second formant's region: its envelope follows the lip area (Grant & Seitz
# 2000), while a wideband RMS is loud through shut lips too (the murmur of m/n, the voice bar of b/d/g)
SYNC_WIDE_MS = 400.0  # where a rival alignment (a syllable with its neighbour's sound) is looked for
SYNC_MARGIN_S = 0.0  # silence read around the speech: none; a mouth moving in silence (a breath, lips parting
# before the first word, an open rest) has no sound to be in step with


@dataclass
class SyncOffset:
    """The lip-sync offset of a clip (``sync_offset``): nan when undetermined, with why."""

    offset_ms: float  # positive = mouth after sound; nan when undetermined
    peak: float  # correlation at the chosen lag (inside +-SYNC_MAX_MS)
    rival: float  # the highest peak outside +-SYNC_MAX_MS within +-SYNC_WIDE_MS (nan when none)
    reason: str = ""  # empty when determined

    @property
    def determined(self) -> bool:
        return not self.reason

    @property
    def peak_ratio(self) -> float:
        """Peak over rival (inf when there is no rival): below 1 another syllable alignment fits better."""
        return float(self.peak / self.rival) if self.rival > 0 else float("inf")


def sync_correlation(opening: np.ndarray, audio: np.ndarray, sr: int, fps: int, max_ms: float = SYNC_WIDE_MS,
                     margin_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(lags in ms, Pearson correlation) of the speech envelope (``SYNC_BAND_HZ``) with the mouth opening
    ``lag`` later (5 ms steps). The envelope is read over the speech and ``margin_s`` (``SYNC_MARGIN_S``)
    around it (from the first to the last 25 ms window above 10 % of the wideband envelope's 95th percentile;
    long silences would only flatten the correlation) and stays fixed while the opening is read ``lag`` after
    it."""
    from ..publickb.voice import envelope

    hop = 0.005
    n = int(max_ms / 1000 / hop)
    lags = np.arange(-n, n + 1)
    te, env = band_envelope(audio, sr, *SYNC_BAND_HZ, hop)
    if env.size < 3 or opening.size < 2:
        return lags * hop * 1000, np.zeros(lags.size)
    t = (np.arange(opening.size) + 0.5) / fps
    op = np.interp(te, t, opening)  # the opening at the envelope's rate (held flat beyond the clip's frames)
    wide = envelope(audio, sr, hop)[:env.size]  # the same 25 ms windows, all frequencies: where the speech is
    active = np.flatnonzero(wide > 0.1 * np.percentile(wide, 95))
    m = int((SYNC_MARGIN_S if margin_s is None else margin_s) / hop)
    lo, hi = (max(0, active[0] - m), min(env.size, active[-1] + 1 + m)) if active.size else (0, env.size)
    cs = np.zeros(lags.size)
    for j, k in enumerate(lags):
        a0, a1 = max(lo, -k), min(hi, env.size - k)  # samples of the stretch whose shifted opening exists
        if a1 - a0 < 3:
            continue
        a, b = op[a0 + k:a1 + k], env[a0:a1]
        if a.std() > 1e-9 and b.std() > 1e-9:
            cs[j] = np.corrcoef(a, b)[0, 1]
    return lags * hop * 1000, cs


def sync_offset(opening: np.ndarray, audio: np.ndarray, sr: int, fps: int, max_ms: float = SYNC_MAX_MS,
                wide_ms: float = SYNC_WIDE_MS) -> SyncOffset:
    """The lag (ms, positive = mouth after sound) of the highest peak of ``sync_correlation`` within
    +-``max_ms``, refined between steps by a parabola; undetermined (nan, with the reason) when there is no
    peak inside (only a slope towards the edge), when the peak is not positive, or when a peak outside
    +-``max_ms`` (within +-``wide_ms``) is higher: speech repeats its syllables every 0.2-0.35 s, so the
    correlation has side peaks one syllable away, and when one of them wins the measure cannot tell which
    alignment is the true one. One rule for every clip, real and reconstructed."""
    lags, cs = sync_correlation(opening, audio, sr, fps, wide_ms)
    peak = np.flatnonzero((cs[1:-1] > cs[:-2]) & (cs[1:-1] >= cs[2:])) + 1
    inside = peak[np.abs(lags[peak]) <= max_ms]
    outside = peak[np.abs(lags[peak]) > max_ms]
    rival = float(cs[outside].max()) if outside.size else float("nan")
    if not inside.size:
        return SyncOffset(float("nan"), float(cs[np.abs(lags) <= max_ms].max()), rival,
                          f"no correlation peak within +-{max_ms:.0f} ms")
    i = int(inside[np.argmax(cs[inside])])
    if cs[i] <= 0:
        return SyncOffset(float("nan"), float(cs[i]), rival, "no positive correlation")
    if outside.size and rival > cs[i]:
        return SyncOffset(float("nan"), float(cs[i]), rival,
                          f"a higher peak at {lags[outside[np.argmax(cs[outside])]]:+.0f} ms (another syllable)")
    den = cs[i - 1] - 2 * cs[i] + cs[i + 1]
    frac = 0.5 * (cs[i - 1] - cs[i + 1]) / den if den < 0 else 0.0
    step = lags[1] - lags[0]
    return SyncOffset(float(lags[i] + frac * step), float(cs[i]), rival)


def sync_offset_ms(opening: np.ndarray, audio: np.ndarray, sr: int, fps: int) -> float:
    """``sync_offset(...).offset_ms``: nan when undetermined."""
    return sync_offset(opening, audio, sr, fps).offset_ms


def border_streaks(frame: np.ndarray, tol: float = 0.25, texture: float = 3.0, min_run: int = 3) -> int:
    """The longest run of rows or columns, counted from a frame edge, that repeat that edge line (a replicated
    border: each line equal to the edge line within ``tol`` grey levels on average, while the edge line itself
    varies along its length by more than ``texture``, so the repeats show as streaks); 0 below ``min_run``
    (upscaling repeats a line or two). Natural backgrounds, even smooth ones, change from line to line by more
    than ``tol``."""
    g = frame.astype(np.float32).mean(2) if frame.ndim == 3 else frame.astype(np.float32)
    worst = 0
    for lines in (g, g[::-1], g.T, g.T[::-1]):
        edge = lines[0]
        if edge.std() < texture:  # a flat edge (plain wall): repeating it makes no streaks
            continue
        diff = np.abs(lines[1:] - edge).mean(1)
        run = int(np.argmax(diff > tol)) if (diff > tol).any() else diff.size
        worst = max(worst, run)
    return worst if worst >= min_run else 0
