"""Benchmark of the reconstructor's speed: rendering frames/s at 512x512 on one thread and TTS real-time factor.

    python benchmarks/gsr_speed.py --out benchmarks/gsr_results [--utterances 6] [--frames 500] [--size 512]
        [--tts-variants ...] [--faces-only]

Both wall-clock and CPU-time figures are written: on a shared machine the wall clock measures the neighbours
too, while CPU time per frame is what one dedicated core would need. Targets: >= 25 frames/s, RTF <= 0.5.
TTS variants ``<int8|float>:<threads>``: the shipped int8 graph as is, or with its ConvInteger nodes run by
float kernels (the default), on that many onnxruntime threads. The 1-minute load average is written per row.
Rendering: the embedded animator (face-mesh warp + mouth interior) on the three portraits and two GRID first
frames, driven by a real utterance's articulation (``--faces-only`` skips the TTS rows and drives the faces with
the first GRID clip's own speech).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/bench/gsr_speed")
    ap.add_argument("--utterances", type=int, default=6)
    ap.add_argument("--frames", type=int, default=500)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--faces-only", action="store_true", help="rendering rows only (no TTS)")
    ap.add_argument("--tts-variants", nargs="+", default=["int8:1", "float:1", "float:2"])
    args = ap.parse_args()
    import cv2

    from host_pipeline.evaluation.gsr import read_frames, read_grid, read_transcripts
    from host_pipeline.paths import real_data_dir
    from host_pipeline.publickb.enroll import Enroller
    from host_pipeline.publickb.face import load_image
    from host_pipeline.publickb.store import Profile
    from host_pipeline.reconstruct.animator import EmbeddedAnimator
    from host_pipeline.reconstruct.config import ReconstructConfig
    from host_pipeline.reconstruct.tts import KokoroTts

    cv2.setNumThreads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = real_data_dir()
    cfg = ReconstructConfig(size=args.size, threads=1)
    enr = Enroller()
    rows = []
    texts = [t for _, _, t in read_transcripts(data)][: args.utterances]
    load = os.getloadavg()[0]
    speech = None
    for variant in ([] if args.faces_only else args.tts_variants):
        kind, _, threads = variant.partition(":")
        tts = KokoroTts(ReconstructConfig(tts_threads=int(threads or 1), tts_float_conv=kind == "float"))
        tts.synthesize(texts[0][:40], tts.default_voice())  # warm-up (first-run allocations)
        for text in texts:
            c0, t0, l0 = time.process_time(), time.perf_counter(), os.getloadavg()[0]
            speech = tts.synthesize(text, tts.default_voice())
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            rows.append((f"tts {variant}", text[:40], speech.duration_s, wall / speech.duration_s,
                         cpu / speech.duration_s, max(l0, os.getloadavg()[0])))
            print(f"TTS {variant} {speech.duration_s:5.2f} s audio: RTF {rows[-1][3]:.2f} wall, {rows[-1][4]:.2f} CPU "
                  f"(load {rows[-1][5]:.1f})", flush=True)
    an = EmbeddedAnimator(cfg)
    if speech is None:  # --faces-only: a GRID clip's own speech with timings estimated from its audio
        from host_pipeline.media import read_audio
        from host_pipeline.reconstruct.phonemes import estimate_timings, phonemize
        from host_pipeline.reconstruct.tts import Speech

        f, text = read_grid(data)[0]
        a = read_audio(data / "video" / "grid" / f)
        speech = Speech(a, 16000, estimate_timings(phonemize(text), a, 16000), text)
    faces = [("obama", load_image(data / "faces" / "face_recognition_obama.jpg")),
             ("biden2", load_image(data / "faces" / "face_recognition_biden2.jpg")),
             ("obama2", load_image(data / "faces" / "face_recognition_obama2.jpg"))]
    for f, _ in read_grid(data)[:2]:
        frames, _ = read_frames(data / "video" / "grid" / f)
        faces.append((Path(f).stem, frames[0]))
    fps_rows = []
    for face, img in faces:
        P, lm, _ = enr.face_from_image(img, face)
        prof = Profile(face, P, lm, None)  # type: ignore[arg-type]
        rig = an.rig(prof)
        p = an.drive(rig, speech, args.frames)
        c0, t0 = time.process_time(), time.perf_counter()
        per = []
        for i in range(args.frames):
            s = time.perf_counter()
            an.frame(rig, p["c"][i], p["pose"][i], p["jaw"][i], p["tongue"][i], p["labiodental"][i])
            per.append(time.perf_counter() - s)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        fps_rows.append((face, args.frames / wall, args.frames / cpu, float(np.percentile(per, 95) * 1000)))
        print(f"render {face}: {fps_rows[-1][1]:.0f} fps wall, {fps_rows[-1][2]:.0f} fps CPU, "
              f"p95 {fps_rows[-1][3]:.1f} ms/frame",
              flush=True)
    with open(out / "gsr_speed.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["kind", "item", "audio_s_or_frames", "wall_rtf_or_fps", "cpu_rtf_or_fps", "p95_ms", "loadavg_1min"])
        for r in rows:
            w.writerow([r[0], r[1], round(r[2], 3), round(r[3], 3), round(r[4], 3), "", round(r[5], 2)])
        for r in fps_rows:
            w.writerow(["render", r[0], args.frames, round(r[1], 1), round(r[2], 1), round(r[3], 2), round(load, 2)])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(11, 3.5))
    if not rows:
        ax[0].set_axis_off()
    variants = list(dict.fromkeys(r[0] for r in rows))
    med = {v: (np.median([r[3] for r in rows if r[0] == v]), np.median([r[4] for r in rows if r[0] == v]))
           for v in variants}
    ax[0].bar(range(len(variants)), [med[v][0] for v in variants], label="wall (median)")
    ax[0].bar(range(len(variants)), [med[v][1] for v in variants], alpha=0.7, label="CPU time (median)")
    ax[0].set_xticks(range(len(variants)), [v.replace("tts ", "") for v in variants])
    ax[0].axhline(0.5, color="r", ls="--", label="target 0.5")
    ax[0].set_title(f"Kokoro TTS real-time factor (max load {max([r[5] for r in rows] or [0]):.1f}, "
                    f"{os.cpu_count()} cores)",
                    fontsize=9)
    ax[0].set_xlabel("graph:threads")
    ax[0].legend(fontsize=7)
    ax[1].bar([r[0] for r in fps_rows], [r[1] for r in fps_rows], label="wall")
    ax[1].bar([r[0] for r in fps_rows], [r[2] for r in fps_rows], alpha=0.7, label="CPU time")
    ax[1].axhline(25, color="r", ls="--", label="target 25 fps")
    ax[1].set_title(f"embedded animator, {args.size}x{args.size}, one thread")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "gsr_speed.png", dpi=110)
    for v in variants:
        print(f"TTS {v}: median RTF {med[v][0]:.2f} wall, {med[v][1]:.2f} CPU")
    print(f"render min ({args.size}x{args.size}): {min(r[1] for r in fps_rows):.0f} fps wall, "
          f"{min(r[2] for r in fps_rows):.0f} fps CPU; "
          f"load avg {load:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
