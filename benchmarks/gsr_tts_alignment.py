"""Kokoro's own alignment against its sound: samples per duration frame, how early the sound comes, and how far
the phoneme timings the animator gets are from the sounds they name (docs/reconstruct.md, TTS).

    python benchmarks/gsr_tts_alignment.py --out out/bench/gsr_tts_alignment

The sentences of ``data/speech/transcripts.tsv`` (CMU Arctic and LJSpeech; not the GRID sentences of the face
evaluation), two voices (jm_kumo, af_heart), speed 1. The first half measures, on the raw duration output
(``onnx_rewrite.kokoro_model``): ``len(audio) / sum(durations)`` (samples per frame), and the lead of the sound
over the frames: for each sibilant token (s z ʃ ʒ ʧ ʤ) the centroid of its sibilance (share of the power above
4 kHz beyond 0.3, 20 ms windows every 5 ms, within 150 ms of the token) minus the token's centre; the median is
``tts.KOKORO_LEAD_S``. The second half (held out) checks the timings ``KokoroTts`` makes from them (the lead
removed, stress marks and spaces handed to their neighbours, sounds before pauses ended at the silence) against
``phonemes.estimate_timings`` on the same audio: the sibilant offset, and where the last sound's timing ends
against the end of the speech (RMS over 5 % of its 95th percentile). Written: ``alignment.csv`` (one row per
sibilant or sentence end) and ``summary.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIBILANTS = set("szʃʒʧʤ")
HOP = 0.005


def sibilance(a: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """(window middles, share of the power above 4 kHz) of 20 ms Hann windows every 5 ms."""
    n, h = int(0.02 * sr), int(HOP * sr)
    m = 1 + (a.size - n) // h
    fr = a[np.arange(n)[None] + h * np.arange(m)[:, None]] * np.hanning(n)
    p = np.abs(np.fft.rfft(fr, axis=1)) ** 2
    f = np.fft.rfftfreq(n, 1 / sr)
    return (np.arange(m) * h + n / 2) / sr, p[:, f > 4000].sum(1) / (p.sum(1) + 1e-10)


def centroid(t: np.ndarray, hf: np.ndarray, a: float, b: float) -> float | None:
    w = (t > a - 0.15) & (t < b + 0.15)
    ww = np.clip(hf[w] - 0.3, 0, None)
    return float((t[w] * ww).sum() / ww.sum()) if ww.sum() > 0 else None


def speech_end(a: np.ndarray, sr: int) -> float:
    from host_pipeline.publickb.voice import envelope

    env = envelope(a, sr, 0.01)
    loud = np.flatnonzero(env > 0.05 * np.percentile(env, 95))
    return float(loud[-1] * 0.01 + 0.025) if loud.size else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/bench/gsr_tts_alignment")
    ap.add_argument("--voices", default="jm_kumo,af_heart")
    args = ap.parse_args()

    from host_pipeline.paths import real_data_dir
    from host_pipeline.reconstruct import tts as T
    from host_pipeline.reconstruct.onnx_rewrite import KOKORO_SAMPLES_PER_FRAME
    from host_pipeline.reconstruct.phonemes import estimate_timings, phonemize

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(real_data_dir() / "speech" / "transcripts.tsv", encoding="utf-8") as f:
        texts = [r["transcript"] for r in csv.DictReader(f, delimiter="\t")]
    half = len(texts) // 2
    tts = T.KokoroTts(T.ReconstructConfig(tts_threads=1))
    if "durations" not in tts._outputs:
        print("the Kokoro graph has no duration output (is the onnx package installed?)", file=sys.stderr)
        return 2
    sr = tts.SAMPLE_RATE
    rows, ratios, lead = [], [], []
    held = {"kokoro": [], "estimated": []}
    ends = {"kokoro": [], "estimated": []}
    for voice in args.voices.split(","):
        v = T.Voice({voice: 1.0})
        for i, text in enumerate(texts):
            ph = phonemize(text)
            syms = [c for c in ph if c in tts.vocab]
            if len(syms) > tts.MAX_TOKENS:
                continue
            a, d = tts.session.run(["audio", "durations"], {
                "tokens": np.array([[0, *[tts.vocab[c] for c in syms], 0]], np.int64),
                "style": tts._style(v, len(syms)), "speed": np.array([1.0], np.float32)})
            a, d = a.reshape(-1), d.reshape(-1)
            ratios.append(a.size / d.sum())
            t, hf = sibilance(a, sr)
            if i < half:  # measure the lead on the raw frames
                e = np.concatenate([[0], np.cumsum(d)]) * KOKORO_SAMPLES_PER_FRAME / sr
                for k, s in enumerate(syms):
                    if s in SIBILANTS and (c := centroid(t, hf, e[k + 1], e[k + 2])) is not None:
                        lead.append(c - 0.5 * (e[k + 1] + e[k + 2]))
                        rows.append(("lead", voice, i, s, round(lead[-1] * 1000, 1)))
                continue
            sp = tts.synthesize(text, v)  # held out: the timings the animator gets
            if sp.audio.size != a.size:  # a sentence cut in chunks or processed: not comparable
                continue
            end = speech_end(a, sr)
            for name, tim in (("kokoro", sp.phoneme_timings), ("estimated", estimate_timings(ph, a, sr))):
                for p in tim:
                    if p.symbol in SIBILANTS and (c := centroid(t, hf, p.start, p.end)) is not None:
                        held[name].append(c - 0.5 * (p.start + p.end))
                        rows.append((f"held-out {name}", voice, i, p.symbol, round(held[name][-1] * 1000, 1)))
                last = [p for p in tim if p.symbol not in " ,;:.!?…" and p.end > p.start]
                ends[name].append(last[-1].end - end)
                rows.append((f"held-out {name} end", voice, i, last[-1].symbol, round(ends[name][-1] * 1000, 1)))
            print(f"{voice} {i}: {len(syms)} tokens, {a.size / sr:.2f} s", flush=True)

    def stats(x: list[float]) -> dict:
        x = np.asarray(x) * 1000
        return {"n": int(x.size), "median_ms": round(float(np.median(x)), 1),
                "iqr_ms": [round(float(np.percentile(x, 25)), 1), round(float(np.percentile(x, 75)), 1)],
                "median_abs_ms": round(float(np.median(np.abs(x))), 1)}

    summary = {"samples_per_frame": [float(min(ratios)), float(max(ratios))], "utterances": len(ratios),
               "lead_first_half": stats(lead), "kokoro_lead_s_in_code": T.KOKORO_LEAD_S,
               "held_out_sibilant_offset": {k: stats(v) for k, v in held.items()},
               "held_out_last_sound_end_minus_speech_end": {k: stats(v) for k, v in ends.items()},
               "load": os.getloadavg()[0]}
    with open(out / "alignment.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["what", "voice", "sentence", "symbol", "ms (+ = sound after the timing's centre / timing "
                    "ends after the speech)"])
        w.writerows(rows)
    (out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    print(json.dumps(summary, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
