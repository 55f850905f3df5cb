"""Diagnosis of the face evaluation's misses (docs/reconstruct.md, "Against real talking faces"): what costs the
demo portrait its identity, why the reconstructed articulation spread varies from face to face, and how far the
TTS phoneme timings are from the sound they name.

    python benchmarks/gsr_face_diagnosis.py --eval out/gsr_face --out out/bench/gsr_face_diagnosis

``--eval`` is the output folder of ``lgmtsc eval gsr --part face`` (its signed enrollments in ``kb/`` are reused,
so nothing is enrolled again; the clips' sentences are synthesised again with each profile's voice). Written:

- ``identity_per_basis.csv``: dlib distance to the enrolled demo portrait of one frame with each articulation
  parameter alone (jaw and lip gap at 0.5 and 1, rounding, spreading, f/v, blink, brows; no head motion), and
  how far lip rounding moves the lips and the jaw line (in mouth widths) at the current and the earlier falloff;
- ``mesh_reading.csv``: one sentence (the first clip's speech) rendered on every enrolled face: the opening of
  the mesh's own vertices (inner-lip gap over corner width, p95) against the face mesh's reading of the
  rendered frames (p95), and the reconstructed spread;
- ``timing_lag.csv``: per clip, the lag (10 ms steps) that best matches a vowel/consonant pattern of the TTS
  phoneme timings (vowels 1, stops and pauses 0, other consonants 0.4) with the TTS audio's log loudness
  (positive: the timings are late), and the reconstructed lip-sync offset from the evaluation's table;
- ``widest.csv`` and ``widest_<clip>.png``: per clip, the opening's 95th percentile of the real and the
  reconstructed frames and the phonemes under the reconstruction's widest frames (those at or above its 95th
  percentile), opening in eye distances too (the inner-lip gap over the eye-corner distance: a scale the
  mouth's own width does not set), and the enrolled picture's mouth width over its eye-corner distance; the
  PNG shows the mouth of the six widest real frames (top) and reconstructed frames (bottom) of ``--clip``
  (default bbaf2n), each with its opening.

``--parts identity,mesh,timing,widest`` selects the parts (default all).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _pattern(timings, n: int, hop: float = 0.01) -> np.ndarray:
    from host_pipeline.reconstruct.phonemes import PAUSE_S, VOWELS

    x = np.zeros(n)
    for p in timings:
        v = 1.0 if p.symbol in VOWELS else (0.0 if p.symbol in "pbtdkɡ" or p.symbol in PAUSE_S else 0.4)
        x[int(p.start / hop):int(p.end / hop)] = v
    return x


def timing_lag_ms(speech) -> tuple[float, float]:
    """(lag in ms, correlation) of the best match of the timings' pattern with the log loudness."""
    from host_pipeline.publickb.voice import envelope

    env = envelope(speech.audio, speech.sample_rate, 0.01)
    le = np.log(env + 1e-3 * env.max())
    le = np.interp(np.arange(env.size) * 0.01, np.arange(env.size) * 0.01 + 0.0125, le)  # window middles
    x = _pattern(speech.phoneme_timings, env.size)
    best = (0.0, -1.0)
    for k in range(-25, 26):  # x(t + k) against le(t): the timings k x 10 ms late
        a, b = (x[k:], le[:le.size - k]) if k >= 0 else (x[:k], le[-k:])
        c = float(np.corrcoef(a, b)[0, 1])
        if c > best[1]:
            best = (10.0 * k, c)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", default="out/gsr_face", help="output folder of `lgmtsc eval gsr --part face`")
    ap.add_argument("--out", default="out/bench/gsr_face_diagnosis")
    ap.add_argument("--parts", default="identity,mesh,timing,widest")
    ap.add_argument("--clip", default="bbaf2n", help="the clip whose widest mouths are shown")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    import cv2

    from host_pipeline.evaluation import gsr as G
    from host_pipeline.paths import real_data_dir
    from host_pipeline.publickb import face as F
    from host_pipeline.publickb.config import PublicKbConfig
    from host_pipeline.publickb.store import PublicKb
    from host_pipeline.reconstruct import face_mesh_warp as W
    from host_pipeline.reconstruct import metrics as M
    from host_pipeline.reconstruct.animator import EmbeddedAnimator
    from host_pipeline.reconstruct.config import ReconstructConfig
    from host_pipeline.reconstruct.pipeline import Reconstructor

    cv2.setNumThreads(1)
    ev, out = Path(args.eval), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    kb_path = ev / "kb" / "publickb.sqlite"
    if not kb_path.exists():
        print(f"{kb_path}: no evaluation there (run `lgmtsc eval gsr --part face --out {ev}` first)", file=sys.stderr)
        return 2
    kb = PublicKb(PublicKbConfig(db_path=str(kb_path)))
    cfg = ReconstructConfig(head_motion=0.0)
    rec = Reconstructor(cfg, kb=kb)
    items = [(Path(f).stem, t) for f, t in G.read_grid(real_data_dir())] + [("demo", G._demo_text())]
    profiles, speeches = {}, {}
    for name, text in items:
        prof = kb.get(name)
        voice, _ = rec.voice_for(prof)
        profiles[name], speeches[name] = prof, rec.tts.synthesize(text, voice)
        print(f"{name}: synthesised", flush=True)
    evaluated = {}
    if (ev / "face_clips.csv").exists():
        with open(ev / "face_clips.csv", encoding="utf-8") as f:
            evaluated = {r["clip"]: r for r in csv.DictReader(f)}

    if "widest" in parts:
        _widest(out, items, profiles, speeches, cfg, args.clip)
    if "identity" not in parts:
        return _rest(out, parts, items, profiles, speeches, evaluated, cfg)

    # 1. identity cost of each articulation parameter on the demo portrait
    im = M.IdentityMeter()
    demo = profiles["demo"]
    an = EmbeddedAnimator(cfg)
    rig = an.rig(demo)
    ref = im.descriptor(demo.image)
    B = W.BASES
    rows = []

    def one(label: str, c: dict[str, float]) -> None:
        v = np.zeros(len(B))
        for k, x in c.items():
            v[B.index(k)] = x
        d = im.distance(ref, an.frame(rig, v, np.zeros(3), c.get("jaw", 0.0)))
        rows.append((label, round(d, 4)))
        print(f"demo identity, {label}: {d:.3f}", flush=True)

    one("rest pose", {})
    for x in (0.5, 1.0):
        one(f"jaw {x}", {"jaw": x})
        one(f"jaw + gap {x}", {"jaw": x, "gap": x})
        one(f"round {x}", {"round": x})
    for k in ("spread", "labiodental", "blink", "brow"):
        one(f"{k} 1", {k: 1.0})
    below = ((rig.mesh.src_pos[:468] - rig.mesh.src_pos[168]) @ rig.mesh.down) / rig.mesh.face_height
    jaw_line = [i for i in F.FACE_OVAL if below[i] > 0.25]
    lips = [*F.LIPS_OUTER_UP, *F.LIPS_OUTER_LOW]
    current = W.ROUND_FALLOFF
    for falloff in (current, 0.3):
        W.ROUND_FALLOFF = falloff
        m = EmbeddedAnimator(cfg).rig(demo).mesh
        b = np.linalg.norm(m.bases[B.index("round")], axis=1) / m.mouth_width
        rows.append((f"round 1 falloff {falloff}: lips median / jaw line max displacement (mouth widths)",
                     f"{np.median(b[lips]):.4f} / {b[jaw_line].max():.4f}"))
        an = EmbeddedAnimator(cfg)
        rig = an.rig(demo)
        one(f"round 1 falloff {falloff}", {"round": 1.0})
    W.ROUND_FALLOFF = current
    with open(out / "identity_per_basis.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("frame", "dlib distance"), *rows])
    return _rest(out, parts, items, profiles, speeches, evaluated, cfg)


def _rest(out, parts, items, profiles, speeches, evaluated, cfg) -> int:
    from host_pipeline.publickb.face import FaceAnalyzer
    from host_pipeline.reconstruct import metrics as M
    from host_pipeline.reconstruct.animator import EmbeddedAnimator

    if "mesh" not in parts:
        return _timing(out, parts, items, speeches, evaluated)
    # 2. the face mesh's reading of the rendered mouth against the mesh's own geometry, one sentence on every face
    mesh = FaceAnalyzer(max_faces=1)
    sp = speeches[items[0][0]]
    rows = []
    for name, _ in items:
        an = EmbeddedAnimator(cfg)
        rig = an.rig(profiles[name])
        n = an.frame_count(sp)
        drv = an.drive(rig, sp, n)
        geo = []
        for i in range(n):
            q = rig.mesh.vertices(drv["c"][i], drv["pose"][i])
            geo.append(np.linalg.norm(q[14] - q[13]) / np.linalg.norm(q[291] - q[61]))
        read = M.mouth_openings(list(an.render(profiles[name], sp)), mesh)
        g95, r95 = float(np.percentile(geo, 95)), float(np.percentile(read, 95))
        rows.append((name, round(g95, 4), round(r95, 4), round(r95 / g95, 3), round(M.articulation_spread(read), 4)))
        print(f"{name}: vertices p95 {g95:.3f}, face mesh p95 {r95:.3f} ({r95 / g95:.2f}x), spread "
              f"{rows[-1][4]:.3f}", flush=True)
    with open(out / "mesh_reading.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([(f"face (sentence of {items[0][0]})", "vertex opening p95", "face mesh p95",
                                  "reading / geometry", "spread"), *rows])
    return _timing(out, parts, items, speeches, evaluated)


def _timing(out, parts, items, speeches, evaluated) -> int:
    if "timing" not in parts:
        return 0
    # 3. how far the TTS timings are from the sound
    rows = []
    for name, _ in items:
        lag, c = timing_lag_ms(speeches[name])
        off = evaluated.get(name, {}).get("offset_ms", "")
        rows.append((name, lag, round(c, 3), off))
        print(f"{name}: timings {lag:+.0f} ms from the loudness (r {c:.2f}); reconstructed offset {off}", flush=True)
    with open(out / "timing_lag.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("clip", "timing lag ms (+ late)", "correlation", "reconstructed lip-sync offset ms"),
                                 *rows])
    return 0


_ARPA = {"æ": "ae", "ɪ": "ih", "ɛ": "eh", "ʊ": "uh", "ə": "ax", "ʌ": "ah", "ɑ": "aa", "ɔ": "ao", "ɾ": "dx",
         "ɹ": "r", "ŋ": "ng", "ʃ": "sh", "ʒ": "zh", "θ": "th", "ð": "dh", "ɡ": "g", "ʧ": "ch", "ʤ": "jh",
         "ɐ": "a", "ɜ": "er", "ɚ": "er", "ɒ": "o", "ᵊ": "ax", "W": "aw", "I": "ay", "A": "ey", "O": "ow", "Y": "oy"}


def _ascii(symbol: str) -> str:
    """A phoneme in ASCII for a picture label (Kokoro's diphthong letters and IPA as ARPAbet)."""
    return "".join(_ARPA.get(c, c if c.isascii() else "?") for c in symbol)


def _widest(out: Path, items, profiles, speeches, cfg, clip: str) -> None:
    """4. Which sounds open the reconstruction widest, against the real clip's widest frames."""
    import cv2

    from host_pipeline.evaluation import gsr as G
    from host_pipeline.paths import real_data_dir
    from host_pipeline.publickb import face as F
    from host_pipeline.publickb.face import FaceAnalyzer
    from host_pipeline.reconstruct.animator import EmbeddedAnimator

    mesh = FaceAnalyzer(max_faces=1)

    def measure(frames):
        rows = []
        for fr in frames:
            f = mesh.largest(fr)
            if f is None:
                rows.append((np.nan, np.nan))
                continue
            lm = f.landmarks[:, :2]
            gap = np.linalg.norm(lm[F.LOWER_LIP_INNER_MID] - lm[F.UPPER_LIP_INNER_MID])
            rows.append((f.mouth_opening(), gap / np.linalg.norm(lm[F.EYE_CORNERS[1]] - lm[F.EYE_CORNERS[0]])))
        return np.array(rows)

    def mouth(fr, label):
        f = mesh.largest(fr)
        lm = f.landmarks[:, :2]
        c, w = lm[[*F.MOUTH_CORNERS]].mean(0), np.linalg.norm(lm[F.MOUTH_CORNERS[1]] - lm[F.MOUTH_CORNERS[0]])
        y0, y1, x0, x1 = int(c[1] - 0.7 * w), int(c[1] + 0.7 * w), int(c[0] - w), int(c[0] + w)
        im = cv2.resize(fr[max(0, y0):y1, max(0, x0):x1], (200, 140), interpolation=cv2.INTER_AREA).copy()
        cv2.putText(im, label, (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 0), 1, cv2.LINE_AA)
        return im

    rows = []
    for name, _ in items:
        if name == "demo":
            continue
        real, _ = G.read_frames(real_data_dir() / "video" / "grid" / f"{name}.mpg")
        sp = speeches[name]
        rec = list(EmbeddedAnimator(cfg).render(profiles[name], sp))
        mr, mc = measure(real), measure(rec)
        p95r, p95c = np.nanpercentile(mr, 95, axis=0), np.nanpercentile(mc, 95, axis=0)
        top = np.flatnonzero(mc[:, 0] >= p95c[0])

        def sound(i, timings=sp.phoneme_timings):
            t = (i + 0.5) / cfg.fps
            return next((p.symbol for p in timings if p.start <= t < p.end), "-")

        lm = profiles[name].landmarks[:, :2]
        mw = np.linalg.norm(lm[F.MOUTH_CORNERS[1]] - lm[F.MOUTH_CORNERS[0]]) / np.linalg.norm(
            lm[F.EYE_CORNERS[1]] - lm[F.EYE_CORNERS[0]])
        rows.append((name, round(p95r[0], 4), round(p95c[0], 4), round(p95c[0] / p95r[0], 3), round(p95r[1], 4),
                     round(p95c[1], 4), round(float(mw), 4), " ".join(f"{sound(i)}:{mc[i, 0]:.3f}" for i in top)))
        print(f"{name}: p95 real {p95r[0]:.3f} reconstructed {p95c[0]:.3f} (eye distances {p95r[1]:.3f} / "
              f"{p95c[1]:.3f}); widest reconstructed frames on {rows[-1][-1]}", flush=True)
        if name == clip:
            ir, ic = np.sort(np.argsort(mr[:, 0])[-6:]), np.sort(np.argsort(mc[:, 0])[-6:])
            top_r = np.concatenate([mouth(real[i], f"real {i} {mr[i, 0]:.2f}") for i in ir], 1)
            top_c = np.concatenate([mouth(rec[i], f"rec {i} /{_ascii(sound(i))}/ {mc[i, 0]:.2f}") for i in ic], 1)
            G.save_png(np.concatenate([top_r, np.full((4, top_r.shape[1], 3), 255, np.uint8), top_c], 0),
                       out / f"widest_{name}.png")
    with open(out / "widest.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("clip", "real p95 opening", "reconstructed p95", "ratio",
                                  "real p95 gap / eye distance", "reconstructed p95 gap / eye distance",
                                  "enrolled mouth width / eye distance",
                                  "reconstructed frames >= p95 (phoneme:opening)"), *rows])


if __name__ == "__main__":
    sys.exit(main())
