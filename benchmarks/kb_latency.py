#!/usr/bin/env python3
"""Latency per sentence of each private-KB step with the embedded LLM (llama.cpp, CPU threads as given).

    python benchmarks/kb_latency.py [--n 4] [--threads 2] [--model qwen2.5-coder-1.5b] [--out out/bench/kb_latency]

Steps, each on ``--n`` sentences: fact retrieval (MiniLM + SQLite), disambiguation (suite's ambiguous items with
their facts), compression to the low and medium bands (real corpus sentences), correction (suite's erroneous
items, no decoder confidences: every word editable) and restoration of the compressed texts. The machine's load
average is recorded before and after: figures measured under load are slower than on an idle machine.
Writes per_step.csv and summary.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from kb_common import add_llm_args, build_kb, corpus_sentences


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=4, help="sentences per step")
    ap.add_argument("--out", default="out/bench/kb_latency")
    add_llm_args(ap)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    suite = [json.loads(l) for l in open(Path(__file__).resolve().parent.parent / "tests" / "kb" / "suite.jsonl")]
    amb = [i for i in suite if i["kind"] == "ambiguous"][: args.n]
    err = [i for i in suite if i["kind"] == "error"][: args.n]
    sentences = [s for _, s in corpus_sentences(per_source=max(1, args.n // 3 + 1))][: args.n]
    load_before = os.getloadavg()
    t_load = time.perf_counter()
    kb = build_kb(args, Path(tempfile.mkdtemp()) / "kb.sqlite")
    kb.llm.chat([{"role": "user", "content": "hi"}], max_tokens=1)  # load the model before timing
    load_s = time.perf_counter() - t_load
    for it in amb + err:
        for fact in it["facts"]:
            kb.store.add(it["user"], fact)
    rows = []

    def record(step, text, seconds, source):
        rows.append({"step": step, "words": len(text.split()), "seconds": round(seconds, 3), "source": source})
        print(f"{step:<18} {seconds:6.2f}s {source:<18} {text[:70]}", flush=True)
        write(rows, out, args, load_s, load_before)  # after every step: an interrupted run keeps what it measured

    for it in amb:
        t = time.perf_counter()
        facts = [f.text for f, _ in kb.store.relevant(it["user"], it["text"], kb.config.top_k,
                                                      kb.config.fact_threshold)]
        record("retrieval", it["text"], time.perf_counter() - t, "sqlite+minilm")
        s = kb.disambiguate(it["text"], facts)
        record("disambiguate", it["text"], s.seconds, s.source)
    compressed = {}
    for cls in ("low", "medium"):
        band = kb.prompt_codec.bands[cls]
        for text in sentences:
            s = kb.compress(text, band)
            compressed.setdefault(cls, []).append(s.output)
            record(f"compress {cls}", text, s.seconds, s.source)
    for it in err:
        s = kb.correct(it["text"], [f.text for f, _ in kb.store.relevant(it["user"], it["text"], kb.config.top_k,
                                                                          kb.config.fact_threshold)])
        record("correct", it["text"], s.seconds, s.source)
    for cls in ("low", "medium"):
        for text in compressed[cls]:
            s = kb.restore(text, kb.prompt_codec.bands[cls], [])
            record(f"restore {cls}", text, s.seconds, s.source)
    print((out / "summary.md").read_text())
    return 0


def write(rows: list[dict], out: Path, args, load_s: float, load_before: tuple) -> None:
    """per_step.csv and summary.md for the rows so far."""
    with open(out / "per_step.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    lines = [f"# KB latency per sentence ({args.model}, {args.threads} llama.cpp threads, {args.n} sentences per "
             f"step; model load {load_s:.1f} s)", "",
             f"Load average (1 min) at the start {load_before[0]:.1f}, at the last step {os.getloadavg()[0]:.1f} "
             "(2 cores: above 2 means other jobs were competing).", "",
             "| step | sentences | median s | max s | mean words | LLM output used |", "|---|---|---|---|---|---|"]
    for step in dict.fromkeys(r["step"] for r in rows):
        r = [x for x in rows if x["step"] == step]
        used = sum(x["source"].startswith("llm") for x in r)
        lines.append(f"| {step} | {len(r)} | {statistics.median(x['seconds'] for x in r):.2f} | "
                     f"{max(x['seconds'] for x in r):.2f} | {statistics.mean(x['words'] for x in r):.1f} | "
                     f"{f'{used}/{len(r)}' if step != 'retrieval' else '-'} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
