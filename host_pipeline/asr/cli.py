"""``lgmtsc transcribe``: a media file in, its timed transcript out."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub, eval_sub) -> None:
    p = sub.add_parser("transcribe", help="timed transcript of an audio/video file (VAD + ASR)",
                       description="Transcribe the speech of any audio or video file ffmpeg reads.")
    p.add_argument("input", help="audio or video file; or a live source: follow:FILE (a file still being "
                   "written), alsa:DEVICE or pulse:DEVICE (a microphone)")
    p.add_argument("--hotwords", nargs="+", default=[], metavar="WORD", help="names/jargon to favour")
    p.add_argument("--language", help="force a language (e.g. en, zh); default: detect")
    p.add_argument("--json", action="store_true", help="print JSON instead of text lines")
    p.add_argument("-o", "--output", help="write the JSON transcript to this file")
    p.set_defaults(func=_transcribe)


def _transcribe(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..media import check_live_source, is_live_source, probe

    overrides = list(args.set) + ([f"asr.language={args.language}"] if args.language else [])
    cfg = load_config(args.config, overrides)
    live = is_live_source(args.input)
    check_live_source(args.input) if live else probe(args.input)  # bad input fails before any model loads
    if args.output and not Path(args.output).resolve().parent.is_dir():
        from ..errors import InputError

        raise InputError(f"{args.output}: no such directory for the transcript")
    from .extractor import SpeechExtractor

    extractor = SpeechExtractor(cfg.asr, cfg.vad)

    def show(seg):
        if not args.json:
            said = seg.text if seg.intelligible else f"({seg.outcome}: {seg.reason})"
            print(f"[{seg.start:7.2f} - {seg.end:7.2f}] {seg.language} {seg.confidence:.2f}  {said}", flush=True)

    if live:
        t = extractor.transcribe_live(args.input, args.hotwords, on_segment=show)
    else:
        t = extractor.transcribe_file(args.input, args.hotwords, on_segment=show)
    doc = t.to_dict()
    if args.json:
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=1)
        print()
    elif not t.segments:
        print("(no speech found)")
    if args.output:
        out = Path(args.output)
        tmp = out.with_name(f".{out.name}.part")
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(doc, f, ensure_ascii=False, indent=1)
            tmp.replace(out)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            from ..errors import InputError

            raise InputError(f"cannot write {out}: {e.strerror}") from None
    rtf = t.processing_s / t.duration_s if t.duration_s else 0.0
    lost = sum(not s.intelligible for s in t.segments)
    print(f"{len(t.segments)} utterance(s)" + (f" ({lost} unintelligible)" if lost else "") +
          f", {t.duration_s:.1f} s of audio in {t.processing_s:.1f} s (RTF {rtf:.2f})", file=sys.stderr)
    return 0
