"""The animator's articulation lead (``ReconstructConfig.articulation_lead_s``: every target is reached this long
before its sound), chosen on the GRID clips by a fixed rule and cross-validated (two folds).

    python benchmarks/gsr_articulation_lead.py --eval out/gsr_face --out out/bench/gsr_articulation_lead

``--eval`` is the output folder of ``lgmtsc eval gsr --part face``: its enrolled profiles (``kb/``) and the real
clips' mouth openings and audio (``curves/``) are reused, so nothing is enrolled and no real frame is read again.
Each clip's sentence is synthesised once with its profile's voice and rendered once per lead (``--leads``, ms);
the face mesh reads the opening of every rendered frame and ``metrics.sync_offset`` its lip-sync offset, the
evaluation's estimator. The rule (``choose``): among the leads that keep the p/b/m closure target (<= 0.25) on every
clip of the fitting set, the one with the smallest mean |reconstructed - real offset| over the fitting set's clips
where both offsets are determined (ties: the larger lead). The default is the rule on all clips; how well the rule
generalises is estimated by two-fold cross-validation: fitted on one half (``--fold``, default the first five clips
by name) and scored on the other, then the other way round. Written: ``leads.csv`` (clip, fold, lead, offsets,
spread, p/b/m closure), ``summary.json`` (the lead chosen on all clips and on each fold, each fold's scores on the
clips it did not see) and ``leads.png`` (offset difference against lead per clip, the +-40 ms target shaded).
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

FOLD = "bbaf2n,brbk7n,lbax4n,lbbc2a,lrwp9a"  # the first five clips by name


CLOSURE_MAX = 0.25  # the p/b/m closure target (issue 15)


def choose(rows: list[dict], fit: set[str]) -> tuple[float, dict[float, float]]:
    """(chosen lead in ms, mean |difference| per lead over the ``fit`` clips determined at that lead; inf where
    a fit clip's p/b/m closure misses its target)."""
    score: dict[float, float] = {}
    for lead in sorted({r["lead_ms"] for r in rows}):
        sel = [r for r in rows if r["lead_ms"] == lead and r["clip"] in fit]
        d = [abs(r["diff_ms"]) for r in sel if np.isfinite(r["diff_ms"])]
        closed = all(not r["closure"] > CLOSURE_MAX for r in sel)  # nan (no p/b/m) passes
        score[lead] = float(np.mean(d)) if d and closed else float("inf")
    best = min(score.values())
    return max(k for k, v in score.items() if v == best), score


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", default="out/gsr_face", help="output folder of `lgmtsc eval gsr --part face`")
    ap.add_argument("--out", default="out/bench/gsr_articulation_lead")
    ap.add_argument("--leads", default="0,10,20,30,40,50,60", help="leads to render, ms")
    ap.add_argument("--fold", default=FOLD, help="one half of the two-fold cross-validation (the other: the rest)")
    args = ap.parse_args()
    import cv2

    from host_pipeline.evaluation import gsr as G
    from host_pipeline.paths import real_data_dir
    from host_pipeline.publickb.config import PublicKbConfig
    from host_pipeline.publickb.face import FaceAnalyzer
    from host_pipeline.publickb.store import PublicKb
    from host_pipeline.reconstruct import metrics as M
    from host_pipeline.reconstruct.config import ReconstructConfig
    from host_pipeline.reconstruct.pipeline import Reconstructor

    cv2.setNumThreads(1)
    ev, out = Path(args.eval), Path(args.out)
    kb_path = ev / "kb" / "publickb.sqlite"
    if not kb_path.exists() or not (ev / "curves").is_dir():
        print(f"{ev}: no face evaluation there (run `lgmtsc eval gsr --part face --out {ev}` first)", file=sys.stderr)
        return 2
    try:
        leads = [float(x) for x in args.leads.split(",")]
    except ValueError:
        print(f"--leads {args.leads!r}: expected comma-separated milliseconds", file=sys.stderr)
        return 2
    fold_a = set(args.fold.split(","))
    out.mkdir(parents=True, exist_ok=True)
    cfg = ReconstructConfig()
    kb = PublicKb(PublicKbConfig(db_path=str(kb_path)))
    rec = Reconstructor(cfg, kb=kb)
    mesh = FaceAnalyzer(max_faces=1)
    rows: list[dict] = []
    for name, text in [(Path(f).stem, t) for f, t in G.read_grid(real_data_dir())]:
        c = np.load(ev / "curves" / f"{name}.npz")
        real = M.sync_offset(c["opening_real"], c["audio_real"], int(c["sr_real"]), int(c["fps"]))
        prof = kb.get(name)
        if prof is None:
            print(f"{name}: not enrolled in {kb_path}", file=sys.stderr)
            return 2
        voice, _ = rec.voice_for(prof)
        speech = rec.tts.synthesize(text, voice)
        for lead in leads:
            rec.animator.cfg.articulation_lead_s = lead / 1000
            op = M.mouth_openings(list(rec.animator.render(prof, speech)), mesh)
            s = M.sync_offset(op, speech.audio, speech.sample_rate, cfg.fps)
            closure, n_bil = M.closure_ratio(op, speech.phoneme_timings, cfg.fps, speech.audio, speech.sample_rate)
            rows.append({"clip": name, "fold": "a" if name in fold_a else "b", "lead_ms": lead,
                         "offset_real_ms": real.offset_ms, "offset_ms": s.offset_ms,
                         "diff_ms": s.offset_ms - real.offset_ms, "spread": M.articulation_spread(op),
                         "closure": closure, "bilabials": n_bil})
            print(f"{name} lead {lead:.0f} ms: offset {s.offset_ms:+.0f} (real {real.offset_ms:+.0f}), "
                  f"closure {closure:.2f}", flush=True)
    with open(out / "leads.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in rows)
    clips = {r["clip"] for r in rows}
    fold_b = clips - fold_a

    def scored(lead: float, on: set[str]) -> dict:
        sel = [r for r in rows if r["lead_ms"] == lead and r["clip"] in on]
        det = [r for r in sel if np.isfinite(r["diff_ms"])]
        return {"clips_determined": len(det), "within_40ms": sum(abs(r["diff_ms"]) <= 40 for r in det),
                "mean_abs_diff_ms": round(float(np.mean([abs(r["diff_ms"]) for r in det])), 1) if det else None,
                "diff_ms": {r["clip"]: round(r["diff_ms"], 1) for r in det},
                "closure_max": round(float(np.nanmax([r["closure"] for r in sel])), 3)}

    chosen, score = choose(rows, clips)
    folds = {}
    for name, fit, held in (("fit a, score b", fold_a, fold_b), ("fit b, score a", fold_b, fold_a)):
        lead, _ = choose(rows, fit)
        folds[name] = {"chosen_lead_ms": lead, "held_out": scored(lead, held)}
    summary = {"rule": f"smallest mean |diff| among leads with p/b/m closure <= {CLOSURE_MAX} on every fit clip "
               "(ties: larger lead)", "fold_a": sorted(fold_a), "fold_b": sorted(fold_b),
               "mean_abs_diff_by_lead_all": score, "chosen_lead_ms": chosen, "cross_validation": folds,
               "at_chosen": scored(chosen, clips),
               "at_40ms": scored(40.0, clips) if 40.0 in leads else None}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: summary[k] for k in ("cross_validation", "at_chosen")}, indent=1))
    print(f"chosen lead {chosen:.0f} ms -> {out}")
    _plot(rows, chosen, out / "leads.png")
    return 0


def _plot(rows: list[dict], chosen: float, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.axhspan(-40, 40, color="0.9", label="target: within 40 ms of the real clip")
    for clip in sorted({r["clip"] for r in rows}):
        sel = [r for r in rows if r["clip"] == clip]
        ax.plot([r["lead_ms"] for r in sel], [r["diff_ms"] for r in sel], "-o" if sel[0]["fold"] == "a"
                else "--s", ms=3, label=f"{clip} (fold {sel[0]['fold']})")
    ax.axvline(chosen, color="k", lw=0.8)
    ax.set_xlabel("articulation lead (ms)")
    ax.set_ylabel("offset reconstructed - real (ms)")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    raise SystemExit(main())
