"""``lgmtsc enroll``, ``lgmtsc speak`` and ``lgmtsc eval gsr``: the public KB and the generative reconstructor."""

from __future__ import annotations

import argparse
import sys


def register(sub, eval_sub) -> None:
    p = sub.add_parser("enroll", help="enroll a user in the public KB: face image P and vocal features v",
                       description="Pick the best frontal, sharp face frame and measure the voice (speaker "
                                   "embedding, pitch, rate); store them signed in the public KB.")
    p.add_argument("--user", required=True, help="user id")
    p.add_argument("--video", help="a talking-face video of the user (face and speech)")
    p.add_argument("--image", help="a picture of the user's face (with --audio)")
    p.add_argument("--audio", help="a recording of the user's speech (with --image; overrides --video's audio)")
    p.set_defaults(func=_enroll)

    p = sub.add_parser("speak", help="text -> mp4 of an enrolled user speaking it (the receiver's reconstruction)")
    p.add_argument("--user", required=True, help="an enrolled user id")
    p.add_argument("text", help="what to say")
    p.add_argument("-o", "--output", required=True, help="output mp4 (H.264 + AAC)")
    p.add_argument("--frames", metavar="DIR", help="also write every frame as PNG here (live-view check)")
    p.set_defaults(func=_speak)

    p = sub.add_parser("users", help="list the users enrolled in the public KB")
    p.set_defaults(func=_users)

    e = eval_sub.add_parser("gsr", help="reconstructor: the talking face against real GRID clips (articulation, "
                                        "closure, lip-sync, identity, streaks, fps) and the voice (similarity, WER)")
    e.add_argument("--out", required=True, help="output directory (CSV, JSON, PNG strips)")
    e.add_argument("--limit", type=int, default=0, help="GRID clips to use (default 0: all)")
    e.add_argument("--part", choices=["face", "voice", "all"], default="all", help="which evaluation (default all)")
    e.set_defaults(func=_eval_gsr)


def _configs(args):
    from ..config import load_config
    from ..publickb.config import PublicKbConfig
    from .config import ReconstructConfig

    cfg = load_config(args.config, args.set)
    return getattr(cfg, "reconstruct", ReconstructConfig()), getattr(cfg, "publickb", PublicKbConfig())


def _check_video(path: str, need_audio: bool) -> None:
    """A readable file with a video track (and an audio track when the speech comes from it), before models load."""
    import av

    from ..errors import InputError
    from ..media import probe

    if need_audio:
        probe(path)
    try:
        with av.open(path) as c:
            if not c.streams.video:
                raise InputError(f"{path}: has no video track", hint="use --image FILE --audio FILE instead")
    except (av.error.FFmpegError, OSError) as e:
        raise InputError(f"{path}: not a readable video ({type(e).__name__})") from None


def _enroll(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..media import probe
    from ..publickb.face import load_image

    rc, kb_cfg = _configs(args)
    if not args.video and not (args.image and args.audio):
        raise InputError("enroll needs --video FILE, or --image FILE and --audio FILE")
    if args.image:
        load_image(args.image)  # bad input fails before models load
    if args.audio:
        probe(args.audio)  # the speech; the video then only needs a face
    if args.video:
        _check_video(args.video, need_audio=not args.audio)
    from ..publickb.enroll import Enroller
    from ..publickb.store import PublicKb

    enroller = Enroller(kb_cfg, match_voice=rc.tts_backend == "kokoro", tts_cfg=rc)  # the voice is matched once, here
    prof = enroller.enroll(args.user, video=args.video, image=args.image, audio=args.audio)
    kb = PublicKb(kb_cfg)
    signer = kb.put(prof)
    for w in enroller.warnings:
        print(f"warning: {w}", file=sys.stderr)
    v = prof.voice
    print(f"enrolled {args.user}: face {prof.meta['face_height_px']:.0f} px high (yaw {prof.meta['yaw']:+.2f}, "
          f"pitch {prof.meta['pitch']:+.2f}), voice F0 {v.f0_median_hz:.0f} Hz, {v.rate_syllables_s:.1f} syll/s, "
          f"{v.speech_s:.1f} s of speech; signed {signer[:24]}...; KB {kb.db_path}")
    if prof.tts_voice:
        t, rep = prof.tts_voice, prof.tts_voice["report"]
        print(f"voice: {', '.join(f'{k} {w:.2f}' for k, w in sorted(t['weights'].items(), key=lambda kv: -kv[1]))}; "
              f"pitch {t['pitch']:.3f}, rate {t['speed']:.2f}; Resemblyzer {rep['similarity_enrollment']:.3f} on the "
              f"enrollment speech, round-trip WER {rep['harvard_wer']:.1%} ({rep['renders']} renders, "
              f"{rep['seconds']:.0f} s)")
    return 0


def _speak(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .pipeline import Reconstructor

    rc, kb_cfg = _configs(args)
    save = None
    if args.frames:
        from PIL import Image

        d = Path(args.frames)
        d.mkdir(parents=True, exist_ok=True)
        save = lambda i, fr: Image.fromarray(fr).save(d / f"frame_{i:05d}.png")  # noqa: E731
    rec = Reconstructor(rc, kb_cfg)
    speech, n = rec.to_mp4(args.user, args.text, args.output, on_frame=save)
    print(f"{args.output}: {n} frames, {speech.duration_s:.2f} s, TTS RTF {speech.rtf:.2f}")
    return 0


def _users(args: argparse.Namespace) -> int:
    from ..publickb.store import PublicKb

    _, kb_cfg = _configs(args)
    kb = PublicKb(kb_cfg)
    for u in kb.users():
        print(u)
    return 0


def _eval_gsr(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from ..evaluation.gsr import run_gsr

    rc, _ = _configs(args)
    parts = ("face", "voice") if args.part == "all" else (args.part,)
    s = run_gsr(Path(args.out), args.limit, rc, progress=lambda m: print(m, flush=True), parts=parts)
    for part, summary in s.items():
        print(f"{part}: {json.dumps(summary, default=str)}")
    return 0
