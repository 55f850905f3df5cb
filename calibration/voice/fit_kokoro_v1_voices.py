"""Measure the English and Mandarin Kokoro v1.0 voices once: Resemblyzer embedding and median F0 of a short render.

The enrollment-time voice matcher (host_pipeline/reconstruct/voicematch.py) ranks the voices by these embeddings
against the enrolled speech before it renders and refines blends of the nearest ones. Renders are deterministic,
so the table equals rendering the voices at enrollment, without the minute it would take.

Run: nice -n 5 python calibration/voice/fit_kokoro_v1_voices.py [--out calibration/voice/kokoro_v1_voices.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from host_pipeline.publickb.voice import VoiceAnalyzer, f0_track  # noqa: E402
from host_pipeline.reconstruct.tts import KokoroTts, Voice, _resample  # noqa: E402
from host_pipeline.reconstruct.voicematch import LANG_PREFIX, PROBE_EN, PROBE_ZH  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("kokoro_v1_voices.json"))
    args = ap.parse_args()
    tts, va = KokoroTts(), VoiceAnalyzer()
    rows = {}
    t0 = time.time()
    names = [n for n in tts.voices() if n[0] in LANG_PREFIX["en"] + LANG_PREFIX["zh"]]  # the languages spoken here
    for i, name in enumerate(names):
        tts.cfg.language = "zh" if name[0] in LANG_PREFIX["zh"] else "en"
        probe = PROBE_ZH if tts.cfg.language == "zh" else PROBE_EN
        audio = np.concatenate([tts.synthesize(s, Voice({name: 1.0})).audio for s in probe])
        wav = va.speech_only(_resample(audio, 16000 / tts.SAMPLE_RATE))
        f0 = f0_track(wav)
        rows[name] = {"embedding": [round(float(x), 5) for x in va.encoder.embed_utterance(wav)],
                      "f0_median_hz": round(float(np.median(f0[f0 > 0])), 2)}
        print(f"[{i + 1}/{len(names)}] {name}: F0 {rows[name]['f0_median_hz']} Hz ({time.time() - t0:.0f} s)",
              flush=True)
    doc = {"model": "kokoro-82m + kokoro-voices", "probe": {"en": PROBE_EN, "zh": PROBE_ZH}, "voices": rows}
    args.out.write_text(json.dumps(doc, indent=0) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
