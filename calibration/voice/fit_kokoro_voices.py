"""Measure the Kokoro voice candidates once: speaker embedding, median F0 and speaking rate of each blend/pitch.

The voice matcher (host_pipeline/reconstruct/voicematch.py) then picks, for an enrolled vocal feature vector v,
the candidate whose Resemblyzer embedding is closest to v's, without synthesising anything at run time.
Run: python calibration/voice/fit_kokoro_voices.py [--out calibration/voice/kokoro_voice_table.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from host_pipeline.publickb.voice import VoiceAnalyzer, f0_track, syllable_rate
from host_pipeline.reconstruct.tts import KokoroTts, Voice, _resample

SENTENCES = ["The quick brown fox jumps over the lazy dog, while she sells seashells by the shore.",
]
SINGLE_PITCH = [0.8, 0.9, 1.0, 1.12, 1.25]
BLEND_PITCH = [1.0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).with_name("kokoro_voice_table.json")))
    args = ap.parse_args()
    tts, va = KokoroTts(), VoiceAnalyzer()
    names = tts.voices()
    cands = [({n: 1.0}, p) for n in names for p in SINGLE_PITCH]
    cands += [({a: 0.5, b: 0.5}, p) for a, b in itertools.combinations(names, 2) for p in BLEND_PITCH]
    rows = []
    t0 = time.time()
    for i, (w, p) in enumerate(cands):
        audio = np.concatenate([tts.synthesize(s, Voice(w, pitch=p)).audio for s in SENTENCES])
        a16 = _resample(audio, 16000 / tts.SAMPLE_RATE)
        wav = va.speech_only(a16)
        f0 = f0_track(wav)
        rows.append({"weights": w, "pitch": p, "embedding": [round(float(x), 5) for x in va.encoder.embed_utterance(wav)],
                     "f0_median_hz": round(float(np.median(f0[f0 > 0])), 2), "rate_syllables_s": round(syllable_rate(wav), 3)})
        print(f"{i + 1}/{len(cands)} {w} pitch {p}: F0 {rows[-1]['f0_median_hz']} Hz, "
              f"rate {rows[-1]['rate_syllables_s']} /s ({time.time() - t0:.0f} s)", flush=True)
    Path(args.out).write_text(json.dumps({"model": "kokoro-82m", "sentences": SENTENCES, "candidates": rows}, indent=0))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
