#!/usr/bin/env python3
"""Compile (grcc, cached) and run one of the gr-lgmtsc flowgraphs.

    /usr/bin/python3 grc_flowgraphs/run_flowgraph.py loopback --channel awgn --esn0-db 10
    /usr/bin/python3 grc_flowgraphs/run_flowgraph.py usrp_rx --freq 2.45e9 --gain 20 --dev-args type=b200

Arguments after the name go to the flowgraph (see --help of each). Without a radio the
USRP flowgraphs exit with status 2 and one line on stderr. Needs gr-lgmtsc installed or
GRC_BLOCKS_PATH / PYTHONPATH pointing at it.
"""
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = {"loopback": "lgmtsc_loopback", "usrp_tx": "lgmtsc_usrp_tx",
         "usrp_rx": "lgmtsc_usrp_rx", "lab_gui": "lgmtsc_lab_gui"}


def compile_grc(fid, outdir):
    src = os.path.join(HERE, fid + ".grc")
    out = os.path.join(outdir, fid + ".py")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        os.makedirs(outdir, exist_ok=True)
        r = subprocess.run(["grcc", "-o", outdir, src], capture_output=True, text=True)
        if r.returncode != 0 or not os.path.exists(out) or "Error" in r.stdout + r.stderr:
            sys.stderr.write("lgmtsc: grcc failed for %s:\n%s%s" % (src, r.stdout[-2000:], r.stderr[-2000:]))
            sys.exit(3)
    return out


def main(argv):
    if not argv or argv[0] not in NAMES:
        sys.stderr.write("usage: run_flowgraph.py {%s} [flowgraph options]\n" % "|".join(NAMES))
        return 1
    fid = NAMES[argv[0]]
    os.environ.setdefault("UHD_LOG_CONSOLE_LEVEL", "error")
    outdir = os.environ.get("LGMTSC_GRC_OUT", os.path.join(tempfile.gettempdir(), "lgmtsc_grc_%d" % os.getuid()))
    path = compile_grc(fid, outdir)
    spec = importlib.util.spec_from_file_location(fid, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    options = mod.argument_parser().parse_args(argv[1:])
    cls = getattr(mod, fid)
    if fid == "lgmtsc_lab_gui":   # Qt: the generated main() creates the QApplication first
        return mod.main(top_block_cls=cls, options=options) or 0
    try:
        tb = cls(**vars(options))
    except RuntimeError as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "usrp" in fid:
            sys.stderr.write("lgmtsc: no usable USRP (device args %r): %s\n"
                             % (getattr(options, "dev_args", ""), msg))
        else:
            sys.stderr.write("lgmtsc: cannot start %s: %s\n" % (fid, msg))
        return 2
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *a: done.set())
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    tb.start()
    done.wait()
    tb.stop()
    tb.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
