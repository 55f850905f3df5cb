#!/usr/bin/env python3
"""What the extractor makes of inputs that provoke hallucinations, with the guards (default settings) and, with
--before, as it was before them (Whisper at temperature 0, any detected language, no checks on the text).

    python benchmarks/asr_robustness.py [--out out/bench/asr_robustness] [--before] [--set asr.KEY=VALUE]

Inputs (host_pipeline/asr/provoke.py, seeded): 10 real utterances (6 from data/speech, 4 GRID talkers from
data/video/grid) whispered, across a room (moderate: RT60 0.6 s, SNR 20 dB; harsh: RT60 0.9 s, 30 dB down,
SNR 10 dB) and under music (5 dB below); two pairs of utterances 8 s apart; music; noise; three sentences each in
Welsh, German, French and Mandarin (espeak-ng voices); --before runs only the inputs without English words.
Every input goes through the full extractor (FSMN-VAD, then the ASR). Writes per_input.csv and summary.md to --out
and prints the summary.

"On air" counts utterances that would be sent although they are a hallucination: any words for music, noise or
another language; a loop (a token more than 4 times in a row); a third language; or, for real speech, words with a
WER above 50 % (the words of another sentence).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from host_pipeline.asr import SpeechExtractor, provoke  # noqa: E402
from host_pipeline.asr.backends import Recognition  # noqa: E402
from host_pipeline.asr.guard import OUTCOME_WORDS, repetition_loop  # noqa: E402
from host_pipeline.config import load_config  # noqa: E402
from host_pipeline.media import read_audio  # noqa: E402
from host_pipeline.paths import real_data_dir  # noqa: E402
from host_pipeline.textnorm import word_errors  # noqa: E402

FOREIGN = {"cy": ["Mae hi'n braf heddiw, ac rydw i'n mynd i'r dref i brynu bara a llaeth.",
                  "Roedd y trên yn hwyr eto y bore 'ma, felly cerddais i'r gwaith.",
                  "Mae fy mrawd yn byw mewn tŷ bach ger yr afon."],
           "de": ["Das Wetter ist heute sehr schön, und ich gehe in die Stadt, um Brot zu kaufen.",
                  "Der Zug hatte heute Morgen wieder Verspätung, also bin ich zur Arbeit gelaufen.",
                  "Mein Bruder wohnt in einem kleinen Haus am Fluss."],
           "fr": ["Il fait très beau aujourd'hui, et je vais en ville pour acheter du pain.",
                  "Le train était encore en retard ce matin, alors je suis allé au travail à pied.",
                  "Mon frère habite dans une petite maison près de la rivière."]}
MANDARIN = ["今天天气很好，我要去城里买面包。", "今天早上火车又晚点了，所以我走路去上班。",
            "我哥哥住在河边的一栋小房子里。"]
ALLOWED = {"en", "zh"}


class Unguarded:
    """The recogniser as it was before the guards: Whisper at temperature 0, any language, text as it comes."""

    name = "whisper"

    def __init__(self, guarded):
        self.model, self.config = guarded.model, guarded.config

    def recognize(self, audio, hotwords, language) -> Recognition:
        segments, info = self.model.transcribe(audio, language=language, beam_size=self.config.beam_size,
                                               condition_on_previous_text=False, vad_filter=False, temperature=0.0)
        segments = list(segments)
        text = " ".join(s.text.strip() for s in segments).strip()
        w = sum(max(s.end - s.start, 1e-3) for s in segments)
        conf = sum(math.exp(s.avg_logprob) * max(s.end - s.start, 1e-3) for s in segments) / w if segments else 0.0
        return Recognition(text, info.language, round(conf, 4))


REAL = ["cmu_arctic_us_aew_a0003.wav", "cmu_arctic_us_axb_a0004.wav", "cmu_arctic_us_axb_a0006.wav",
        "pyroomacoustics_notebooks_arctic_a0010.wav", "LJ001-0002.wav", "LJ001-0004.wav"]
GRID = ["brbk7n.mpg", "lbbc2a.mpg", "pwij3p.mpg", "sbwe5n.mpg"]
NO_WORDS = ("music", "noise", "other language", "Mandarin", "silence")  # kinds --before also runs


def inputs(data: Path) -> list[tuple[str, str, object, str | None]]:
    """(kind, name, audio, reference or None for no words) for every provoking input."""
    refs = {r["file"]: r["transcript"] for r in csv.DictReader(open(data / "speech" / "transcripts.tsv",
                                                                    encoding="utf-8"), delimiter="\t")}
    refs.update({r["file"]: r["transcript"] for r in csv.DictReader(open(data / "video" / "grid" / "transcripts.tsv",
                                                                         encoding="utf-8"), delimiter="\t")})
    clips = [(n, read_audio(data / ("speech" if n.endswith(".wav") else "video/grid") / n), refs[n])
             for n in REAL + GRID]
    out = []
    for i, (n, a, ref) in enumerate(clips):
        out += [("whispered", n, provoke.whispered(a, seed=i), ref),
                ("far field, moderate", n, provoke.far_field(a, seed=i, rt60_s=0.6, snr_db=20), ref),
                ("far field, harsh", n, provoke.far_field(a, seed=i), ref),
                ("under music (5 dB)", n, provoke.mix(a, provoke.music(seed=i), 5.0), ref)]
    for i in range(0, 4, 2):
        (n1, a1, r1), (n2, a2, r2) = clips[i], clips[i + 1]
        out.append(("8 s of silence inside speech", f"{n1}+{n2}", provoke.with_silence([a1, a2], 8.0, seed=i),
                    f"{r1} {r2}"))
    out += [("music", f"seed {s}", provoke.music(8.0, seed=s), None) for s in range(3)]
    out += [("noise", c, provoke.noise(6.0, seed=s, color=c), None) for s, c in enumerate(("white", "pink", "brown"))]
    for voice, sentences in FOREIGN.items():
        out += [(f"other language ({voice})", f"{voice} {i}", provoke.espeak(t, voice), None)
                for i, t in enumerate(sentences)]
    out += [("Mandarin (espeak-ng)", f"cmn {i}", provoke.espeak(t, "cmn"), t) for i, t in enumerate(MANDARIN)]
    return out


def _wer_parts(ref: str, hyp: str) -> tuple[int, int]:
    if re.search(r"[\u4e00-\u9fff]", ref):  # Mandarin: character errors
        ref, hyp = " ".join(re.findall(r"[\u4e00-\u9fff]", ref)), " ".join(re.findall(r"[\u4e00-\u9fff]", hyp))
    hyp = re.sub(r"\b([A-Za-z])(\d)\b", r"\1 \2", hyp)  # GRID: "K7" is "k seven"
    return word_errors(ref, hyp)


def run(extractor: SpeechExtractor, items, label: str) -> list[dict]:
    rows = []
    for i, (kind, name, audio, ref) in enumerate(items, 1):
        t = time.perf_counter()
        segs = list(extractor.stream([audio]))
        words = [s for s in segs if s.outcome == OUTCOME_WORDS and s.text]
        text = " ".join(s.text for s in words)
        e, n = _wer_parts(ref, text) if ref and words else (0, 0)
        on_air = [s for s in words if s.language not in ALLOWED or repetition_loop(s.text, 4)]
        if ref is None or (words and n and e / n > 0.5):
            on_air = words
        rows.append({"run": label, "kind": kind, "input": name, "utterances": len(segs), "words": len(words),
                     "unintelligible": len(segs) - len(words), "errors": e, "ref_words": n, "on_air": len(on_air),
                     "languages": " ".join(sorted({s.language for s in segs})), "text": text,
                     "reasons": " | ".join(s.reason for s in segs if s.reason),
                     "seconds": round(time.perf_counter() - t, 2)})
        print(f"[{label} {i}/{len(items)}] {kind} {name}: {len(words)} words / {len(segs)} utterances; {text[:60]!r}",
              file=sys.stderr, flush=True)
    return rows


def summary(rows: list[dict]) -> list[str]:
    by = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by[r["kind"]][r["run"]].append(r)
    runs = sorted({r["run"] for r in rows}, key=lambda x: x != "guarded")
    head = "| input | n | utterances: words / unintelligible | WER of the words sent | on air |"
    if "before" in runs:
        head += " before: WER | before: on air | before: languages |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for kind, per in by.items():
        g = per["guarded"]
        cells = [kind, str(len(g)), f"{sum(r['words'] for r in g)} / {sum(r['unintelligible'] for r in g)}",
                 _wer_cell(g), str(sum(r["on_air"] for r in g))]
        if "before" in runs:
            b = per.get("before", [])
            langs = sorted({x for r in b for x in r["languages"].split()})
            cells += [_wer_cell(b), str(sum(r["on_air"] for r in b)), " ".join(langs) or "-"] if b else ["", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _wer_cell(rows: list[dict]) -> str:
    e, n = sum(r["errors"] for r in rows), sum(r["ref_words"] for r in rows)
    return f"{100 * e / n:.1f} % ({sum(1 for r in rows if r['ref_words'])} inputs)" if n else "-"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="out/bench/asr_robustness")
    ap.add_argument("--before", action="store_true", help="also run the recogniser as it was before the guards")
    ap.add_argument("--set", action="append", default=[], help="configuration override (repeatable)")
    args = ap.parse_args()
    cfg = load_config(None, args.set)
    items = inputs(real_data_dir())
    extractor = SpeechExtractor(cfg.asr, cfg.vad)
    t = time.perf_counter()
    rows = run(extractor, items, "guarded")
    guarded_s = time.perf_counter() - t
    if args.before:
        extractor.asr = Unguarded(extractor.asr)
        rows += run(extractor, [it for it in items if it[0].startswith(NO_WORDS)], "before")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "per_input.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    lines = [f"ASR robustness: backend {cfg.asr.backend}, model {cfg.asr.model}, languages {cfg.asr.languages}, "
             f"{len(items)} inputs, {os.cpu_count()} CPUs, guarded run {guarded_s:.0f} s", ""] + summary(rows)
    text = "\n".join(lines)
    (out / "summary.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
