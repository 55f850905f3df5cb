"""Round-trip intelligibility of the TTS: speak real transcripts, transcribe with Whisper base, WER.

    python benchmarks/gsr_wer.py --out benchmarks/gsr_results [--limit 10] [--voice jm_kumo] [--pitch 1.0]
    python benchmarks/gsr_wer.py --out benchmarks/gsr_results --matched [--limit 12]

``--voice``: one Kokoro voice or blend reads the first ``limit`` transcripts. ``--matched``: each evaluation
user of ``lgmtsc eval gsr`` (their real enrollment utterance -> v -> the voice matcher, with the configured
limits) reads the same transcripts, except its own enrollment utterance; the default voice reads them too,
as the reference. Writes gsr_wer.csv (or gsr_wer_matched.csv) with one row per utterance and voice, and prints
the pooled WER per voice (the project's normalisation, host_pipeline/textnorm.py).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/bench/gsr_wer")
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--voice", default="jm_kumo", help="a Kokoro voice or blend, e.g. jf_alpha:0.5,jm_kumo:0.5")
    ap.add_argument("--pitch", type=float, default=1.0)
    ap.add_argument("--matched", action="store_true", help="the evaluation users' matched voices and the default")
    args = ap.parse_args()
    from host_pipeline.asr.backends import load_asr
    from host_pipeline.asr.config import AsrConfig
    from host_pipeline.evaluation.gsr import USERS, read_transcripts
    from host_pipeline.media import read_audio
    from host_pipeline.paths import real_data_dir
    from host_pipeline.reconstruct.tts import KokoroTts, Voice, _resample
    from host_pipeline.textnorm import word_errors

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = real_data_dir()
    tts, asr = KokoroTts(), load_asr(AsrConfig())
    if args.matched:
        from host_pipeline.publickb.voice import VoiceAnalyzer
        from host_pipeline.reconstruct.voicematch import match_voice

        analyzer = VoiceAnalyzer()
        voices = [("default", tts.default_voice(), None)]
        for user, _, enroll_wav, _ in USERS:
            v = analyzer.analyze(read_audio(data / "speech" / enroll_wav), name=enroll_wav)
            voice, report = match_voice(tts, v)
            print(f"{user}: {voice.to_dict()} (Harvard WER {report.get('harvard_wer')}, predicted similarity "
                  f"{report.get('predicted_similarity')})", flush=True)
            voices.append((user, voice, enroll_wav))
    else:
        voice = Voice.parse(args.voice)
        voice.pitch = args.pitch
        voices = [(args.voice, voice, None)]
    rows, pooled = [], {}
    for f, _, text in read_transcripts(data)[: args.limit]:
        for name, voice, skip in voices:
            if f == skip:
                continue
            s = tts.synthesize(text, voice)
            hyp = asr.recognize(_resample(s.audio, 16000 / s.sample_rate), [], "en").text
            e, n = word_errors(text, hyp)
            pooled[name] = [a + b for a, b in zip(pooled.get(name, [0, 0]), (e, n))]
            rows.append([f, name, voice.to_dict(), e, n, round(s.synthesis_s / s.duration_s, 3), text, hyp])
            print(f"{f} {name}: {e}/{n}  {hyp}", flush=True)
    name = "gsr_wer_matched.csv" if args.matched else "gsr_wer.csv"
    with open(out / name, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "voice_name", "voice", "errors", "words", "tts_wall_rtf", "reference", "hypothesis"])
        w.writerows(rows)
    for name, (e, n) in pooled.items():
        print(f"round-trip WER {name}: {e / max(1, n):.1%} ({e}/{n} words)")
    if args.matched:
        e = sum(v[0] for k, v in pooled.items() if k != "default")
        n = sum(v[1] for k, v in pooled.items() if k != "default")
        print(f"round-trip WER, matched voices pooled: {e / max(1, n):.1%} ({e}/{n} words); "
              f"load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
