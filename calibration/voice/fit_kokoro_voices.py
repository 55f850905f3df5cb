"""Measure the Kokoro voice candidates once: speaker embedding, F0, speaking rate and intelligibility of each.

The voice matcher (host_pipeline/reconstruct/voicematch.py) then picks, for an enrolled vocal feature vector v,
the intelligible candidate whose Resemblyzer embedding is closest to v's, without synthesising at run time.
Intelligibility = round-trip WER and mean ASR confidence (Whisper base, the project's text normalisation) on
ten Harvard sentences (IEEE 1969 list 1: phonetically balanced, common words, none of them in the evaluation
transcripts). Resumable: candidates already in the table keep their measurements; missing fields are added.
Candidates from older runs outside this grid (pitch 0.8 and 1.25: too far for intelligible speech) are kept
without an intelligibility measure, which makes the matcher skip them.

Run: nice -n 10 python calibration/voice/fit_kokoro_voices.py [--out calibration/voice/kokoro_voice_table.json]
     [--shard K/N] (N processes, K = 0..N-1, share one table)
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from host_pipeline.publickb.voice import VoiceAnalyzer, f0_track, syllable_rate
from host_pipeline.reconstruct.tts import KokoroTts, Voice, _resample

SENTENCES = ["The quick brown fox jumps over the lazy dog, while she sells seashells by the shore.",
]
HARVARD = ["The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.",
           "It's easy to tell the depth of a well.", "These days a chicken leg is a rare dish.",
           "Rice is often served in round bowls.", "The juice of lemons makes fine punch.",
           "The box was thrown beside the parked truck.", "The hogs were fed chopped corn and garbage.",
           "Four hours of steady work faced us.", "A large size in stockings is hard to sell."]
SINGLE_PITCH = [1.0, 0.95, 1.06, 0.9, 1.12]  # measured in this order (nearest to 1 first)
BLEND_PITCH = [1.0]


def key(weights: dict, pitch: float) -> str:
    return json.dumps([sorted(weights.items()), round(pitch, 3)])


def voice_features(tts: KokoroTts, va: VoiceAnalyzer, w: dict, p: float) -> dict:
    audio = np.concatenate([tts.synthesize(s, Voice(w, pitch=p)).audio for s in SENTENCES])
    wav = va.speech_only(_resample(audio, 16000 / tts.SAMPLE_RATE))
    f0 = f0_track(wav)
    return {"embedding": [round(float(x), 5) for x in va.encoder.embed_utterance(wav)],
            "f0_median_hz": round(float(np.median(f0[f0 > 0])), 2), "rate_syllables_s": round(syllable_rate(wav), 3)}


def intelligibility(tts: KokoroTts, asr, w: dict, p: float) -> dict:
    from host_pipeline.textnorm import word_errors

    errors = words = 0
    conf = []
    for s in HARVARD:
        speech = tts.synthesize(s, Voice(w, pitch=p))
        rec = asr.recognize(_resample(speech.audio, 16000 / tts.SAMPLE_RATE), [], "en")
        e, n = word_errors(s, rec.text)
        errors, words = errors + e, words + n
        conf.append(rec.confidence)
    return {"harvard_wer": round(errors / words, 4), "harvard_asr_confidence": round(float(np.mean(conf)), 4)}


def _read(out: Path) -> dict[str, dict]:
    return {key(c["weights"], c["pitch"]): c for c in json.loads(out.read_text())["candidates"]} if out.exists() else {}


def _save(out: Path, row: dict) -> None:
    """Merge one measured candidate into the table, under a lock (shards run in parallel), atomically."""
    import fcntl

    with open(out.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        table = _read(out)
        table[key(row["weights"], row["pitch"])] = row
        tmp = out.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"model": "kokoro-82m", "sentences": SENTENCES, "intelligibility_sentences": HARVARD,
                                   "candidates": list(table.values())}, indent=0))
        tmp.replace(out)


def candidates(names: list[str], male: str = "jm_kumo") -> list[tuple[dict, float]]:
    """Most useful first, so an interrupted run still leaves a usable table: the voices as shipped, blends with
    the only male voice (also the most intelligible), its pitch shifts, the other blends, other pitch shifts."""
    singles = [({n: 1.0}, p) for p in SINGLE_PITCH for n in names]
    blends = [({a: 0.5, b: 0.5}, p) for a, b in itertools.combinations(names, 2) for p in BLEND_PITCH]
    return sorted(singles + blends, key=lambda c: (c[1] != 1.0 or len(c[0]) > 1) + (male not in c[0]) * 2
                  + (len(c[0]) == 1 and c[1] != 1.0))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).with_name("kokoro_voice_table.json")))
    ap.add_argument("--shard", default="0/1", help="K/N: measure candidates K, K+N, ... (run N processes)")
    args = ap.parse_args()
    from host_pipeline.asr.backends import load_asr
    from host_pipeline.asr.config import AsrConfig

    out = Path(args.out)
    k, n = (int(x) for x in args.shard.split("/"))
    tts, va, asr = KokoroTts(), VoiceAnalyzer(), load_asr(AsrConfig())
    cands = candidates(tts.voices())
    t0 = time.time()
    for i, (w, p) in enumerate(cands):
        row = _read(out).get(key(w, p)) or {"weights": w, "pitch": p}
        if i % n != k or "harvard_wer" in row:
            continue
        if "embedding" not in row:
            row.update(voice_features(tts, va, w, p))
        row.update(intelligibility(tts, asr, w, p))
        _save(out, row)
        print(f"{i + 1}/{len(cands)} {w} pitch {p}: F0 {row['f0_median_hz']} Hz, rate {row['rate_syllables_s']} /s, "
              f"Harvard WER {row['harvard_wer']:.1%}, ASR confidence {row['harvard_asr_confidence']:.3f} "
              f"({time.time() - t0:.0f} s)", flush=True)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
