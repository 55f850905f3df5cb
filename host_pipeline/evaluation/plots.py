"""Figures and tables of the downstream evaluations."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..paths import REPO_ROOT
from .downstream import SYSTEMS

LABELS = {"semantic+kb": "full system (KB + semantic codec)", "semantic": "this system without KB (semantic codec)",
          "digital+kb": "without joint coding (KB + digital)", "digital": "Txt2Vid-style digital baseline"}
STYLES = {"semantic+kb": ("C0", "-", "o"), "semantic": ("C1", "-", "s"), "digital+kb": ("C2", "--", "^"),
          "digital": ("C3", "--", "v")}


def plot(rows: list[dict], png: Path, title: str) -> Path:
    """Accuracy vs SNR, one panel per channel; error bars = 95 % cluster-bootstrap intervals over the texts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    channels = [c for c in ("awgn", "rayleigh") if any(r["channel"] == c for r in rows)]
    fig, axes = plt.subplots(1, len(channels), figsize=(5.2 * len(channels), 4.0), sharey=True, squeeze=False)
    for ax, channel in zip(axes[0], channels):
        for system in SYSTEMS:
            rs = sorted((r for r in rows if r["channel"] == channel and r["system"] == system),
                        key=lambda r: r["snr_db"])
            if not rs:
                continue
            x = np.array([r["snr_db"] for r in rs])
            y = np.array([r["accuracy"] for r in rs])
            lo = np.array([r["ci_low"] for r in rs])
            hi = np.array([r["ci_high"] for r in rs])
            c, ls, m = STYLES[system]
            ax.errorbar(x, y, yerr=[y - lo, hi - y], color=c, ls=ls, marker=m, capsize=3, ms=4,
                        label=f"{LABELS[system]} (n={rs[0]['n']}x{rs[0]['seeds']})")
        clean = [r["clean_accuracy"] for r in rows if r["channel"] == channel]
        if clean:
            ax.axhline(clean[0], color="k", lw=0.8, ls=":", label="classifier on the sent text")
        ax.set_title(channel.upper() if channel == "awgn" else "Rayleigh (flat block fading)")
        ax.set_xlabel("Es/N0 (dB)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("classification accuracy of the received text")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return png


def write_csv(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def repo_relative(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(p)
