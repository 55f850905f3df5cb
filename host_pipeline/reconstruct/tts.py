"""TTS backends behind one interface: ``TtsBackend.synthesize(text, voice) -> Speech`` (audio + phoneme timings).

- ``KokoroTts``: Kokoro-82M int8 ONNX from the verified model cache (embedded default), its ``ConvInteger``
  nodes rewritten as float convolutions (``onnx_rewrite``); the phoneme timings are its own duration
  predictor's (exposed as a second graph output). Its 54 v1.0 voices (``kokoro-voices``, from the npm
  package kokoro-js) are blended: the first 128 style dimensions (decoder: timbre) and the last 128 (predictor:
  prosody) may take different weights, or a voice carries its own (510, 256) style table (a matched, enrolled
  voice). Pitch is shifted by synthesising slower and resampling (no extra dependency).
- ``FestivalTts``: festival + an HTS voice (Debian), segment times from festival itself.
- ``BertVits2Tts`` (:mod:`.bertvits2`): a BERT-VITS2 HTTP API server (``hiyoriUI.py``) on loopback.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
import wave
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import BackendError, ConfigError, InputError, ModelError
from .config import ReconstructConfig
from .onnx_rewrite import DURATIONS, KOKORO_SAMPLES_PER_FRAME, kokoro_model
from .phonemes import PhonemeTiming, end_at_silence, estimate_timings, phonemize, timings_from_durations, viseme

log = logging.getLogger(__name__)


@dataclass
class Voice:
    """What the TTS should sound like: a blend of the backend's voices, a pitch factor and a rate factor.

    For Kokoro, ``prosody_weights`` (when given) blend the last 128 style dimensions separately, and ``style``
    (a (510, 256) table, row = phoneme count) replaces the blend altogether: a matched voice is stored that way.
    """

    weights: dict[str, float] = field(default_factory=dict)  # backend voice name -> weight (sum 1)
    pitch: float = 1.0  # F0 (and formant) factor
    speed: float = 1.0  # speaking-rate factor
    prosody_weights: dict[str, float] | None = None  # Kokoro: weights of the prosody half; None = ``weights``
    style: np.ndarray | None = field(default=None, repr=False)  # Kokoro: the resolved (510, 256) style table
    eq_db: list[float] | None = None  # spectral-envelope gains (dB) at ``EQ_BANDS_HZ``, applied to the output
    formant: float = 1.0  # Kokoro: spectral-envelope stretch after the pitch shift (``warp_formants``)

    def to_dict(self) -> dict:
        d = {"weights": self.weights, "pitch": self.pitch, "speed": self.speed}
        if self.prosody_weights is not None:
            d["prosody_weights"] = self.prosody_weights
        if self.eq_db is not None:
            d["eq_db"] = [round(float(g), 2) for g in self.eq_db]
        if self.formant != 1.0:
            d["formant"] = self.formant
        if self.style is not None:
            d["style_sha256"] = hashlib.sha256(np.ascontiguousarray(self.style, np.float32).tobytes()).hexdigest()
        return d

    @classmethod
    def parse(cls, text: str) -> Voice:
        """``name`` or ``a:0.6,b:0.4``."""
        w = {}
        for part in text.split(","):
            name, _, weight = part.strip().partition(":")
            w[name] = float(weight) if weight else 1.0
        s = sum(w.values()) or 1.0
        return cls({k: v / s for k, v in w.items()})


@dataclass
class Speech:
    audio: np.ndarray  # float32 mono
    sample_rate: int
    phoneme_timings: list[PhonemeTiming]
    text: str = ""
    synthesis_s: float = 0.0  # wall time spent synthesising

    @property
    def duration_s(self) -> float:
        return self.audio.size / self.sample_rate

    @property
    def rtf(self) -> float:
        return self.synthesis_s / self.duration_s if self.duration_s else 0.0


class TtsBackend:
    """One TTS engine. ``voices()`` lists what can be blended; ``synthesize`` speaks a text."""

    name = "tts"

    def voices(self) -> list[str]:
        return []

    def synthesize(self, text: str, voice: Voice | None = None) -> Speech:
        raise NotImplementedError


def _resample(x: np.ndarray, ratio: float) -> np.ndarray:
    """``x`` resampled to ``ratio`` times as many samples."""
    from scipy.signal import resample_poly

    if abs(ratio - 1.0) < 1e-3:
        return x
    f = Fraction(ratio).limit_denominator(200)
    return resample_poly(x, f.numerator, f.denominator).astype(np.float32)


EQ_BANDS_HZ = np.geomspace(100.0, 7600.0, 20)  # centres of the spectral-envelope equaliser's bands
EQ_MAX_DB = 12.0


def long_term_spectrum(audio: np.ndarray, sr: int) -> np.ndarray:
    """Mean power (dB) of the loud frames of ``audio`` in the bands of ``EQ_BANDS_HZ`` (third-octave-ish, Hann)."""
    n = 1024 if sr > 20000 else 512
    x = np.asarray(audio, np.float32)
    if x.size < n:
        x = np.pad(x, (0, n - x.size))
    hop = n // 4
    m = 1 + (x.size - n) // hop
    frames = x[np.arange(n)[None, :] + hop * np.arange(m)[:, None]] * np.hanning(n).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    e = power.sum(1)
    loud = e >= np.percentile(e, 50)  # speech, not the pauses
    spec = power[loud].mean(0)
    f = np.fft.rfftfreq(n, 1 / sr)
    lf, lc = np.log(np.maximum(f, 1.0))[None, :], np.log(EQ_BANDS_HZ)[:, None]
    w = np.maximum(0.0, 1 - np.abs(lf - lc) / np.log(EQ_BANDS_HZ[1] / EQ_BANDS_HZ[0]))  # triangular bands
    return 10 * np.log10(w @ spec / np.maximum(w.sum(1), 1e-9) + 1e-12)


def apply_eq(audio: np.ndarray, sr: int, eq_db: list[float] | np.ndarray) -> np.ndarray:
    """``audio`` through a zero-phase equaliser: gains (dB) at ``EQ_BANDS_HZ``, interpolated on a log-frequency
    axis, held beyond the outer bands; loudness (RMS) kept."""
    x = np.asarray(audio, np.float32)
    if x.size == 0:
        return x
    n = int(2 ** np.ceil(np.log2(x.size + 2048)))
    f = np.fft.rfftfreq(n, 1 / sr)
    g_db = np.interp(np.log(np.maximum(f, 1.0)), np.log(EQ_BANDS_HZ), np.clip(eq_db, -EQ_MAX_DB, EQ_MAX_DB))
    y = np.fft.irfft(np.fft.rfft(x, n) * 10 ** (g_db / 20), n)[: x.size]
    rms_x, rms_y = np.sqrt(np.mean(x**2)), np.sqrt(np.mean(y**2))
    return (y * (rms_x / rms_y if rms_y > 0 else 1.0)).astype(np.float32)


def warp_formants(audio: np.ndarray, sr: int, factor: float, max_db: float = 18.0) -> np.ndarray:
    """``audio`` with its spectral envelope stretched along frequency by ``factor`` (formants move by it, F0 and
    timing stay): per STFT frame, the cepstrally smoothed log envelope (quefrencies below 1.6 ms) is compared with
    itself read at f / factor, and the frame is multiplied by the ratio (within +-``max_db``). Loudness kept."""
    from scipy.signal import istft, stft

    x = np.asarray(audio, np.float32)
    if abs(factor - 1.0) < 1e-3 or x.size == 0:
        return x
    n = 1024 if sr > 20000 else 512
    _, _, z = stft(x, sr, window="hann", nperseg=n, noverlap=3 * n // 4)
    logm = np.log(np.abs(z) + 1e-7)
    cep = np.fft.irfft(logm, n, axis=0)
    lift = max(4, int(0.0016 * sr))
    cep[lift:n - lift + 1] = 0.0
    env = np.fft.rfft(cep, n, axis=0).real  # (bins, frames)
    pos = np.clip(np.arange(env.shape[0]) / factor, 0, env.shape[0] - 1)
    i0 = np.minimum(pos.astype(int), env.shape[0] - 2)
    frac = (pos - i0)[:, None]
    warped = env[i0] * (1 - frac) + env[i0 + 1] * frac
    gain = np.exp(np.clip(warped - env, -max_db / 8.686, max_db / 8.686))
    _, y = istft(z * gain, sr, window="hann", nperseg=n, noverlap=3 * n // 4)
    y = y[: x.size].astype(np.float32)
    if y.size < x.size:
        y = np.pad(y, (0, x.size - y.size))
    rms_x, rms_y = np.sqrt(np.mean(x**2)), np.sqrt(np.mean(y**2))
    return (y * (rms_x / rms_y if rms_y > 0 else 1.0)).astype(np.float32)


def _scale_timings(t: list[PhonemeTiming], k: float) -> list[PhonemeTiming]:
    return [PhonemeTiming(p.symbol, p.start * k, p.end * k, p.opening, p.rounding) for p in t]


KOKORO_LEAD_S = 0.05  # Kokoro's sound comes this much before its frames (benchmarks/gsr_tts_alignment.py)


class KokoroTts(TtsBackend):
    """Kokoro-82M ONNX. Inputs: tokens (1, n+2) int64 padded with 0, style (1, 256), speed (1,); 24 kHz out.

    Outputs: the audio and (the rewritten graph, ``onnx_rewrite.kokoro_model``) ``durations``, the duration
    predictor's frame counts per token (pads included; one frame = ``KOKORO_SAMPLES_PER_FRAME`` samples), from
    which the phoneme timings are made (``phonemes.timings_from_durations``, moved ``KOKORO_LEAD_S`` earlier).
    Without the ``onnx`` package the shipped graph runs and the timings are estimated from the audio."""

    name = "kokoro"
    SAMPLE_RATE = 24000
    MAX_TOKENS = 510

    def __init__(self, cfg: ReconstructConfig | None = None, model_dir: str | Path | None = None,
                 voices_dir: str | Path | None = None):
        import onnxruntime as ort

        from ..models import ModelCache

        self.cfg = cfg or ReconstructConfig()
        d = Path(model_dir) if model_dir else ModelCache().path("kokoro-82m")
        self._voices_dir = Path(voices_dir) if voices_dir else None
        self._all: dict[str, np.ndarray] | None = None
        try:
            model = kokoro_model(d / "model.onnx", float_conv=self.cfg.tts_float_conv)
            threads = self.cfg.tts_threads or os.cpu_count() or 1
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy-waiting on a shared CPU
            self.session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
            self._outputs = ["audio"] + [o.name for o in self.session.get_outputs() if o.name == DURATIONS]
            self.vocab: dict[str, int] = json.loads((d / "vocab.json").read_text())["vocab"]
            z = np.load(d / "voices_ja.npz")
            self._ja = {k: z[k].astype(np.float32).reshape(-1, 256) for k in z.files}
        except Exception as e:  # noqa: BLE001
            raise ModelError(f"the Kokoro TTS model cannot load from {d} ({e})",
                             hint="run `lgmtsc models install kokoro-82m`") from None

    @property
    def styles(self) -> dict[str, np.ndarray]:
        """Every voice's (510, 256) style table: the 54 v1.0 voices (verified at first use) and the Japanese five."""
        if self._all is None:
            from ..models import ModelCache

            vd = self._voices_dir or ModelCache().path("kokoro-voices")  # ModelError naming the fix if not ok
            out = dict(self._ja)
            for f in sorted(vd.glob("*.bin")):
                out[f.stem] = np.fromfile(f, np.float32).reshape(-1, 256)
            self._all = out
        return self._all

    def voices(self) -> list[str]:
        return sorted(self.styles)

    def default_voice(self) -> Voice:
        if self.cfg.language == "zh":
            return Voice({"zf_xiaoxiao": 1.0})
        return Voice({"jm_kumo": 1.0})  # round-trip WER 2 % on English (MODELS.md)

    def style_table(self, voice: Voice) -> np.ndarray:
        """The (510, 256) style table of ``voice``: its own, or the blend of its timbre and prosody weights."""
        if voice.style is not None:
            t = np.asarray(voice.style, np.float32)
            if t.ndim != 2 or t.shape[1] != 256 or len(t) < 1:
                raise ConfigError(f"a Kokoro style table must be (rows, 256), not {t.shape}")
            return t
        pw = voice.prosody_weights if voice.prosody_weights is not None else voice.weights
        names = set(voice.weights) | set(pw)
        styles = self.styles if any(k not in self._ja for k in names) else self._ja
        unknown = [k for k in names if k not in styles]
        if unknown:
            raise ConfigError(f"unknown Kokoro voice {unknown[0]!r}", hint=f"voices: {', '.join(self.voices())}")
        if not voice.weights:
            raise ConfigError("a Kokoro voice needs at least one voice name")
        t = np.zeros((510, 256), np.float32)
        for k, w in voice.weights.items():
            t[:, :128] += w * styles[k][:510, :128]
        for k, w in pw.items():
            t[:, 128:] += w * styles[k][:510, 128:]
        return t

    def _style(self, voice: Voice, n: int) -> np.ndarray:
        t = self.style_table(voice)
        return t[min(n, len(t) - 1)].reshape(1, 256).astype(np.float32)

    def _chunks(self, phonemes: str) -> list[str]:
        """Phoneme strings of at most MAX_TOKENS symbols, cut after sentence punctuation or spaces."""
        out, cur = [], ""
        for piece in re.findall(r"[^.!?;]+[.!?;]*\s*", phonemes):
            while len(piece) > self.MAX_TOKENS:
                cut = piece.rfind(" ", 0, self.MAX_TOKENS)
                cut = cut if cut > 0 else self.MAX_TOKENS  # no space to cut at: cut hard
                out.append(piece[:cut])
                piece = piece[cut:]
            if len(cur) + len(piece) > self.MAX_TOKENS:
                out.append(cur)
                cur = ""
            cur += piece
        if cur.strip():
            out.append(cur)
        return [c.strip() for c in out if c.strip()]

    def synthesize(self, text: str, voice: Voice | None = None) -> Speech:
        t0 = time.perf_counter()
        voice = voice or self.default_voice()
        phonemes = phonemize(text, self.cfg.language)
        speed = float(voice.speed * self.cfg.speed / voice.pitch)  # slower by the pitch factor, resampled below
        audio_parts, timings, offset = [], [], 0.0
        table = self.style_table(voice)
        for chunk in self._chunks(phonemes):
            syms = [c for c in chunk if c in self.vocab]
            ids = [self.vocab[c] for c in syms]
            if not ids:
                continue
            res = self.session.run(self._outputs, {"tokens": np.array([[0, *ids, 0]], np.int64),
                                                   "style": table[min(len(ids), len(table) - 1)].reshape(1, 256),
                                                   "speed": np.array([speed], np.float32)})
            out = res[0].reshape(-1)
            a = _resample(out.astype(np.float32), 1.0 / voice.pitch)
            if len(res) > 1:  # the model's own alignment: frames per token, scaled with the pitch resampling
                frame_s = KOKORO_SAMPLES_PER_FRAME / self.SAMPLE_RATE * a.size / max(out.size, 1)
                chunk_t = end_at_silence(timings_from_durations(syms, res[1], frame_s,
                                                                KOKORO_LEAD_S * a.size / max(out.size, 1)),
                                         a, self.SAMPLE_RATE)
            else:  # no onnx package: the shipped graph has no duration output
                chunk_t = estimate_timings("".join(syms), a, self.SAMPLE_RATE)
            timings += [PhonemeTiming(p.symbol, p.start + offset, p.end + offset, p.opening, p.rounding)
                        for p in chunk_t]
            audio_parts.append(a)
            offset += a.size / self.SAMPLE_RATE
        if not audio_parts:
            raise InputError(f"nothing to say: {text!r} has no speakable words")
        audio = np.concatenate(audio_parts)
        if voice.formant != 1.0:
            audio = warp_formants(audio, self.SAMPLE_RATE, voice.formant)
        if voice.eq_db is not None:
            audio = apply_eq(audio, self.SAMPLE_RATE, voice.eq_db)
        peak = float(np.abs(audio).max())
        if peak > 0.99:
            audio = audio * (0.99 / peak)
        return Speech(audio.astype(np.float32), self.SAMPLE_RATE, timings, text, time.perf_counter() - t0)


class FestivalTts(TtsBackend):
    """festival with an HTS voice (``apt-get install festival festvox-us-slt-hts``); one process per call."""

    name = "festival"

    def __init__(self, cfg: ReconstructConfig | None = None):
        self.cfg = cfg or ReconstructConfig()
        self.exe = shutil.which("festival")
        if not self.exe:
            raise BackendError("the festival TTS backend is configured but festival is not installed",
                               hint="sudo apt-get install festival festvox-us-slt-hts, "
                                    "or reconstruct.tts_backend=kokoro")

    def voices(self) -> list[str]:
        return [self.cfg.festival_voice]

    def synthesize(self, text: str, voice: Voice | None = None) -> Speech:
        t0 = time.perf_counter()
        voice = voice or Voice({self.cfg.festival_voice: 1.0})
        name = max(voice.weights, key=voice.weights.get) if voice.weights else self.cfg.festival_voice
        clean = " ".join(text.replace('"', "'").replace("\\", " ").split())
        if not clean:
            raise InputError("nothing to say: the text is empty")
        with tempfile.TemporaryDirectory() as d:
            wav, segs = Path(d) / "out.wav", Path(d) / "out.segs"
            script = (f"(voice_{name})\n(Parameter.set 'Duration_Stretch {1.0 / (voice.speed * self.cfg.speed):.3f})\n"
                      f"(set! u (SynthText \"{clean}\"))\n(utt.save.wave u \"{wav}\" 'riff)\n"
                      f"(utt.save.segs u \"{segs}\")\n")
            try:
                r = subprocess.run([self.exe, "--pipe"], input=script, capture_output=True, text=True, timeout=120)
            except subprocess.TimeoutExpired:
                raise BackendError("festival took over 120 s to speak one message") from None
            if not wav.exists():
                raise BackendError(f"festival produced no audio ({(r.stderr or r.stdout).strip()[:200]})",
                                   hint=f"is the voice {name} installed? (festvox-us-slt-hts)")
            with wave.open(str(wav)) as w:
                sr = w.getframerate()
                audio = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768
            timings, prev = [], 0.0
            body = segs.read_text().split("#", 1)[-1] if segs.exists() else ""
            for line in body.splitlines():
                f = line.split()
                if len(f) == 3:
                    end, sym = float(f[0]), f[2]
                    sym = "" if sym == "pau" else sym
                    timings.append(PhonemeTiming(sym or " ", prev, end, *viseme(_ARPA_TO_IPA.get(sym, " "))))
                    prev = end
        audio = _resample(audio, 1.0 / voice.pitch) if voice.pitch != 1.0 else audio
        timings = _scale_timings(timings, 1.0 / voice.pitch)
        return Speech(audio, sr, timings, text, time.perf_counter() - t0)


# festival's radio phone set -> a representative Kokoro/IPA symbol (for visemes only)
_ARPA_TO_IPA = {"aa": "ɑ", "ae": "æ", "ah": "ʌ", "ao": "ɔ", "aw": "W", "ax": "ə", "ay": "I", "eh": "ɛ", "er": "ɜ",
                "ey": "A", "ih": "ɪ", "iy": "i", "ow": "O", "oy": "Y", "uh": "ʊ", "uw": "u", "b": "b", "p": "p",
                "m": "m", "f": "f", "v": "v", "w": "w", "r": "ɹ", "ch": "ʧ", "jh": "ʤ", "sh": "ʃ", "zh": "ʒ",
                "th": "θ", "dh": "ð", "t": "t", "d": "d", "n": "n", "l": "l", "s": "s", "z": "z", "k": "k",
                "g": "ɡ", "ng": "ŋ", "hh": "h", "y": "j"}


def load_tts(cfg: ReconstructConfig) -> TtsBackend:
    from .bertvits2 import BertVits2Tts  # it imports this module

    return {"kokoro": KokoroTts, "festival": FestivalTts, "bert_vits2": BertVits2Tts}[cfg.tts_backend](cfg)
