#!/usr/bin/env python3
"""Length control of the KB compression (Table I bands) on real sentences, and per-step latency.

    python benchmarks/kb_length.py [--out out/bench/kb_length] [--per-source 15] [--restore 10] [--threads 2]

Samples ``--per-source`` sentences (8-40 words) from each of SMS Spam, IMDB and the speech transcripts (fixed
seed), compresses each to the low (70-80 %) and medium (80-90 %) bands with the embedded LLM (guards, retries,
extractive trim/fall-back: the real ``compress`` step), and restores the first ``--restore`` of each class at
the receiver. A sentence is inside its band when its output word count k satisfies lo <= k/n <= hi, or, when
no integer does (short inputs), k is the integer nearest the band middle; the strict-ratio figure is printed
too. Writes per_sentence.csv (the compressions, reused by calibration/anfis/fit_anfis.py), summary.md and
ratios.png; prints the summary.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from pathlib import Path

from kb_common import add_llm_args, build_kb, corpus_sentences

from host_pipeline.kb.text import in_band, n_words


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="out/bench/kb_length")
    ap.add_argument("--per-source", type=int, default=15)
    ap.add_argument("--restore", type=int, default=10, help="receiver restorations measured per class")
    ap.add_argument("--seed", type=int, default=0)
    add_llm_args(ap)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    kb = build_kb(args, Path(tempfile.mkdtemp()) / "kb.sqlite")
    sentences = corpus_sentences(args.per_source, args.seed)
    rows = []
    csv_file = open(out / "per_sentence.csv", "w", newline="", encoding="utf-8")
    writer = None
    for cls in ("low", "medium"):
        band = kb.prompt_codec.bands[cls]
        for i, (src, s) in enumerate(sentences):
            t = time.perf_counter()
            step = kb.compress(s, band)
            dt = time.perf_counter() - t
            n, k = n_words(s), n_words(step.output)
            row = {"class": cls, "source": src, "n_in": n, "n_out": k, "ratio": round(k / n, 4),
                   "in_band": int(in_band(n, k, band)),
                   "strict_in_band": int(band[0] - 1e-9 <= k / n <= band[1] + 1e-9),
                   "how": step.source, "attempts": step.attempts, "compress_s": round(dt, 2),
                   "similarity": round(step.similarity or 0.0, 4), "input": s, "output": step.output,
                   "restore_s": "", "restored": "", "restored_similarity": ""}
            if i < args.restore:
                t = time.perf_counter()
                r = kb.restore(step.output, band, [])
                row.update(restore_s=round(time.perf_counter() - t, 2), restored=r.output,
                           restored_similarity=round(kb.embedder.similarity(r.output, s), 4))
            rows.append(row)
            if writer is None:
                writer = csv.DictWriter(csv_file, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)
            csv_file.flush()
            print(f"{cls:<6} {src:<6} {n:3d}->{k:3d} {'in ' if row['in_band'] else 'OUT'} {step.source:<20} "
                  f"{dt:5.1f}s  {step.output}", flush=True)
    csv_file.close()
    lines = [f"# KB length control ({len(sentences)} sentences x 2 classes, model {args.model}, "
             f"{args.threads} threads)", "",
             "| class | band | inside band | strict ratio inside | LLM output used (as is / trimmed) | "
             "extractive fall-back | mean ratio | mean similarity | median compress s | median restore s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for cls in ("low", "medium"):
        r = [x for x in rows if x["class"] == cls]
        rs = [x["restore_s"] for x in r if x["restore_s"] != ""]
        band = kb.prompt_codec.bands[cls]
        lines.append(
            f"| {cls} | {band[0]:.0%}-{band[1]:.0%} | {_pct(r, 'in_band')} | {_pct(r, 'strict_in_band')} | "
            f"{sum(x['how'] == 'llm' for x in r)} / {sum(x['how'] == 'llm+trim' for x in r)} of {len(r)} | "
            f"{sum(x['how'].startswith('fallback') for x in r)} | {statistics.mean(x['ratio'] for x in r):.3f} | "
            f"{statistics.mean(x['similarity'] for x in r):.3f} | "
            f"{statistics.median(x['compress_s'] for x in r):.1f} | "
            f"{statistics.median(rs) if rs else float('nan'):.1f} |")
    lines += ["", f"Overall inside band: {_pct(rows, 'in_band')} of {len(rows)} compressions "
                  f"(strict ratio: {_pct(rows, 'strict_in_band')})."]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    _plot(rows, kb.prompt_codec.bands, out / "ratios.png")
    print("\n".join(lines))
    return 0


def _pct(rows, key) -> str:
    return f"{sum(x[key] for x in rows) / max(1, len(rows)):.1%}"


def _plot(rows, bands, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for j, cls in enumerate(("low", "medium")):
        r = [x for x in rows if x["class"] == cls]
        ax.scatter([x["n_in"] for x in r], [x["ratio"] for x in r], s=14, label=cls, color=f"C{j}")
        ax.axhspan(*bands[cls], color=f"C{j}", alpha=0.12)
    ax.set_xlabel("input words")
    ax.set_ylabel("output / input words")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
