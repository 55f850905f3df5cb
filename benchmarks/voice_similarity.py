"""Does the receiver speak in the sender's voice? 13 real speakers, two independent speaker encoders.

    python benchmarks/voice_similarity.py --out out/bench/voice [--figure docs/reconstruct/voice_similarity.png]
                                          [--only grid_talker_01 arctic_aew ...] [--top 4] [--evals 20]
                                          [--tts-threads N]
                                          [--match-only | --score-only]

Each of the 10 GRID talkers, LJ Speech and the CMU ARCTIC speakers aew and axb is enrolled from one recording
(the Kokoro voice matched against Resemblyzer at enrollment); the receiver speaks sentences the speaker did not say
there. Per speaker: similarity of the reconstruction to the speaker's real speech under Resemblyzer and under the
independent d-vector encoder, the same for the voice the old receiver-side matcher chose (5 Japanese voices),
round-trip WER and TTS real-time factor; same- and different-speaker baselines on the real recordings; the
identification matrices. See ``host_pipeline/evaluation/voice.py``. Matching is the slow part:
several ``--match-only --only ...`` processes may share the speakers (into one --out), then ``--score-only``.
Writes voice_speakers.csv, voice_identification_*.csv, voice_summary.json and voice_similarity.png into --out.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/bench/voice")
    ap.add_argument("--figure", help="also copy the figure here (the one docs/reconstruct.md shows)")
    ap.add_argument("--only", nargs="+", help="speaker names (default: all 13)")
    ap.add_argument("--top", type=int, help="reconstruct.voice_match_top (nearest voices searched)")
    ap.add_argument("--evals", type=int, help="reconstruct.voice_match_evals (renders of the blend search)")
    ap.add_argument("--tts-threads", type=int, help="reconstruct.tts_threads (1 is faster on a crowded machine)")
    ap.add_argument("--match-only", action="store_true", help="only match voices (recipes in OUT/recipes)")
    ap.add_argument("--score-only", action="store_true", help="only score the recipes already in OUT")
    args = ap.parse_args()
    import os

    from host_pipeline.evaluation.voice import match_speakers, score_speakers
    from host_pipeline.reconstruct.config import ReconstructConfig

    cfg = ReconstructConfig()
    cfg.voice_match_top = args.top or cfg.voice_match_top
    cfg.voice_match_evals = args.evals if args.evals is not None else cfg.voice_match_evals
    cfg.tts_threads = args.tts_threads if args.tts_threads is not None else cfg.tts_threads
    out = Path(args.out)
    say = lambda m: print(m, flush=True)  # noqa: E731
    if not args.score_only:
        match_speakers(out, cfg=cfg, only=args.only, progress=say)
    if args.match_only:
        return 0
    summary = score_speakers(out, cfg=cfg, progress=say, only=args.only)
    summary["load_average_1min"] = round(os.getloadavg()[0], 2)
    (out / "voice_summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    if args.figure:
        Path(args.figure).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "voice_similarity.png", args.figure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
