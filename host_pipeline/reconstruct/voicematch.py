"""Match a TTS voice to an enrolled vocal feature vector v, within intelligibility limits.

For Kokoro the candidates (single voices at several pitch factors, and 50/50 blends) were measured once by
``calibration/voice/fit_kokoro_voices.py``: Resemblyzer embedding, median F0, speaking rate, and round-trip WER
on ten Harvard sentences. A candidate is eligible when its pitch factor is within ``voice_max_pitch`` of 1 and
its Harvard WER is at most ``voice_max_wer`` (or the best any candidate reaches, if higher); among the eligible
the matcher maximises ``cosine(embedding, v) - 0.1 x octaves of F0 mismatch - voice_wer_weight x WER`` and sets
the rate factor from the speaking rates, clipped to [``voice_min_rate``, ``voice_max_rate``]. Other backends
keep their configured voice and only adapt the rate.
"""

from __future__ import annotations

import hashlib
import json
import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..paths import REPO_ROOT
from ..publickb.voice import VoiceFeatures, cosine
from .config import ReconstructConfig
from .tts import TtsBackend, Voice

log = logging.getLogger(__name__)
F0_PENALTY_PER_OCTAVE = 0.1
TABLE = REPO_ROOT / "calibration" / "voice" / "kokoro_voice_table.json"


@lru_cache(maxsize=2)
def load_table(path: str = str(TABLE)) -> list[dict]:
    p = Path(path)
    if not p.exists():
        return []
    return json.loads(p.read_text())["candidates"]


def policy_key(cfg: ReconstructConfig, table: list[dict]) -> str:
    """Changes whenever the table or the matching limits change (cached matches are then recomputed)."""
    limits = [cfg.voice_max_pitch, cfg.voice_max_wer, cfg.voice_wer_weight, cfg.voice_min_rate, cfg.voice_max_rate]
    return hashlib.sha256(json.dumps([limits, table], sort_keys=True).encode()).hexdigest()[:16]


def match_voice(backend: TtsBackend, v: VoiceFeatures, table: list[dict] | None = None,
                cfg: ReconstructConfig | None = None) -> tuple[Voice, dict]:
    """(voice, report) for ``backend`` closest to ``v`` among intelligible candidates."""
    cfg = cfg or ReconstructConfig()
    if backend.name != "kokoro":
        return Voice({n: 1.0 for n in backend.voices()[:1]}), {"method": "backend's own voice, rate unchanged"}
    table = load_table() if table is None else table
    measured = [c for c in table if "harvard_wer" in c
                and abs(np.log(c["pitch"])) <= np.log(cfg.voice_max_pitch) + 1e-9]
    if not measured:
        default = getattr(backend, "default_voice", lambda: Voice({n: 1.0 for n in backend.voices()[:1]}))()
        log.warning("no measured Kokoro voice table (%s): using the default voice", TABLE)
        return default, {"method": "default voice (no measured voice table)"}
    wer = np.array([c["harvard_wer"] for c in measured])
    ok = wer <= max(cfg.voice_max_wer, wer.min()) + 1e-9
    cands = [c for c, k in zip(measured, ok) if k]
    sims = np.array([cosine(v.vector, np.asarray(c["embedding"])) for c in cands])
    # Resemblyzer alone sometimes prefers a voice an octave away (e.g. a female voice for a male speaker);
    # a small penalty per octave of F0 mismatch keeps the pitch plausible
    octaves = np.array([abs(np.log2(c["f0_median_hz"] / max(v.f0_median_hz, 1.0))) for c in cands])
    score = sims - F0_PENALTY_PER_OCTAVE * octaves - cfg.voice_wer_weight * wer[ok]
    i = int(score.argmax())
    best = cands[i]
    speed = 1.0
    if v.rate_syllables_s > 0 and best["rate_syllables_s"] > 0:
        speed = float(np.clip(v.rate_syllables_s / best["rate_syllables_s"], cfg.voice_min_rate, cfg.voice_max_rate))
    voice = Voice(dict(best["weights"]), pitch=float(best["pitch"]), speed=round(speed, 3))
    return voice, {"method": "closest Resemblyzer embedding among intelligible measured Kokoro candidates",
                   "predicted_similarity": round(float(sims[i]), 3), "candidates": len(cands),
                   "excluded": len(table) - len(cands), "harvard_wer": best["harvard_wer"],
                   "target_f0_hz": round(v.f0_median_hz, 1), "voice_f0_hz": best["f0_median_hz"]}
