"""How reliable is the lip-sync offset of the face evaluation? Re-scores the openings and the audio that
``lgmtsc eval gsr --part face`` saved (``curves/<clip>.npz``) with the previous estimator and with variants of
the current one (``metrics.sync_offset``), on every clip, real and reconstructed alike, without rendering again.

    python benchmarks/gsr_lipsync_estimator.py --eval out/gsr_face --out out/bench/gsr_lipsync_estimator

Estimators (each clip: the correlation of the speech envelope with the mouth opening ``lag`` later, 5 ms steps):

- ``previous``: wideband 25 ms RMS; both series shifted against each other over the speech +-0.3 s; the highest
  interior peak within +-200 ms (the estimator of the fourth session; its curve is listed to +-400 ms);
- ``<band>/<region>``: the envelope (``wide``: all frequencies, Hann windows; ``f2``: 0.8-2.2 kHz, the second
  formant's region) over the speech stretch only (``stretch``) or with 0.3 s around it (``margin``), held fixed
  while the opening is read ``lag`` later; the highest interior peak within +-120 ms, undetermined when a peak
  outside +-120 ms (within +-400 ms: one syllable away) is higher (``metrics.sync_offset``);
- ``f2/stretch`` is the evaluation's measure (``metrics.sync_offset`` with its defaults).

``summary.csv``: per estimator, the real clips with a determined offset and the median of peak / rival over
the real clips (how far the chosen alignment stands out), the reconstructions with a determined offset, and
the clips whose offsets (both determined) lie within 40 ms.

Written: ``estimators.csv`` (clip, side real/reconstructed, estimator, offset ms or empty, peak, rival peak,
reason, every local maximum within +-400 ms), ``correlations.png`` (the correlation curves of every clip,
real and reconstructed, by estimator).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HOP = 0.005
VARIANTS = ("wide/margin", "wide/stretch", "f2/margin", "f2/stretch")  # envelope band / region read


def _previous(opening: np.ndarray, audio: np.ndarray, sr: int, fps: int) -> tuple[np.ndarray, np.ndarray]:
    """The fourth session's correlation: wideband RMS, speech +-0.3 s, both series shifted (it searched +-200 ms;
    computed here to +-400 ms to show the peaks beyond)."""
    from host_pipeline.publickb.voice import envelope

    env = envelope(audio, sr, HOP)
    t = (np.arange(opening.size) + 0.5) / fps
    te = np.arange(env.size) * HOP + 0.0125
    op = np.interp(te, t, opening)
    active = np.flatnonzero(env > 0.1 * np.percentile(env, 95))
    lo, hi = max(0, active[0] - int(0.3 / HOP)), min(env.size, active[-1] + int(0.3 / HOP))
    op, env = op[lo:hi], env[lo:hi]
    a = (op - op.mean()) / (op.std() + 1e-9)
    b = (env - env.mean()) / (env.std() + 1e-9)
    lags = np.arange(-80, 81)
    cs = np.array([np.mean(a[k:] * b[:b.size - k]) if k >= 0 else np.mean(a[:k] * b[-k:]) for k in lags])
    return lags * HOP * 1000, cs


def _previous_offset(lags: np.ndarray, cs: np.ndarray) -> float:
    inside = np.abs(lags) <= 200
    lags, cs = lags[inside], cs[inside]
    peak = np.flatnonzero((cs[1:-1] >= cs[:-2]) & (cs[1:-1] >= cs[2:])) + 1
    i = int(peak[np.argmax(cs[peak])]) if peak.size else int(np.argmax(cs))
    frac = 0.0
    if 0 < i < cs.size - 1:
        den = cs[i - 1] - 2 * cs[i] + cs[i + 1]
        frac = 0.5 * (cs[i - 1] - cs[i + 1]) / den if den < 0 else 0.0
    return float(lags[i] + frac * (lags[1] - lags[0]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", default="out/gsr_face", help="output folder of `lgmtsc eval gsr --part face`")
    ap.add_argument("--out", default="out/bench/gsr_lipsync_estimator")
    args = ap.parse_args()
    from host_pipeline.reconstruct import metrics as M

    files = sorted(Path(args.eval, "curves").glob("*.npz"))
    if not files:
        print(f"{args.eval}/curves: no saved curves (run `lgmtsc eval gsr --part face --out {args.eval}`)",
              file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, plots = [], []
    for f in files:
        z = np.load(f)
        sides = [("reconstructed", z["opening"], z["audio"], int(z["sr"]))]
        if z["audio_real"].size:
            sides.insert(0, ("real", z["opening_real"], z["audio_real"], int(z["sr_real"])))
        fps = int(z["fps"])
        for side, op, audio, sr in sides:
            lags, cs = _previous(op, audio, sr, 25 if side == "real" else fps)
            v_fps = 25 if side == "real" else fps
            rows.append((f.stem, side, "previous", round(_previous_offset(lags, cs), 2),
                         round(float(cs[np.abs(lags) <= 200].max()), 3), "", "", _peaks(lags, cs)))
            curves = {"previous": (lags, cs)}
            for name in VARIANTS:
                keep = M.SYNC_BAND_HZ, M.SYNC_MARGIN_S
                M.SYNC_BAND_HZ = (0.0, sr / 2) if name.startswith("wide") else keep[0]
                M.SYNC_MARGIN_S = 0.0 if name.endswith("stretch") else 0.3
                try:
                    r = M.sync_offset(op, audio, sr, v_fps)
                    curves[name] = M.sync_correlation(op, audio, sr, v_fps)
                finally:
                    M.SYNC_BAND_HZ, M.SYNC_MARGIN_S = keep
                rows.append((f.stem, side, name, "" if not r.determined else round(r.offset_ms, 2),
                             round(r.peak, 3), round(r.rival, 3), r.reason, _peaks(*curves[name])))
            plots.append((f"{f.stem} {side}", curves))
            print(f"{f.stem:7s} {side[:4]}: " + " | ".join(
                f"{r[2]} {'undetermined' if r[3] == '' else f'{r[3]:+.0f}'} ({r[4]:.2f}"
                + (f"/{r[5]:.2f})" if r[5] != '' else ")") for r in rows[-1 - len(VARIANTS):]), flush=True)
    with open(out / "estimators.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(("clip", "side", "estimator", "offset_ms", "peak", "rival_peak", "undetermined_because",
                    "peaks_within_400ms"))
        w.writerows(rows)
    _plot(out / "correlations.png", plots, M.SYNC_MAX_MS)
    summary = _summary(rows)
    with open(out / "summary.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(summary[0].keys())
        w.writerows([r.values() for r in summary])
    for r in summary:
        print(", ".join(f"{k} {v}" for k, v in r.items()))
    return 0


def _peaks(lags: np.ndarray, cs: np.ndarray) -> str:
    """Every local maximum of a correlation curve as lag:correlation."""
    i = np.flatnonzero((cs[1:-1] > cs[:-2]) & (cs[1:-1] >= cs[2:])) + 1
    return " ".join(f"{lags[k]:+.0f}:{cs[k]:.2f}" for k in i)


def _summary(rows: list[tuple]) -> list[dict]:
    """Per estimator: real clips with a determined offset, the median peak / rival over the real clips (how far
    the chosen alignment stands out from a syllable's neighbour; a clip without a rival counts as 2), and the
    clips whose reconstructed offset lies within 40 ms of the real one, of those where both are determined."""
    out = []
    for est in ("previous", *VARIANTS):
        by = {(r[0], r[1]): r for r in rows if r[2] == est}
        real = [r for (c, side), r in by.items() if side == "real"]
        det = [r for r in real if r[3] != ""]
        ratio = [] if est == "previous" else [min(2.0, r[4] / r[5]) if r[5] > 0 else 2.0 for r in real]
        both = [(c, by[(c, "reconstructed")][3] - r[3]) for c, r in ((r[0], r) for r in det)
                if by.get((c, "reconstructed")) and by[(c, "reconstructed")][3] != ""]
        met = [c for c, d in both if abs(d) <= 40]
        out.append({"estimator": est, "real_determined": f"{len(det)}/{len(real)}",
                    "median_peak_over_rival_real": round(float(np.median(ratio)), 3) if ratio else "",
                    "reconstructed_determined": sum(1 for (c, side), r in by.items()
                                                    if side == "reconstructed" and r[3] != ""),
                    "offset_met": f"{len(met)}/{len(both)}",
                    "missed": " ".join(f"{c} {d:+.0f}" for c, d in both if abs(d) > 40)})
    return out


def _plot(path: Path, plots: list, max_ms: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(plots)
    cols = 4
    fig, axs = plt.subplots((n + cols - 1) // cols, cols, figsize=(4 * cols, 2.2 * ((n + cols - 1) // cols)),
                            squeeze=False)
    for ax, (title, curves) in zip(axs.flat, plots):
        for name, (lags, cs) in curves.items():
            ax.plot(lags, cs, label=name, lw=1)
        ax.axvspan(-max_ms, max_ms, color="0.9")
        ax.axvline(0, color="0.5", lw=0.5)
        ax.set_title(title, fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in list(axs.flat)[n:]:
        ax.axis("off")
    axs.flat[0].legend(fontsize=6)
    fig.supxlabel("lag, ms (+ = mouth after sound); grey: the plausible range", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    from PIL import Image

    from host_pipeline.evaluation.gsr import save_png

    save_png(np.asarray(Image.open(path).convert("RGB")), path)  # 256 colours: the docs keep it


if __name__ == "__main__":
    sys.exit(main())
