"""``lgmtsc eval downstream|kb|compression|sweep``: the paper's evaluations on the sweep engine.

Heavy imports (torch, models, Ray) happen in the handlers, so ``lgmtsc --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from ..errors import ConfigError, InputError


def _numbers(text: str, kind: type, example: str) -> list:
    try:
        values = [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        values = []
    if not values:
        raise ConfigError(f"bad {'integer' if kind is int else 'number'} list {text!r}",
                          hint=f"use a comma-separated list, e.g. {example}")
    return values


def _floats(text: str) -> list[float]:
    return _numbers(text, float, "-4,0,4")


def _ints(text: str) -> list[int]:
    return _numbers(text, int, "0,1,2")


def _names(text: str, allowed: tuple[str, ...], what: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in names if x not in allowed]
    if bad or not names:
        raise InputError(f"unknown {what} {bad[0] if bad else text!r}", hint=f"one or more of {', '.join(allowed)}")
    return names


def _eval_config(args):
    from ..config import load_config

    return load_config(args.config, args.set).eval


def _command() -> str:
    return "lgmtsc " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _run_downstream(args, name: str, dataset: str, systems: list[str], snrs: list[float], seeds: list[int],
                    n: int, words, title: str) -> int:
    from .plots import plot, repo_relative, write_csv
    from .stats import paired_differences, summarise
    from .sweep import Sweep, read_results, run_sweep

    ev = _eval_config(args)
    out = Path(args.out or ev.results_dir)
    results = out / f"{name}_cells.jsonl"
    channels = _names(args.channels, ("awgn", "rayleigh"), "channel")
    fixed = {"dataset": dataset, "n": n, "words": words, "checkpoint": args.checkpoint}
    if args.config or args.set:  # the workers load the same configuration (and the cells are keyed by it)
        fixed.update(config=args.config, set=list(args.set))
    sweep = Sweep(name, "host_pipeline.evaluation.downstream:downstream_cell",
                  {"snr_db": snrs, "channel": channels, "system": systems}, seeds, fixed)
    if args.plot_only:
        keys = {c.key for c in sweep.cells()}  # this sweep's cells only, not others sharing the file
        records = [r for r in read_results(results) if r.get("key") in keys]
        if not records:
            raise InputError(f"no results in {results}", hint="run the evaluation without --plot-only first")
    else:
        records = run_sweep(sweep, results, workers=args.workers or ev.workers, ray_address=args.ray,
                            progress=not args.quiet)
    rows = summarise(records)
    csv_path = write_csv(rows, out / f"{name}.csv")
    paired = paired_differences(records)
    if paired:
        write_csv(paired, out / f"{name}_paired.csv")
    png = plot(rows, out / f"{name}.png", title)
    if not args.plot_only:  # the command that computed the cells, not one that only redrew them
        (out / f"{name}.json").write_text(json.dumps({"command": _command(), "results": repo_relative(results),
                                                      "cells": len(records)}, indent=1) + "\n")
    print(f"{'system':<13}{'channel':<10}{'SNR':>6}{'acc':>7}{'95% CI':>18}{'lost':>6}")
    for r in rows:
        print(f"{r['system']:<13}{r['channel']:<10}{r['snr_db']:>6.1f}{r['accuracy']:>7.3f}"
              f"{'[%.3f, %.3f]' % (r['ci_low'], r['ci_high']):>18}{r['lost_fraction']:>6.2f}")
    print(f"wrote {csv_path}, {png} (cells: {results})")
    return 0


def _downstream(args) -> int:
    from .datasets import DATASETS
    from .downstream import SYSTEMS

    if args.dataset not in DATASETS:
        raise InputError(f"unknown dataset {args.dataset!r}", hint=f"one of {', '.join(DATASETS)}")
    ev = _eval_config(args)
    systems = _names(args.systems, SYSTEMS, "system")
    words = ev.imdb_words if args.dataset == "imdb" else None
    title = {"sms_spam": "SMS spam detection on the received text (Fig. 11)",
             "imdb": "IMDB sentiment of the received text (Fig. 9)"}[args.dataset]
    return _run_downstream(args, f"downstream_{args.dataset}", args.dataset, systems,
                           _floats(args.snr) if args.snr else ev.downstream_snrs,
                           _ints(args.seeds) if args.seeds else ev.seeds,
                           args.messages or (ev.imdb_messages if args.dataset == "imdb" else ev.downstream_messages),
                           words, title)


def _kb(args) -> int:
    from .downstream import SYSTEMS

    ev = _eval_config(args)
    systems = _names(args.systems, SYSTEMS, "system")
    return _run_downstream(args, "kb_imdb", "imdb", systems, _floats(args.snr) if args.snr else ev.kb_snrs,
                           _ints(args.seeds) if args.seeds else ev.kb_seeds, args.messages or ev.kb_messages,
                           ev.imdb_words, f"IMDB sentiment of the received text, first {ev.imdb_words} words "
                                          f"(Fig. 9: KB ablation)")


def _compression(args) -> int:
    from .compression import run_compression

    ev = _eval_config(args)
    out = Path(args.out or Path(ev.results_dir) / "compression")
    run_compression([Path(v) for v in args.videos], out, crfs=_ints(args.crf) if args.crf else ev.crfs,
                    av1_crf=args.av1_crf if args.av1_crf is not None else ev.av1_crf, transcript=args.transcript,
                    command=_command())
    return 0


def _sweep(args) -> int:
    from .sweep import Sweep, run_sweep

    ev = _eval_config(args)
    sweep = Sweep.from_toml(args.description)
    results = Path(args.out or Path(ev.results_dir) / f"{sweep.name}_cells.jsonl")
    records = run_sweep(sweep, results, workers=args.workers or ev.workers, ray_address=args.ray,
                        progress=not args.quiet)
    print(f"{len(records)} of {len(sweep.cells())} cells in {results}")
    return 0


def _common(p: argparse.ArgumentParser, kb: bool = False) -> None:
    p.add_argument("--out", metavar="DIR", help="output directory (default eval.results_dir)")
    p.add_argument("--workers", type=int, help="local worker processes (default eval.workers)")
    p.add_argument("--ray", metavar="ADDRESS", help="run the cells on a Ray cluster ('local' starts one here)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def register(subparsers, eval_subparsers) -> None:
    default_sample = "samples/demo/talking_face_demo.mp4"
    for name, helptext, fn in (
            ("downstream", "classifier accuracy on the received text vs SNR (Figs. 9, 11)", _downstream),
            ("kb", "IMDB sentiment vs SNR: full system / without KB / without joint coding (Fig. 9)", _kb)):
        p = eval_subparsers.add_parser(name, help=helptext)
        if fn is _downstream:
            p.add_argument("--dataset", required=True, help="sms_spam or imdb")
            p.add_argument("--systems", default="semantic,digital",
                           help="comma list of semantic, semantic+kb, digital, digital+kb (default semantic,digital)")
        else:
            p.add_argument("--systems", default="semantic+kb,semantic,digital+kb,digital",
                           help="comma list (default: all four)")
        p.add_argument("--channels", default="awgn,rayleigh")
        p.add_argument("--snr", metavar="LIST", help="Es/N0 points in dB, e.g. --snr=-4,0,4 (default from [eval])")
        p.add_argument("--seeds", metavar="LIST", help="channel seeds, e.g. 0,1,2 (default from [eval])")
        p.add_argument("--messages", type=int, help="held-out texts per cell")
        p.add_argument("--checkpoint", default="minilm-l6-u16", help="codec checkpoint (default minilm-l6-u16)")
        p.add_argument("--plot-only", action="store_true", help="only regenerate CSV and PNG from the results file")
        _common(p)
        p.set_defaults(func=fn)
    p = eval_subparsers.add_parser("compression", help="bytes/s and compression ratio vs H.264, AV1, Codec2, "
                                                       "transcript (Fig. 8)")
    p.add_argument("videos", nargs="*", default=[default_sample], help=f"talking-face clips (default {default_sample})")
    p.add_argument("--transcript", help="use this transcript instead of running ASR on the clip (one clip only)")
    p.add_argument("--crf", metavar="LIST", help="H.264 CRFs (default from [eval])")
    p.add_argument("--av1-crf", type=int, help="libaom-av1 CRF (default from [eval])")
    p.add_argument("--out", metavar="DIR", help="output directory (default eval.results_dir/compression)")
    p.set_defaults(func=_compression)
    p = eval_subparsers.add_parser("sweep", help="run any sweep description (TOML) on the sweep engine")
    p.add_argument("description", help="TOML: name, task = 'module:function', seeds, [grid], [fixed]")
    _common(p)
    p.set_defaults(func=_sweep)
