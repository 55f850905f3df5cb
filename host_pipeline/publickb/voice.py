"""Vocal feature vector v: Resemblyzer speaker embedding, pitch statistics and speaking rate.

``VoiceAnalyzer`` loads the GE2E encoder once. ``f0_track`` and ``syllable_rate`` are plain numpy and are
also used by the TTS voice matcher and the evaluation.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import InputError, ModelError

SR = 16000


@dataclass
class VoiceFeatures:
    embedding: list[float]  # 256-d unit vector (Resemblyzer GE2E)
    f0_median_hz: float
    f0_p10_hz: float
    f0_p90_hz: float
    f0_std_semitones: float
    voiced_fraction: float
    rate_syllables_s: float  # syllable nuclei per second of speech
    speech_s: float

    def to_dict(self) -> dict:
        d = asdict(self)
        d["embedding"] = [round(float(x), 6) for x in self.embedding]
        return d

    @property
    def vector(self) -> np.ndarray:
        return np.asarray(self.embedding, dtype=np.float32)


def _frames(x: np.ndarray, win: int, hop: int) -> np.ndarray:
    n = 1 + max(0, (x.size - win) // hop)
    idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
    return x[idx] if x.size >= win else np.zeros((0, win), x.dtype)


def f0_track(audio: np.ndarray, sr: int = SR, fmin: float = 60.0, fmax: float = 400.0,
             hop_s: float = 0.01) -> np.ndarray:
    """F0 per 10 ms frame (Hz, 0 where unvoiced): normalised autocorrelation peak, vectorised over frames."""
    win = int(0.04 * sr)
    fr = _frames(audio.astype(np.float32), win, int(hop_s * sr))
    if not len(fr):
        return np.zeros(0, np.float32)
    fr = fr - fr.mean(1, keepdims=True)
    energy = (fr**2).sum(1)
    n = 2 * win
    spec = np.fft.rfft(fr * np.hanning(win), n)
    ac = np.fft.irfft(np.abs(spec) ** 2, n)[:, :win]
    ac /= ac[:, :1] + 1e-9
    lo, hi = int(sr / fmax), min(win - 1, int(sr / fmin))
    seg = ac[:, lo:hi]
    k = seg.argmax(1)
    peak = seg[np.arange(len(seg)), k]
    lag = (k + lo).astype(np.float32)
    # parabolic refinement of the lag
    kk = np.clip(k + lo, 1, win - 2)
    a, b, c = ac[np.arange(len(ac)), kk - 1], ac[np.arange(len(ac)), kk], ac[np.arange(len(ac)), kk + 1]
    lag = lag + 0.5 * (a - c) / np.where(np.abs(a - 2 * b + c) > 1e-9, a - 2 * b + c, 1.0)
    loud = energy > 1e-3 * np.median(energy[energy > 0]) if np.any(energy > 0) else energy > 0
    voiced = (peak > 0.45) & loud
    return np.where(voiced, sr / np.maximum(lag, 1), 0.0).astype(np.float32)


def envelope(audio: np.ndarray, sr: int, hop_s: float = 0.01) -> np.ndarray:
    """RMS envelope per ``hop_s`` frame (25 ms windows)."""
    fr = _frames(audio.astype(np.float32), int(0.025 * sr), int(hop_s * sr))
    return np.sqrt((fr**2).mean(1)) if len(fr) else np.zeros(0, np.float32)


def syllable_rate(audio: np.ndarray, sr: int = SR) -> float:
    """Syllable nuclei per second: prominent peaks of the smoothed loudness envelope (dB)."""
    from scipy.signal import find_peaks

    env = envelope(audio, sr)
    if env.size < 10:
        return 0.0
    db = 20 * np.log10(env + 1e-5)
    k = np.hanning(9)
    db = np.convolve(db, k / k.sum(), mode="same")
    floor = np.percentile(db, 95) - 25
    peaks, _ = find_peaks(db, prominence=3.0, distance=8, height=floor)
    return float(len(peaks) / (audio.size / sr))


class VoiceAnalyzer:
    """Resemblyzer speaker encoder (loaded once) and the pitch/rate statistics of speech."""

    def __init__(self):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from resemblyzer import VoiceEncoder
            self.encoder = VoiceEncoder("cpu", verbose=False)
        except Exception as e:  # noqa: BLE001 - any failure here is a model problem for the user
            raise ModelError(f"the Resemblyzer speaker encoder cannot load ({e})",
                             hint="pip install resemblyzer==0.1.4 'setuptools<80' in the project venv") from None

    def speech_only(self, audio: np.ndarray, sr: int = SR) -> np.ndarray:
        """Volume-normalised 16 kHz audio with the silences removed (Resemblyzer's webrtcvad)."""
        from resemblyzer import preprocess_wav

        return preprocess_wav(np.asarray(audio, np.float32), source_sr=sr)

    def embed(self, audio: np.ndarray, sr: int = SR) -> np.ndarray:
        wav = self.speech_only(audio, sr)
        if wav.size < SR // 2:
            wav = np.asarray(audio, np.float32) if sr == SR else wav
        return self.encoder.embed_utterance(wav).astype(np.float32)

    def analyze(self, audio: np.ndarray, sr: int = SR, min_speech_s: float = 1.0, name: str = "audio") -> VoiceFeatures:
        audio = np.asarray(audio, np.float32)
        if sr != SR:
            from scipy.signal import resample_poly
            audio = resample_poly(audio, SR, sr).astype(np.float32)
        peak = float(np.abs(audio).max()) if audio.size else 0.0
        wav = self.speech_only(audio) if peak > 1e-4 else np.zeros(0, np.float32)
        f0 = f0_track(wav) if wav.size else np.zeros(0, np.float32)
        voiced = f0[f0 > 0]
        speech_s = wav.size / SR
        if speech_s < min_speech_s or voiced.size < 20:
            raise InputError(f"{name}: no usable speech ({speech_s:.1f} s of voice activity, "
                             f"{voiced.size / 100:.1f} s voiced; at least {min_speech_s:.1f} s needed)",
                             hint="enroll with a recording of the user talking for a few seconds")
        emb = self.encoder.embed_utterance(wav).astype(np.float32)
        st = 12 * np.log2(voiced / np.median(voiced))
        return VoiceFeatures(
            embedding=emb.tolist(), f0_median_hz=float(np.median(voiced)), f0_p10_hz=float(np.percentile(voiced, 10)),
            f0_p90_hz=float(np.percentile(voiced, 90)), f0_std_semitones=float(st.std()),
            voiced_fraction=float(voiced.size / max(1, f0.size)), rate_syllables_s=syllable_rate(wav),
            speech_s=float(speech_s))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))
