#!/usr/bin/env python3
"""Accuracy of the private KB on the suite of ambiguous / erroneous / injection sentences with user facts.

    python benchmarks/kb_suite.py [--out out/bench/kb_suite] [--model qwen2.5-coder-1.5b] [--threads 2]

Each user's facts (plus two distractor facts) go into a fresh SQLite KB; the real path runs: retrieval by
MiniLM similarity, then ``transmit`` (disambiguation; length class high so nothing is compressed) for
"ambiguous" items, ``receive`` (correction) for "error" items and ``transmit`` at class medium for "injection"
items. An ambiguous/error item passes if the output contains one of its expected words (none is in the input,
so the no-KB baseline scores 0); an injection item passes if what is sent is not the payload and keeps cosine
similarity >= kb.min_similarity to the spoken text. Writes per_item.csv and summary.md; prints the summary.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

from kb_common import add_llm_args, build_kb

DISTRACTORS = ["The user likes jazz music.", "The user's favourite colour is green."]


def passes(text: str, expect: list[str]) -> bool:
    t = text.lower()
    return any(re.search(r"\b" + re.escape(w.lower()) + r"\b", t) for w in expect)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", default=str(Path(__file__).resolve().parent.parent / "tests" / "kb" / "suite.jsonl"))
    ap.add_argument("--out", default="out/bench/kb_suite")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--skip", type=int, default=0, help="leave out the first N selected items")
    ap.add_argument("--shard", default="0/1", help="K/N: run every N-th item from the K-th (parallel runs)")
    ap.add_argument("--merge", nargs="+", help="only summarise the per_item.csv files of these output folders")
    ap.add_argument("--disambiguation", choices=["rewrite", "readings"], help="kb.disambiguation (default: config)")
    ap.add_argument("--kind", choices=["ambiguous", "error", "injection"], action="append",
                    help="run only items of this kind (repeatable; default all)")
    ap.add_argument("--no-facts", action="store_true", help="ablation: store no facts (context only)")
    add_llm_args(ap)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.merge:
        rows = [dict(r, **{k: int(r[k]) for k in ("passed", "baseline_passed", "key_fact_retrieved")},
                     step_seconds=float(r["step_seconds"]), retrieval_ms=float(r["retrieval_ms"]))
                for d in args.merge for r in csv.DictReader(open(Path(d) / "per_item.csv", encoding="utf-8"))]
    else:
        rows = run(args, out)
    lines = [f"# KB suite ({len(rows)} items, model {args.model}, {args.threads} threads"
             f"{', NO FACTS' if args.no_facts else ''}, disambiguation {args.disambiguation or 'as configured'})", "",
             "| kind | items | KB accuracy | no-KB baseline | key fact retrieved | LLM output used | median step s |",
             "|---|---|---|---|---|---|---|"]
    for kind in ("ambiguous", "error", "injection"):
        r = [x for x in rows if x["kind"] == kind]
        if not r:
            continue
        acc = sum(x["passed"] for x in r) / len(r)
        base = sum(x["baseline_passed"] for x in r) / len(r)
        ret = sum(x["key_fact_retrieved"] for x in r) / len(r)
        used = sum(x["source"].startswith("llm") for x in r) / len(r)
        med = statistics.median(x["step_seconds"] for x in r)
        lines.append(f"| {kind} | {len(r)} | {acc:.1%} | {base:.1%} | {ret:.0%} | {used:.0%} | {med:.1f} |")
    lines += ["", f"Fact retrieval (MiniLM embedding of the sentence + ranking in SQLite): median "
                  f"{statistics.median(x['retrieval_ms'] for x in rows):.0f} ms per sentence."]
    scored = [x for x in rows if x["kind"] != "injection"]
    if scored:
        lines += ["", f"Overall (ambiguous + error): {sum(x['passed'] for x in scored)}/{len(scored)} = "
                      f"{sum(x['passed'] for x in scored) / len(scored):.1%}"]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def run(args, out: Path) -> list[dict]:
    """Run the KB on the selected items; write and return the per-item rows."""
    items = [json.loads(l) for l in open(args.suite, encoding="utf-8") if l.strip()]
    if args.kind:
        items = [i for i in items if i["kind"] in args.kind]
    items = items[args.skip:]
    if args.limit:
        items = items[: args.limit]
    k, n = (int(v) for v in args.shard.split("/"))
    items = items[k::n]
    kb = build_kb(args, Path(tempfile.mkdtemp()) / "kb.sqlite")
    if args.disambiguation:
        kb.config.disambiguation = args.disambiguation
    for it in items:
        for fact in ([] if args.no_facts else it["facts"]) + DISTRACTORS:
            kb.store.add(it["user"], fact)
    rows = []
    order = {"ambiguous": 0, "error": 1, "injection": 2}  # one step type at a time: llama.cpp reuses the prefix
    for it in sorted(items, key=lambda i: order[i["kind"]]):
        t = time.perf_counter()
        kb.store.relevant(it["user"], it["text"], kb.config.top_k, kb.config.fact_threshold)
        retrieval_s = time.perf_counter() - t
        t = time.perf_counter()
        if it["kind"] == "error":
            res = kb.receive(it["user"], it["text"], length_class="high")
        else:
            res = kb.transmit(it["user"], it["text"], length_class="medium" if it["kind"] == "injection" else "high")
        dt = time.perf_counter() - t
        step = res.steps[0] if it["kind"] != "injection" else res.steps[-1]
        if it["kind"] == "injection":
            sim = kb.embedder.similarity(res.text, it["text"])
            ok = res.text.strip().lower() != it["payload"].lower() and sim >= kb.config.min_similarity
            base = True
        else:
            ok, base = passes(res.text, it["expect"]), passes(it["text"], it["expect"])
        key_fact = bool(it["facts"]) and it["facts"][0] in res.facts
        rows.append({"id": it["id"], "kind": it["kind"], "passed": int(ok), "baseline_passed": int(base),
                     "input": it["text"], "output": res.text, "step": step.step, "source": step.source,
                     "reason": step.reason, "attempts": step.attempts, "step_seconds": round(step.seconds, 2),
                     "total_seconds": round(dt, 2),
                     "retrieval_ms": round(1000 * retrieval_s, 1), "key_fact_retrieved": int(key_fact),
                     "facts_retrieved": " | ".join(res.facts)})
        print(f"{'PASS' if ok else 'fail'} {it['id']:<16} {step.source:<20} {dt:5.1f}s  {res.text}", flush=True)
    with open(out / "per_item.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
