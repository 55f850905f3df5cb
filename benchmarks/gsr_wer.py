"""Round-trip intelligibility of the TTS: speak real transcripts, transcribe with Whisper base, WER.

    python benchmarks/gsr_wer.py --out benchmarks/gsr_results [--limit 10] [--voice jm_kumo] [--pitch 1.0]

Writes gsr_wer.csv (one row per utterance) and prints the pooled WER (the project's normalisation).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/gsr_results")
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--voice", default="jm_kumo", help="Kokoro voice or blend, e.g. jm_kumo or jf_alpha:0.5,jm_kumo:0.5")
    ap.add_argument("--pitch", type=float, default=1.0)
    args = ap.parse_args()
    from host_pipeline.asr.backends import load_asr
    from host_pipeline.config import AsrConfig
    from host_pipeline.paths import shared_data_dir
    from host_pipeline.reconstruct.evaluate import read_transcripts
    from host_pipeline.reconstruct.tts import KokoroTts, Voice, _resample
    from host_pipeline.textnorm import word_errors

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tts, asr = KokoroTts(), load_asr(AsrConfig())
    voice = Voice.parse(args.voice)
    voice.pitch = args.pitch
    rows, errs, refs = [], 0, 0
    for f, spk, text in read_transcripts(shared_data_dir())[: args.limit]:
        s = tts.synthesize(text, voice)
        hyp = asr.recognize(_resample(s.audio, 16000 / s.sample_rate), [], "en").text
        e, n = word_errors(text, hyp)
        errs, refs = errs + e, refs + n
        rows.append([f, args.voice, args.pitch, e, n, text, hyp])
        print(f"{f}: {e}/{n}  {hyp}", flush=True)
    with open(out / "gsr_wer.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "voice", "pitch", "errors", "words", "reference", "hypothesis"])
        w.writerows(rows)
    print(f"round-trip WER {errs / max(1, refs):.1%} ({errs}/{refs} words, {len(rows)} utterances, voice {args.voice}, "
          f"pitch {args.pitch})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
