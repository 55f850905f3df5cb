"""``lgmtsc eval codec`` and ``lgmtsc codec roundtrip``; torch and transformers are imported in the handlers."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ..errors import ConfigError

DEFAULT_CHECKPOINTS = "minilm-l6-u128,minilm-l6-u16,minilm-l6-u8"


def _snr_grid(text: str) -> list[float]:
    """``-5:20:2.5`` (start:stop:step, stop included) or ``0,5,10``."""
    try:
        if ":" in text:
            a, b, s = (float(x) for x in text.split(":"))
            n = int(round((b - a) / s))
            return [round(a + i * s, 3) for i in range(n + 1)]
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"bad SNR grid {text!r}",
                          hint="use start:stop:step (e.g. -5:20:2.5) or a list 0,5,10") from None


def _codec_config(args):
    from ..config import load_config
    from .config import CodecConfig

    cfg = load_config(args.config, args.set)
    return getattr(cfg, "codec", None) or CodecConfig()


def _eval(args: argparse.Namespace) -> int:
    from ..evaluation.codec import run_eval

    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    bad = [c for c in channels if c not in ("awgn", "rayleigh")]
    if bad:
        raise ConfigError(f"unknown channel {bad[0]!r}", hint="use awgn and/or rayleigh")
    encoder = args.encoder or _codec_config(args).encoder
    rows = run_eval([c.strip() for c in args.checkpoints.split(",") if c.strip()], Path(args.out), encoder,
                    channels, _snr_grid(args.snr), args.messages, not args.no_baseline, args.seed, args.threads,
                    command="lgmtsc " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    print(f"{'checkpoint':<18}{'scheme':<10}{'channel':<9}{'SNR':>6}{'tokacc':>8}{'BLEU1':>7}{'BLEU4':>7}"
          f"{'sim':>7}{'WER':>7}")
    for r in rows:
        print(f"{r['checkpoint']:<18}{r['scheme']:<10}{r['channel']:<9}{r['snr_db']:>6.1f}{r['token_accuracy']:>8.3f}"
              f"{r['bleu1']:>7.3f}{r['bleu4']:>7.3f}{r['similarity']:>7.3f}{r['wer']:>7.3f}")
    print(f"wrote {Path(args.out) / 'codec_eval.csv'} and codec_*.png")
    return 0


def _roundtrip(args: argparse.Namespace) -> int:
    import torch

    from . import channel as ch
    from .codec import SemanticCodec

    cfg = _codec_config(args)
    if args.checkpoint:
        cfg.checkpoint = args.checkpoint
    codec = SemanticCodec.load(cfg)
    msg = codec.encode(args.text)
    gen = torch.Generator().manual_seed(args.seed)
    out = ch.transmit(torch.as_tensor(msg.symbols), args.snr, args.channel, generator=gen)
    text = codec.decode(out.symbols.numpy(), out.noise_var.numpy(), msg.n_tokens)
    print(f"sent      ({msg.n_tokens} tokens, {msg.symbols.size} complex symbols): "
          f"{codec.encoder.canonical(args.text)}")
    print(f"received  ({args.channel}, Es/N0 {args.snr:g} dB): {text}")
    return 0


def register(subparsers, eval_subparsers) -> None:
    e = eval_subparsers.add_parser("codec", help="semantic codec vs digital baseline: accuracy, BLEU, similarity, "
                                   "WER versus SNR (CSV + PNG)")
    e.add_argument("--checkpoints", default=DEFAULT_CHECKPOINTS,
                   help=f"comma-separated (default {DEFAULT_CHECKPOINTS})")
    e.add_argument("--encoder", help="BERT encoder (default codec.encoder)")
    e.add_argument("--channels", default="awgn,rayleigh")
    e.add_argument("--snr", default="-5:20:2.5", help="Es/N0 grid in dB: start:stop:step or a list")
    e.add_argument("--messages", type=int, default=300, help="held-out messages per condition")
    e.add_argument("--no-baseline", action="store_true", help="skip the digital baseline")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--threads", type=int, default=2)
    e.add_argument("--out", default="out/codec_eval", help="output directory")
    e.set_defaults(func=_eval)

    c = subparsers.add_parser("codec", help="the semantic codec").add_subparsers(dest="action", required=True)
    r = c.add_parser("roundtrip", help="encode a text, pass it through a simulated channel, decode it")
    r.add_argument("text")
    r.add_argument("--snr", type=float, default=10.0, help="Es/N0 in dB")
    r.add_argument("--channel", choices=["awgn", "rayleigh"], default="awgn")
    r.add_argument("--checkpoint", help="checkpoint name or path (default codec.checkpoint)")
    r.add_argument("--seed", type=int, default=0)
    r.set_defaults(func=_roundtrip)
