"""``lgmtsc loopback``: the sample (or any talking-face video) through a real GNU Radio loopback link."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def register(sub, eval_sub) -> None:
    p = sub.add_parser("loopback", help="send a video's speech through the GNU Radio loopback link and back",
                       description="ASR -> semantic codec -> gr-lgmtsc bursts through a channel model -> decoding; "
                                   "writes OUT/report.json")
    p.add_argument("video", help="talking-face video (or any audio/video file)")
    p.add_argument("--channel", choices=["awgn", "rayleigh", "none"], default="awgn")
    p.add_argument("--snr", type=float, default=15.0, metavar="DB", help="channel Es/N0 in dB (default 15)")
    p.add_argument("--seed", type=int, default=1, help="channel noise seed")
    p.add_argument("--hotwords", nargs="+", default=[], metavar="WORD")
    p.add_argument("--no-kb", dest="kb", action="store_false",
                   help="without the private KB (no SNR-driven compression, no correction/restoration)")
    p.add_argument("--user", help="the sender's id: their facts in the private KB, their face and voice in the "
                   "public KB")
    p.add_argument("--enroll", action="store_true", help="enroll --user in the public KB from this video first")
    p.add_argument("--no-video", dest="video_out", action="store_false",
                   help="stop at the received text (no TTS, no talking face)")
    p.add_argument("--out", help="output directory (default out/<time>)")
    p.set_defaults(func=_loopback)


def _loopback(args: argparse.Namespace) -> int:
    from ..config import load_config
    from .loopback import run_loopback

    cfg = load_config(args.config, args.set)
    out = Path(args.out or f"out/{time.strftime('%Y%m%d-%H%M%S')}")
    report = run_loopback(args.video, cfg, args.channel, args.snr, out, args.seed, args.hotwords, args.kb, args.user,
                          args.video_out, args.enroll, progress=lambda m: print(m, flush=True))
    s = report.to_dict()["summary"]
    print(f"{s['received']}/{s['utterances']} utterances received; mean sentence similarity {s['mean_similarity']}; "
          f"mean SNR estimate {s['mean_snr_db']} dB; {s['payload_channel_uses']} payload channel uses")
    print(f"report: {out / 'report.json'}")
    if report.video:
        print(f"video:  {out / report.video}")
    return 0 if s["received"] == s["utterances"] else 1
