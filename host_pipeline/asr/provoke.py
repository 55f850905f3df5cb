"""Inputs that provoke a recogniser to hallucinate, made from real speech and synthesis (16 kHz mono float32).

Used by tests/asr/test_robustness.py and benchmarks/asr_robustness.py: music (synthesised chords and a melody),
noise, whispered speech (real speech re-excited with noise through its own vocal-tract filter), far-field speech
(attenuated, reverberated, with room noise), speech in other languages (espeak-ng), long silences inside speech.
Every generator is seeded.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..errors import BackendError
from ..media import SAMPLE_RATE, read_audio

SR = SAMPLE_RATE


def music(seconds: float = 8.0, seed: int = 0) -> np.ndarray:
    """A chord progression (I-V-vi-IV, piano-like harmonics and decay) with a melody on top, 120 bpm."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    beat = 0.5
    root = 261.63 * 2 ** (rng.integers(-3, 4) / 12)  # around middle C
    chords = np.array([[0, 4, 7], [7, 11, 14], [9, 12, 16], [5, 9, 12]])  # semitones of I, V, vi, IV
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12])
    n_beats = int(np.ceil(seconds / beat))
    idx = np.minimum((t // beat).astype(int), n_beats - 1)
    since = t - idx * beat  # time since this beat's onset
    env = np.exp(-since * 4.0) * np.minimum(since / 0.01, 1.0)
    chord = chords[(idx // 4) % 4]  # a chord per bar of 4 beats
    melody = scale[rng.integers(0, scale.size, n_beats)][idx] + 12
    notes = np.concatenate([chord, melody[:, None]], axis=1)  # (samples, 4 voices)
    freqs = root * 2 ** (notes / 12)
    harm = np.arange(1, 7)
    # phase of each voice: the integral of its (stepwise) frequency, so note changes do not click
    phase = 2 * np.pi * np.cumsum(freqs, axis=0) / SR
    out = (np.sin(phase[:, :, None] * harm) / harm ** 1.5).sum(axis=2)
    out = (out * np.array([1, 1, 1, 1.6])).sum(axis=1) * env
    return _level(out, -16.0)


def noise(seconds: float = 6.0, seed: int = 0, color: str = "pink") -> np.ndarray:
    """White, pink (1/f) or brown (1/f^2) noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n, 1 / SR), 20.0)
    spec *= {"white": 1.0, "pink": f ** -0.5, "brown": 1 / f}[color]
    return _level(np.fft.irfft(spec, n), -20.0)


def whispered(speech: np.ndarray, seed: int = 0, order: int = 18) -> np.ndarray:
    """Real speech with its voicing removed: each 25-ms frame's vocal-tract filter (LPC) excited by noise
    instead of the glottal pulses, overlap-added; what a whisper is, acoustically."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    win, hop = 400, 200
    pre = np.append(speech[0], speech[1:] - 0.97 * speech[:-1])  # pre-emphasis, as for any LPC analysis
    n = max(1, int(np.ceil((pre.size - win) / hop)) + 1)
    padded = np.pad(pre, (0, (n - 1) * hop + win - pre.size))
    frames = padded[np.arange(n)[:, None] * hop + np.arange(win)] * np.hanning(win)
    out = np.zeros(padded.size)
    excitation = rng.standard_normal((n, win))
    for i, frame in enumerate(frames):  # one small Levinson recursion per frame (offline synthesis, not a hot loop)
        a, gain = _lpc(frame, order)
        out[i * hop:i * hop + win] += lfilter([gain], a, excitation[i]) * np.hanning(win)
    out = lfilter([1.0], [1.0, -0.97], out)[: speech.size]  # undo the pre-emphasis
    return _level(out, _dbfs(speech) - 6.0)


def far_field(speech: np.ndarray, seed: int = 0, rt60_s: float = 0.9, distance_gain_db: float = -30.0,
              snr_db: float = 10.0) -> np.ndarray:
    """Speech from across a reverberant room: a synthetic room response (exponentially decaying noise, with a
    weak direct path), attenuated by ``distance_gain_db``, with pink room noise ``snr_db`` below it."""
    rng = np.random.default_rng(seed)
    n = int(rt60_s * SR)
    tail = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / n)  # -60 dB at rt60
    tail[: SR // 200] = 0.0  # first reflections arrive after ~5 ms
    rir = tail / np.sqrt(np.sum(tail ** 2))
    rir[0] = 0.5  # the direct path, weaker than the reverberant energy (far field)
    size = speech.size + n - 1
    wet = np.fft.irfft(np.fft.rfft(speech, 2 * size) * np.fft.rfft(rir, 2 * size), 2 * size)[: speech.size]
    wet = _level(wet, _dbfs(speech) + distance_gain_db)
    room = noise(speech.size / SR, seed + 1, "pink")
    return (wet + _level(room, _dbfs(wet) - snr_db)).astype(np.float32)


def with_silence(parts: list[np.ndarray], gap_s: float, floor_db: float = -70.0, seed: int = 0) -> np.ndarray:
    """The parts joined by ``gap_s`` of near-silence (white noise at ``floor_db`` dBFS, as a quiet room)."""
    rng = np.random.default_rng(seed)
    gap = rng.standard_normal(int(gap_s * SR)) * 10 ** (floor_db / 20)
    out = [parts[0]]
    for p in parts[1:]:
        out += [gap, p]
    return np.concatenate(out).astype(np.float32)


def mix(a: np.ndarray, b: np.ndarray, snr_db: float) -> np.ndarray:
    """``a`` with ``b`` (looped or cut to its length) ``snr_db`` below it."""
    b = np.resize(b, a.size)
    return (a + _level(b, _dbfs(a) - snr_db)).astype(np.float32)


def espeak(text: str, voice: str) -> np.ndarray:
    """``text`` spoken by espeak-ng in ``voice`` (e.g. cy, de, fr, cmn, en-us), at 16 kHz."""
    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "say.wav"
        try:
            subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), "--", text], check=True,
                           capture_output=True, timeout=60)
        except FileNotFoundError:
            raise BackendError("espeak-ng is not installed", hint="apt-get install espeak-ng") from None
        except subprocess.CalledProcessError as e:
            why = e.stderr.decode(errors="replace").strip()
            raise BackendError(f"espeak-ng failed for voice {voice}: {why}") from None
        return _level(read_audio(wav), -20.0)


def _lpc(frame: np.ndarray, order: int) -> tuple[np.ndarray, float]:
    """Levinson-Durbin: the all-pole filter of a frame and its gain."""
    r = np.correlate(frame, frame, "full")[frame.size - 1: frame.size + order]
    if r[0] <= 1e-12:
        return np.array([1.0]), 0.0
    r = r * np.exp(-0.5 * (2 * np.pi * 40 / SR * np.arange(order + 1)) ** 2)  # lag window: stable filters
    r[0] *= 1.0001
    a, err = np.array([1.0]), r[0]
    for i in range(1, order + 1):
        k = -(r[i] + a[1:] @ r[i - 1:0:-1]) / err
        a = np.append(a, 0.0) + k * np.append(a, 0.0)[::-1]
        err *= 1 - k * k
    return a, float(np.sqrt(max(err, 0.0)))


def _dbfs(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def _level(x: np.ndarray, dbfs: float) -> np.ndarray:
    """``x`` scaled to an RMS level of ``dbfs`` dB below full scale."""
    return (x * 10 ** ((dbfs - _dbfs(x)) / 20)).astype(np.float32)
