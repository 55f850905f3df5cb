"""``lgmtsc kb ...``: manage users' private facts and run the KB's transmitter/receiver steps on a sentence."""

from __future__ import annotations

import json
import sys


def _configs(args):
    """(KbConfig, LlmConfig) from the global configuration (sections ``kb`` and ``llm``), defaults if absent."""
    from ..config import load_config
    from ..llm.config import LlmConfig
    from .config import KbConfig

    cfg = load_config(args.config, args.set)
    kb, llm = getattr(cfg, "kb", None) or KbConfig(), getattr(cfg, "llm", None) or LlmConfig()
    if getattr(args, "db", None):
        kb.db_path = args.db
    return kb, llm


def _store(args):
    from .embed import load_embedder
    from .store import FactStore

    kb, _ = _configs(args)
    return FactStore(kb.db_path, load_embedder(kb.embedder))


def _add_fact(args) -> int:
    store = _store(args)
    for fact in args.facts:
        print(f"{store.add(args.user, fact)}\t{args.user}\t{' '.join(fact.split())}")
    return 0


def _list(args) -> int:
    from .store import FactStore

    kb, _ = _configs(args)
    facts = FactStore(kb.db_path).list(args.user)
    for f in facts:
        print(f"{f.id}\t{f.user}\t{f.text}")
    if not facts:
        print(f"no facts{' for ' + args.user if args.user else ''} in {FactStore(kb.db_path).path}", file=sys.stderr)
    return 0


def _remove(args) -> int:
    from ..errors import InputError
    from .store import FactStore

    if args.id is None and not args.all:
        raise InputError("say which facts to remove", hint="--id N (see `lgmtsc kb list`) or --all")
    kb, _ = _configs(args)
    n = FactStore(kb.db_path).remove(args.user, None if args.all else args.id)
    print(f"removed {n} fact(s) of {args.user}")
    return 0 if n else 1


def _classify(args) -> int:
    from .anfis import CLASSES, Anfis, resolve_params_path

    kb, _ = _configs(args)
    model = Anfis.load(resolve_params_path(kb.anfis_params))
    for snr in args.snr:
        p = model.probs([snr])[0]
        cls = CLASSES[int(p.argmax())]
        band = getattr(kb, f"band_{cls}")
        print(f"SNR {snr:g} dB -> {cls} ({band[0]:.0%}-{band[1]:.0%} of the words)  "
              + "  ".join(f"p({c})={v:.2f}" for c, v in zip(CLASSES, p)))
    return 0


def _run(args) -> int:
    from .private_kb import PrivateKnowledgeBase

    kb_cfg, llm_cfg = _configs(args)
    text = args.text if args.text != "-" else sys.stdin.read()
    kb = PrivateKnowledgeBase.load(kb_cfg, llm_cfg)
    fn = kb.transmit if args.action == "tx" else kb.receive
    res = fn(args.user, text, snr_db=args.snr, length_class=args.length_class)
    if args.json:
        print(json.dumps(res.to_dict(), indent=1))
    else:
        print(res.text)
        print(f"# class {res.length_class} (band {res.band[0]:.0%}-{res.band[1]:.0%}), ratio {res.ratio:.2f}, "
              f"facts: {len(res.facts)}", file=sys.stderr)
        for s in res.steps:
            print(f"#   {s.step}: {s.source} ({s.reason}) {s.seconds:.1f} s", file=sys.stderr)
    return 0


def register(subparsers, eval_subparsers) -> None:
    kb = subparsers.add_parser("kb", help="private knowledge base: user facts and the LLM prompt codec")
    sub = kb.add_subparsers(dest="action", metavar="ACTION", required=True)

    def common(p, user_required=True):
        p.add_argument("--user", required=user_required, help="the user the facts belong to")
        p.add_argument("--db", help="SQLite file (default kb.db_path, else $LGMTSC_DATA/kb.sqlite)")
        return p

    p = common(sub.add_parser("add-fact", help="store facts about a user (embedded for retrieval)"))
    p.add_argument("facts", nargs="+", metavar="FACT")
    p.set_defaults(func=_add_fact)
    common(sub.add_parser("list", help="list the stored facts (of one user with --user)"),
           False).set_defaults(func=_list)
    p = common(sub.add_parser("remove", help="remove one fact (--id) or all facts (--all) of a user"))
    g = p.add_mutually_exclusive_group()
    g.add_argument("--id", type=int)
    g.add_argument("--all", action="store_true")
    p.set_defaults(func=_remove)
    p = sub.add_parser("classify", help="the prompt encoder's length class for SNR values")
    p.add_argument("snr", type=float, nargs="+", help="SNR in dB (Es/N0)")
    p.set_defaults(func=_classify)
    for name, what in (("tx", "transmitter: disambiguate with the user's facts and compress for the SNR"),
                       ("rx", "receiver: correct channel errors and restore the compressed length")):
        p = common(sub.add_parser(name, help=what), False)
        p.add_argument("text", help="the sentence ('-' reads stdin)")
        p.add_argument("--snr", type=float, help="channel SNR in dB (chooses the length class)")
        p.add_argument("--class", dest="length_class", choices=["low", "medium", "high"],
                       help="length class instead of --snr (e.g. from the PDU header)")
        p.add_argument("--json", action="store_true", help="print every step as JSON")
        p.set_defaults(func=_run)
