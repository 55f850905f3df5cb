#!/usr/bin/env python3
"""WER and real-time factor of the configured ASR (default: Whisper base int8) on the 39 real utterances
in data/speech, through the full extractor (PyAV decode, FSMN-VAD, ASR), models loaded once.

    python benchmarks/asr_wer.py [--out out/bench/asr] [--set asr.model=whisper-tiny-en] [--limit N]

Writes per_utterance.csv and summary.md (per-speaker and overall WER, RTF; utterances the hallucination checks
marked unintelligible, and the lowest confidence) to --out and prints the summary.
Text normalisation: host_pipeline.textnorm (lower case, punctuation removed, numbers written out).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from host_pipeline.asr import SpeechExtractor  # noqa: E402
from host_pipeline.config import load_config  # noqa: E402
from host_pipeline.paths import real_data_dir  # noqa: E402
from host_pipeline.textnorm import word_errors  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="out/bench/asr")
    ap.add_argument("--set", action="append", default=[], help="configuration override (repeatable)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N utterances")
    args = ap.parse_args()
    cfg = load_config(None, args.set)
    data = real_data_dir() / "speech"
    rows = list(csv.DictReader(open(data / "transcripts.tsv", encoding="utf-8"), delimiter="\t"))
    if args.limit:
        rows = rows[: args.limit]
    t = time.perf_counter()
    extractor = SpeechExtractor(cfg.asr, cfg.vad)
    load_s = time.perf_counter() - t
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    per_speaker: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0])  # errors, words, audio s, proc s
    unintelligible, confidences = [], []
    with open(out / "per_utterance.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["file", "speaker", "reference", "hypothesis", "errors", "words", "audio_s", "processing_s",
                    "unintelligible", "lowest_confidence"])
        for i, r in enumerate(rows, 1):
            tr = extractor.transcribe_file(data / r["file"])
            e, n = word_errors(r["transcript"], tr.text)
            lost = [s for s in tr.segments if not s.intelligible]
            conf = min((s.confidence for s in tr.segments if s.intelligible), default=0.0)
            unintelligible.extend(lost)
            confidences.append(conf)
            w.writerow([r["file"], r["speaker"], r["transcript"], tr.text, e, n, f"{tr.duration_s:.3f}",
                        f"{tr.processing_s:.3f}", len(lost), f"{conf:.4f}"])
            for key in (r["speaker"], "all"):
                s = per_speaker[key]
                s[0] += e
                s[1] += n
                s[2] += tr.duration_s
                s[3] += tr.processing_s
            print(f"[{i}/{len(rows)}] {r['file']}: {e}/{n} errors, RTF {tr.processing_s / tr.duration_s:.2f}",
                  file=sys.stderr)
    lines = [f"ASR benchmark: backend {cfg.asr.backend}, model {cfg.asr.model}, compute {cfg.asr.compute_type}, "
             f"{cfg.asr.threads} threads, {os.cpu_count()} CPUs; model load {load_s:.1f} s", "",
             "| speaker | utterances | words | WER | audio (s) | RTF |", "|---|---|---|---|---|---|"]
    counts = defaultdict(int)
    for r in rows:
        counts[r["speaker"]] += 1
    counts["all"] = len(rows)
    for key in sorted(per_speaker, key=lambda k: (k == "all", k)):
        e, n, a, p = per_speaker[key]
        lines.append(f"| {key} | {counts[key]} | {n} | {100 * e / n:.1f} % | {a:.1f} | {p / a:.2f} |")
    lines += ["", f"Unintelligible utterances: {len(unintelligible)}"
              + "".join(f"; {s.start:.2f}-{s.end:.2f} s: {s.reason}" for s in unintelligible)
              + f". Lowest utterance confidence (exp of the mean token log-probability): {min(confidences):.3f}."]
    text = "\n".join(lines)
    (out / "summary.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
