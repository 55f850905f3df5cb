"""The link's commands: ``lgmtsc tx``, ``lgmtsc rx``, ``lgmtsc loopback``, ``lgmtsc report`` and ``lgmtsc keys``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def register(sub, eval_sub) -> None:
    p = sub.add_parser("loopback", help="the whole link on one machine: flowgraph + receiver + transmitter processes",
                       description="Starts the gr-lgmtsc loopback flowgraph, `lgmtsc rx` and `lgmtsc tx` as processes "
                                   "linked by ZeroMQ, supervises them, and writes OUT/report.json, report.html and "
                                   "video.mp4.")
    p.add_argument("video", help="talking-face video (or any audio/video file)")
    p.add_argument("--channel", choices=["awgn", "rayleigh", "none"], default="awgn")
    p.add_argument("--snr", type=float, default=15.0, metavar="DB", help="channel Es/N0 in dB (default 15)")
    p.add_argument("--seed", type=int, default=1, help="channel noise seed")
    p.add_argument("--mode", choices=["semantic", "digital"], help="transmission mode (default: link.mode)")
    _host_options(p)
    p.add_argument("--user", help="the sender's id: their key, their facts in the private KB, their face and voice "
                   "in the public KB")
    p.add_argument("--enroll", action="store_true", help="enroll --user in the public KB from this video first")
    p.add_argument("--no-video", dest="video_out", action="store_false",
                   help="stop at the received text (no TTS, no talking face)")
    p.add_argument("--realtime", action="store_true", help="feed the file at its real speed, as a live source "
                   "(end-to-end latency is measured from the end of speech)")
    p.add_argument("--out", help="output directory (default out/<time>)")
    p.add_argument("--view", nargs="?", const="127.0.0.1:8765", metavar="ADDR",
                   help="live view: serve a web page that plays the received talking face with its sound as it is "
                   "produced (default 127.0.0.1:8765; HOST:PORT, or port 0 for any free port)")
    p.add_argument("--view-wait", type=float, default=0.0, metavar="S", help="with --view: wait up to S seconds "
                   "for a page to connect before transmitting (default 0)")
    u = p.add_argument_group("over the air", "two USRPs instead of the channel model (--channel/--snr then unused)")
    u.add_argument("--usrp", nargs=2, metavar=("TX_DEV_ARGS", "RX_DEV_ARGS"),
                   help='UHD device args of the transmitting and the receiving radio, e.g. "serial=3164A1F" '
                        '"serial=3164B2E" (use "" for the only radio of a kind)')
    u.add_argument("--freq", type=float, default=2.45e9, help="carrier frequency in Hz (default 2.45e9)")
    u.add_argument("--tx-gain", type=float, default=10.0, help="TX gain in dB (default 10)")
    u.add_argument("--rx-gain", type=float, default=20.0, help="RX gain in dB (default 20)")
    u.add_argument("--samp-rate", type=float, default=1e6, help="radio sample rate in S/s (default 1e6)")
    p.set_defaults(func=_loopback)

    t = sub.add_parser("tx", help="transmitter host: video/live input -> ASR -> KB -> encoder -> flowgraph",
                       description="Sends every utterance of VIDEO (or a live source follow:FILE, alsa:DEV, pulse:DEV) "
                                   "to the flowgraph at link.tx_address as one authenticated PDU each.")
    t.add_argument("video", help="talking-face video, audio file, or live source")
    t.add_argument("--user", required=True, help="the sender's id (its key is provisioned if missing)")
    t.add_argument("--mode", choices=["semantic", "digital"], help="transmission mode (default: link.mode)")
    _host_options(t)
    t.add_argument("--log", default="tx.jsonl", help="append one JSON line per sent message here (default tx.jsonl)")
    t.add_argument("--realtime", action="store_true", help="feed a file at its real speed")
    t.add_argument("--start-after", type=float, metavar="S", help="skip utterances ending before S seconds (resume)")
    t.set_defaults(func=_tx)

    r = sub.add_parser("rx", help="receiver host: flowgraph -> decoding -> KB -> the sender's voice and face",
                       description="Serves bursts from link.rx_address until interrupted; writes one mp4 per verified "
                                   "utterance to OUT and one JSON line per message to the log.")
    r.add_argument("--out", default="out/rx", help="directory for the utterance videos (default out/rx)")
    _host_options(r)
    r.add_argument("--log", help="JSON-lines log (default OUT/rx.jsonl)")
    r.add_argument("--no-video", dest="video_out", action="store_false", help="text only (no TTS, no face)")
    r.add_argument("--preview", type=int, default=6, metavar="N", help="every N-th rendered frame goes to "
                   "OUT/preview.jpg (default 6, about 4 per second; 0 = off); watch it with e.g. `feh -R 0.3`")
    r.add_argument("--view", nargs="?", const="127.0.0.1:8765", metavar="ADDR",
                   help="live view: serve a web page that plays the received talking face with its sound as it is "
                   "produced (default 127.0.0.1:8765; HOST:PORT, or port 0 for any free port)")
    r.add_argument("--view-sent-log", metavar="TX_LOG", help="with --view: the transmitter's log, to show what was "
                   "sent beside what was received (the loopback passes it)")
    r.set_defaults(func=_rx)

    m = sub.add_parser("report", help="merge a transmitter log and a receiver log into report.json/.html",
                       description="For runs over two machines: bring tx.jsonl and rx.jsonl (and the receiver's "
                                   "utterance videos) together, then merge them.")
    m.add_argument("tx_log")
    m.add_argument("rx_log")
    m.add_argument("--video", help="the transmitted video (for the original frames in report.html)")
    m.add_argument("--out", required=True, help="directory holding the receiver's utterance videos")
    m.set_defaults(func=_report)

    k = sub.add_parser("keys", help="sender keys (tags, encryption, feedback MAC) and CurveZMQ host keys: "
                       "provision, list, export, import, curve")
    ks = k.add_subparsers(dest="keys_cmd", required=True)
    kp = ks.add_parser("provision", help="create the user's key (once) and print its sender id")
    kp.add_argument("--user", required=True)
    ks.add_parser("list", help="users, sender ids and key fingerprints")
    ke = ks.add_parser("export", help="print the user's key line, to import on the receiving host")
    ke.add_argument("--user", required=True)
    ki = ks.add_parser("import", help="import key lines (sender keys or CurveZMQ host keys) from a file or -")
    ki.add_argument("file")
    kc = ks.add_parser("curve", help="print this host's CurveZMQ public key line (created once), to import on the "
                       "other host: the feedback path between machines is CurveZMQ-encrypted")
    kc.add_argument("--name", default=None, help="the name the other host knows this one by (default: hostname); "
                    "the transmitter picks the receiver's key by the host in link.feedback_address")
    k.set_defaults(func=_keys)


def _host_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hotwords", nargs="+", default=[], metavar="WORD", help="names the ASR must get right and the "
                   "KB must never change")
    p.add_argument("--no-kb", dest="kb", action="store_false",
                   help="without the private KB (no SNR-driven compression, no correction/restoration)")


def _config(args: argparse.Namespace):
    from ..config import load_config

    overrides = list(args.set)
    if getattr(args, "mode", None):
        overrides.append(f"link.mode={args.mode}")
    return load_config(args.config, overrides), overrides


def _config_args(args: argparse.Namespace, overrides: list[str]) -> list[str]:
    """The same configuration, for a child process."""
    out = ["--config", args.config] if args.config else []
    for o in overrides:
        out += ["--set", o]
    return out


def _loopback(args: argparse.Namespace) -> int:
    from .loopback import UsrpPair, run_loopback

    cfg, overrides = _config(args)
    usrp = UsrpPair(*args.usrp, args.freq, args.tx_gain, args.rx_gain, args.samp_rate) if args.usrp else None
    out = Path(args.out or f"out/{time.strftime('%Y%m%d-%H%M%S')}")
    if args.view is not None:
        from .view import check_free

        check_free(args.view)  # a bad or busy address fails before anything starts
    report = run_loopback(args.video, cfg, args.channel, args.snr, out, args.seed, args.hotwords, args.kb, args.user,
                          args.video_out, args.enroll, args.realtime, _config_args(args, overrides), usrp,
                          progress=lambda m: print(m, flush=True), view=args.view, view_wait_s=args.view_wait)
    s = report["summary"]
    print(f"{s['verified']}/{s['utterances']} utterances received and verified ({s['refused']} refused, "
          f"{s['lost']} lost); mean sentence similarity {s['mean_similarity']}; mean SNR estimate "
          f"{s['mean_snr_db']} dB; {s['bits_sent']} bits sent ({s['bitrate_bps']} bit/s of input, header and tag "
          "included)")
    print(f"report: {out / 'report.json'} and {out / 'report.html'}")
    if report.get("video"):
        print(f"video:  {out / report['video']}")
    return 0 if s["verified"] == s["utterances"] else 1


def _tx(args: argparse.Namespace) -> int:
    from ..media import check_live_source, is_live_source, probe
    from .protocol import JsonlLog
    from .tx import Transmitter

    cfg, _ = _config(args)
    check_live_source(args.video) if is_live_source(args.video) else probe(args.video)  # before loading models
    log = JsonlLog(Path(args.log))
    try:
        tx = Transmitter(cfg, args.user, use_kb=args.kb, hotwords=args.hotwords, log=log,
                         progress=lambda m: print(m, flush=True))
        n = tx.run(args.video, realtime=args.realtime, start_after_s=args.start_after)
    finally:
        log.close()
    print(f"transmitter: {n} messages sent; log {args.log}", flush=True)
    return 0


def _rx(args: argparse.Namespace) -> int:
    from .protocol import JsonlLog
    from .rx import serve

    cfg, _ = _config(args)
    out = Path(args.out)
    view = None
    if args.view is not None:
        from .view import ViewServer

        view = ViewServer(args.view, cfg.reconstruct.fps, Path(args.view_sent_log) if args.view_sent_log else None,
                          on_page=lambda n: print(f"receiver: live view: {n} page(s) connected", flush=True))
        print(f"receiver: live view at {view.url}", flush=True)
    log = JsonlLog(Path(args.log) if args.log else out / "rx.jsonl")
    try:
        n = serve(cfg, out, use_kb=args.kb, reconstruct=args.video_out, hotwords=args.hotwords, log=log,
                  preview_every=args.preview, view=view,
                  progress=lambda m: print(m, flush=True))
    finally:
        log.close()
        if view is not None:
            view.close()
    print(f"receiver: {n} messages handled", flush=True)
    return 0


def _report(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from .report import merge_logs, write_report

    for f in (args.tx_log, args.rx_log):
        if not Path(f).is_file():
            raise InputError(f"no such log: {f}")
    duration = None
    if args.video:
        from ..media import probe

        duration = probe(args.video).duration_s
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = merge_logs(Path(args.tx_log), Path(args.rx_log), {"input": args.video}, None, duration)
    print(f"report: {write_report(out, report, args.video)}")
    return 0


def _keys(args: argparse.Namespace) -> int:
    import hashlib

    from ..config import load_config
    from ..link.auth import KeyStore

    ks = KeyStore(load_config(args.config, args.set).link.keystore)
    if args.keys_cmd == "provision":
        k = ks.provision(args.user)
        print(f"{k.user}: sender id {k.sender_id} (key store {ks.path})")
    elif args.keys_cmd == "list":
        for k in ks.users():
            print(f"{k.sender_id:5d}  {k.user}  key {hashlib.sha256(k.key).hexdigest()[:16]}")
        for name, public in ks.curve_peers().items():
            print(f"curve  {name}  {public}")
    elif args.keys_cmd == "curve":
        import socket

        print(ks.curve_line(args.name or socket.gethostname()))
    elif args.keys_cmd == "export":
        print(ks.export_line(args.user))
    else:
        if args.file != "-" and not Path(args.file).is_file():
            from ..errors import InputError

            raise InputError(f"no such key file: {args.file}")
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        for line in filter(None, (l.strip() for l in text.splitlines())):
            if line.startswith("lgmtsc-curve"):
                print(f"imported the CurveZMQ key of host {ks.import_curve_line(line)}")
                continue
            k = ks.import_line(line)
            print(f"imported {k.user} (sender id {k.sender_id})")
    return 0
