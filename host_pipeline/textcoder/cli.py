"""``lgmtsc eval entropy`` (bits per character and bit/s of each text coder) and ``lgmtsc textcoder encode|decode``."""

from __future__ import annotations

import sys

BASELINES = ("utf8", "gzip", "zstd")
CODERS = ("static", "lm")


def _cfg(args):
    from ..config import load_config

    return load_config(args.config, args.set)


def _encode(args) -> int:
    from .coder import TextCoder

    coder = TextCoder.load(_cfg(args).textcoder)
    text = args.text if args.text != "-" else sys.stdin.read()
    msg = coder.encode(text, coder=args.coder)
    print(msg.hex())
    print(f"# {len(msg)} bytes, {8 * len(msg) / max(1, len(text)):.2f} bits/char, coder "
          f"{coder.decode_info(msg).coder if args.check else '?'}", file=sys.stderr)
    return 0


def _decode(args) -> int:
    from ..errors import InputError
    from .coder import TextCoder

    hexmsg = args.message if args.message != "-" else sys.stdin.read()
    try:
        msg = bytes.fromhex(hexmsg.strip())
    except ValueError:
        raise InputError("the message must be hex (as `lgmtsc textcoder encode` prints it)") from None
    print(TextCoder.load(_cfg(args).textcoder).decode(msg))
    return 0


def _entropy(args) -> int:
    from ..evaluation.entropy import run_entropy

    cfg = _cfg(args)
    coders = [c.strip() for c in args.coders.split(",") if c.strip()]
    out = args.out or f"{cfg.eval.results_dir}/entropy"
    return run_entropy(args.files, coders, cfg.textcoder, out, limit=args.limit)


def register(subparsers, eval_subparsers) -> None:
    tc = subparsers.add_parser("textcoder", help="lossless text coding (LM arithmetic coding) for the digital mode")
    sub = tc.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub.add_parser("encode", help="text -> hex message")
    p.add_argument("text", help="the text ('-' reads stdin)")
    p.add_argument("--coder", choices=["lm", "static", "utf8"], help="force one coder (default: textcoder.coder, "
                   "shortest of it, static and utf8)")
    p.add_argument("--check", action="store_true", help="decode the message again and report the coder used")
    p.set_defaults(func=_encode)
    p = sub.add_parser("decode", help="hex message -> text (a damaged message or a foreign model fails clearly)")
    p.add_argument("message", help="hex message ('-' reads stdin)")
    p.set_defaults(func=_decode)

    p = eval_subparsers.add_parser("entropy", help="bits per character and bit/s of UTF-8, gzip, zstd and the "
                                   "static and LM text coders")
    p.add_argument("files", nargs="*", metavar="FILE", help="text files (one message per line) or TSV files with "
                   "a transcript column; default: data/speech/transcripts.tsv")
    p.add_argument("--coders", default=",".join(BASELINES + CODERS),
                   help="comma-separated subset of utf8,gzip,zstd,static,lm")
    p.add_argument("--limit", type=int, help="only the first N messages")
    p.add_argument("--out", help="output folder for entropy.csv, entropy_summary.csv, entropy.png "
                   "(default <eval.results_dir>/entropy)")
    p.set_defaults(func=_entropy)
