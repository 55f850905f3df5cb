"""Match a TTS voice to an enrolled vocal feature vector v.

For Kokoro the candidates (single voices at several pitch factors, and 50/50 blends) were measured once by
``calibration/voice/fit_kokoro_voices.py``: the matcher picks the one whose Resemblyzer embedding is closest
to v's (less 0.1 per octave of median-F0 mismatch) and sets the rate factor from the speaking rates. Other backends keep their configured voice and only
adapt the rate.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..paths import REPO_ROOT
from ..publickb.voice import VoiceFeatures, cosine
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


def match_voice(backend: TtsBackend, v: VoiceFeatures, table: list[dict] | None = None) -> tuple[Voice, dict]:
    """(voice, report) for ``backend`` closest to ``v``; the report names the predicted similarity."""
    if backend.name != "kokoro":
        return Voice({n: 1.0 for n in backend.voices()[:1]}), {"method": "backend's own voice, rate unchanged"}
    table = load_table() if table is None else table
    target = v.vector
    if not table:
        name = "jm_kumo" if v.f0_median_hz < 165 else "jf_alpha"
        log.warning("no Kokoro voice table (%s): choosing %s by pitch only", TABLE, name)
        return Voice({name: 1.0}), {"method": "pitch only (no voice table)"}
    sims = np.array([cosine(target, np.asarray(c["embedding"])) for c in table])
    # Resemblyzer alone sometimes prefers a voice an octave away (e.g. a female voice for a male speaker);
    # a small penalty per octave of F0 mismatch keeps the pitch plausible
    octaves = np.array([abs(np.log2(c["f0_median_hz"] / max(v.f0_median_hz, 1.0))) for c in table])
    score = sims - F0_PENALTY_PER_OCTAVE * octaves
    best = table[int(score.argmax())]
    speed = 1.0
    if v.rate_syllables_s > 0 and best["rate_syllables_s"] > 0:
        speed = float(np.clip(v.rate_syllables_s / best["rate_syllables_s"], 0.85, 1.2))
    voice = Voice(dict(best["weights"]), pitch=float(best["pitch"]), speed=round(speed, 3))
    return voice, {"method": "closest Resemblyzer embedding among measured Kokoro candidates",
                   "predicted_similarity": round(float(sims[int(score.argmax())]), 3), "candidates": len(table),
                   "target_f0_hz": round(v.f0_median_hz, 1), "voice_f0_hz": best["f0_median_hz"]}
