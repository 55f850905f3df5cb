"""Statistics of the evaluations: Wilson intervals, cluster bootstrap, per-cell summaries, paired differences."""

from __future__ import annotations

import math

import numpy as np


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return c - h, c + h


def cluster_bootstrap(outcomes: np.ndarray, reps: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95 % interval of the mean of ``outcomes`` [seeds, texts], resampling texts with all their seeds."""
    rng = np.random.default_rng(seed)
    per_text = outcomes.mean(0)
    means = per_text[rng.integers(0, per_text.size, (reps, per_text.size))].mean(1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def summarise(records: list[dict]) -> list[dict]:
    """One row per (dataset, system, channel, SNR): mean accuracy over seeds and three 95 % intervals: a cluster
    bootstrap over texts (each text with all its seeds; the plotted one), a t-interval over the seeds' accuracies
    and a Wilson interval over all (seed, text) outcomes."""
    from scipy import stats

    groups: dict[tuple, list[dict]] = {}
    for r in records:
        p = r["params"]
        groups.setdefault((p["dataset"], p["system"], p["channel"], float(p["snr_db"]), p["n"]), []).append(r)
    rows = []
    for (dataset, system, channel, snr, n), rs in sorted(groups.items()):
        rs = sorted(rs, key=lambda r: r["params"]["seed"])
        outcomes = np.array([[int(c) for c in r["result"]["correct"]] for r in rs])
        accs = outcomes.mean(1)
        lo_b, hi_b = cluster_bootstrap(outcomes)
        lo_w, hi_w = wilson(int(outcomes.sum()), outcomes.size)
        half = (stats.t.ppf(0.975, len(accs) - 1) * accs.std(ddof=1) / math.sqrt(len(accs))
                if len(accs) > 1 else math.nan)
        rows.append({"dataset": dataset, "system": system, "channel": channel, "snr_db": snr, "n": n,
                     "seeds": len(rs), "accuracy": round(float(accs.mean()), 4),
                     "ci_low": round(lo_b, 4), "ci_high": round(hi_b, 4),
                     "ci_seeds_low": round(float(accs.mean() - half), 4),
                     "ci_seeds_high": round(float(accs.mean() + half), 4),
                     "ci_wilson_low": round(lo_w, 4), "ci_wilson_high": round(hi_w, 4),
                     "similarity": round(float(np.mean([r["result"]["similarity"] for r in rs])), 4),
                     "lost_fraction": round(sum(r["result"]["lost"] for r in rs) / outcomes.size, 4),
                     "clean_accuracy": round(rs[0]["result"]["clean_accuracy"], 4),
                     "kb_fallback_steps": sum(r["result"].get("kb_fallback_steps", 0) for r in rs),
                     "kb_llm_steps": sum(r["result"].get("kb_llm_steps", 0) for r in rs)})
    return rows


PAIRS = (("semantic", "digital"), ("semantic+kb", "semantic"), ("semantic+kb", "digital+kb"))


def paired_differences(records: list[dict]) -> list[dict]:
    """Accuracy of system A minus system B on the same texts (same dataset, n, channel, SNR), with a 95 %
    cluster-bootstrap interval over texts; seeds are averaged per text (their channel draws differ)."""
    per: dict[tuple, dict[str, list[np.ndarray]]] = {}
    for r in records:
        p = r["params"]
        key = (p["dataset"], p["channel"], float(p["snr_db"]), p["n"])
        per.setdefault(key, {}).setdefault(p["system"], []).append(np.array([int(c) for c in r["result"]["correct"]]))
    rows = []
    for (dataset, channel, snr, n), systems in sorted(per.items()):
        for a, b in PAIRS:
            if a in systems and b in systems:
                d = np.mean(systems[a], 0) - np.mean(systems[b], 0)
                lo, hi = cluster_bootstrap(d[None, :])
                rows.append({"dataset": dataset, "channel": channel, "snr_db": snr, "n": n, "a": a, "b": b,
                             "accuracy_a_minus_b": round(float(d.mean()), 4), "ci_low": round(lo, 4),
                             "ci_high": round(hi, 4)})
    return rows
