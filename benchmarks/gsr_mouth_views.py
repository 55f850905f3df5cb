"""Close-ups of the animator's mouth: each enrolled face of a face evaluation at five fixed articulations, to look at
the opening's shape, the teeth and the cavity (docs/reconstruct.md, "Visible artefacts").

    python benchmarks/gsr_mouth_views.py --eval out/gsr_face --out out/bench/gsr_mouth_views

``--eval`` is the output folder of ``lgmtsc eval gsr --part face`` (its enrolled profiles are reused). Written:
``mouth_views.png``, one row per face (``--faces``), columns: half open, open, wide open, rounded, spread (the
articulation parameters are printed over each column); no head motion, the mouth cropped at 1.8 x 1.3 mouth widths.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# (label, jaw, gap, round, spread)
POSES = [("half open", 0.2, 0.3, 0.0, 0.0), ("open", 0.45, 0.6, 0.0, 0.0), ("wide open", 0.7, 0.9, 0.0, 0.0),
         ("rounded", 0.4, 0.5, 0.8, 0.0), ("spread", 0.3, 0.4, 0.0, 0.8)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", default="out/gsr_face", help="output folder of `lgmtsc eval gsr --part face`")
    ap.add_argument("--out", default="out/bench/gsr_mouth_views")
    ap.add_argument("--faces", default="bbaf2n,lbax4n,sbia1a,demo")
    args = ap.parse_args()
    import cv2

    from host_pipeline.publickb.config import PublicKbConfig
    from host_pipeline.publickb.store import PublicKb
    from host_pipeline.reconstruct.animator import EmbeddedAnimator
    from host_pipeline.reconstruct.config import ReconstructConfig

    kb_path = Path(args.eval) / "kb" / "publickb.sqlite"
    if not kb_path.exists():
        print(f"{kb_path}: no face evaluation there (run `lgmtsc eval gsr --part face --out {args.eval}` first)",
              file=sys.stderr)
        return 2
    kb = PublicKb(PublicKbConfig(db_path=str(kb_path)))
    an = EmbeddedAnimator(ReconstructConfig(head_motion=0.0))
    cw, ch = 270, 195
    rows = []
    for name in args.faces.split(","):
        prof = kb.get(name)
        if prof is None:
            print(f"{name}: not enrolled in {kb_path}", file=sys.stderr)
            return 2
        rig = an.rig(prof)
        row = []
        for label, jaw, gap, rnd, spr in POSES:
            c = np.array([jaw, gap, rnd, spr, 0.0, 0.0, 0.0])
            frame = an.frame(rig, c, np.zeros(3), jaw)
            centre = rig.mesh.vertices(c, np.zeros(3))[[13, 14]].mean(0)
            w = rig.mesh.mouth_width
            x0, y0 = int(max(centre[0] - 0.9 * w, 0)), int(max(centre[1] - 0.6 * w, 0))
            crop = cv2.resize(np.ascontiguousarray(frame[y0:y0 + int(1.3 * w), x0:x0 + int(1.8 * w)]), (cw, ch))
            if not rows:
                extra = f", round {rnd}" if rnd else f", spread {spr}" if spr else ""
                cv2.putText(crop, f"{label}: jaw {jaw}, gap {gap}{extra}", (4, 14),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.36, (255, 255, 0), 1, cv2.LINE_AA)
            if not row:
                cv2.putText(crop, name, (4, ch - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 0), 1, cv2.LINE_AA)
            row.append(crop)
        rows.append(np.concatenate(row, 1))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out / "mouth_views.png"), cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR))
    print(out / "mouth_views.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
