"""Does the receiver speak in the sender's voice? 13 real speakers, two independent speaker encoders.

    python benchmarks/voice_similarity.py --out out/bench/voice [--figure docs/reconstruct/voice_similarity.png]
                                          [--only grid_talker_01 arctic_aew ...] [--top 4] [--evals 20]
                                          [--tts-threads N] [--discriminate 1.0] [--margin 0.05]
                                          [--match-only | --score-only] [--compare out/bench/voice]

Each of the 10 GRID talkers, LJ Speech and the CMU ARCTIC speakers aew and axb is enrolled from one recording
(the Kokoro voice matched against Resemblyzer at enrollment); the receiver speaks sentences the speaker did not say
there. Per speaker: similarity of the reconstruction to the speaker's real speech under Resemblyzer and under the
independent d-vector encoder, the same for the voice the old receiver-side matcher chose (5 Japanese voices),
round-trip WER and TTS real-time factor; same- and different-speaker baselines on the real recordings; the
identification matrices. See ``host_pipeline/evaluation/voice.py``. Matching is the slow part:
several ``--match-only --only ...`` processes may share the speakers (into one --out), then ``--score-only``.
Writes voice_speakers.csv, voice_identification_*.csv, voice_summary.json and voice_similarity.png into --out.
``--compare OLD`` also compares with an earlier run on the speakers both scored (a subset run against the full
one): per speaker and mean similarity under both encoders, identification (against the real speech of all 13),
and how alike the reconstructions of those speakers are; into --out/voice_compare.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def compare(new: Path, old: Path) -> dict:
    """This run (``new/scores``) against an earlier one (``old/scores``) on the speakers both scored."""
    import numpy as np

    def load(d: Path) -> dict:
        return {f.stem: json.loads(f.read_text()) for f in sorted((d / "scores").glob("*.json"))}

    a, b = load(old), load(new)
    base = json.loads((new / "voice_baselines.json").read_text())
    assert base == json.loads((old / "voice_baselines.json").read_text()), "the runs have different baselines"
    names = base["speakers"]
    common = [n for n in names if n in a and n in b]
    res: dict = {"speakers": common}
    for enc in ("resemblyzer", "dvector"):
        ref = np.asarray(base["reference_embeddings"][enc])
        idx = np.array([names.index(n) for n in common])
        res[enc] = {}
        for tag, runs in (("before", a), ("after", b)):
            e = np.stack([np.asarray(runs[n]["embedding"][enc]) for n in common])
            m = e @ ref.T
            u = e / np.linalg.norm(e, axis=1, keepdims=True)
            off = ~np.eye(len(u), dtype=bool)
            res[enc][tag] = {
                "per_speaker": {n: round(float(runs[n]["row"][enc]), 4) for n in common},
                "mean": round(float(np.mean([runs[n]["row"][enc] for n in common])), 4),
                "min": round(float(np.min([runs[n]["row"][enc] for n in common])), 4),
                "identified": int((m.argmax(1) == idx).sum()),
                "closest_real": {n: names[int(k)] for n, k in zip(common, m.argmax(1))},
                "reconstructions_cross_mean": round(float((u @ u.T)[off].mean()), 4),
                "real_cross_mean": round(float((ref[idx] @ ref[idx].T)[off].mean()), 4)}
    res["voices"] = {n: {"before": a[n]["row"]["voice"], "after": b[n]["row"]["voice"]} for n in common}
    (new / "voice_compare.json").write_text(json.dumps(res, indent=1) + "\n")
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/bench/voice")
    ap.add_argument("--figure", help="also copy the figure here (the one docs/reconstruct.md shows)")
    ap.add_argument("--only", nargs="+", help="speaker names (default: all 13)")
    ap.add_argument("--top", type=int, help="reconstruct.voice_match_top (nearest voices searched)")
    ap.add_argument("--evals", type=int, help="reconstruct.voice_match_evals (renders of the blend search)")
    ap.add_argument("--tts-threads", type=int, help="reconstruct.tts_threads, also the threads of the speaker encoder "
                    "(torch) and Whisper (1 is much faster on a crowded machine)")
    ap.add_argument("--discriminate", type=float,
                    help="reconstruct.voice_match_discriminate (penalty for sounding like another of the speakers, "
                         "whose real-voice embeddings the matcher sees as a public KB would hold them; 0: off)")
    ap.add_argument("--margin", type=float, help="reconstruct.voice_match_margin")
    ap.add_argument("--match-only", action="store_true", help="only match voices (recipes in OUT/recipes)")
    ap.add_argument("--score-only", action="store_true", help="only score the recipes already in OUT")
    ap.add_argument("--compare", help="an earlier run's --out: compare on the speakers both scored")
    args = ap.parse_args()
    import os

    from host_pipeline.evaluation.voice import match_speakers, score_speakers
    from host_pipeline.reconstruct.config import ReconstructConfig

    cfg = ReconstructConfig()
    cfg.voice_match_top = args.top or cfg.voice_match_top
    cfg.voice_match_evals = args.evals if args.evals is not None else cfg.voice_match_evals
    cfg.tts_threads = args.tts_threads if args.tts_threads is not None else cfg.tts_threads
    if cfg.tts_threads > 0:  # the speaker encoder and Whisper too: on a crowded machine, idle threads spin
        import torch

        torch.set_num_threads(cfg.tts_threads)
    if args.discriminate is not None:
        cfg.voice_match_discriminate = args.discriminate
    if args.margin is not None:
        cfg.voice_match_margin = args.margin
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
    if args.compare:
        print(json.dumps(compare(out, Path(args.compare)), indent=1))
    if args.figure:
        Path(args.figure).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "voice_similarity.png", args.figure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
