#!/usr/bin/env python3
"""Compile (grcc, cached) and run one of the gr-lgmtsc flowgraphs.

    python grc_flowgraphs/run_flowgraph.py loopback --channel rayleigh --esn0-db 10
    python grc_flowgraphs/run_flowgraph.py usrp_rx --freq 2.45e9 --gain 20 --dev-args type=b200
    python grc_flowgraphs/run_flowgraph.py lab_gui --channel rayleigh --esn0-db-start 12     # Qt window
    python grc_flowgraphs/run_flowgraph.py gr-lgmtsc/examples/lgmtsc_phy_loopback.grc       # any .grc file

Run it with the Python that has gr-lgmtsc installed (the venv's ``python`` after ``make setup``; ``lgmtsc lab``
does this for the lab flowgraph). grcc runs under Debian's python3 with GRC_BLOCKS_PATH and a PYTHONPATH that
holds only gr-lgmtsc (``gnuradio.lgmtsc.installation.grc_env``). Arguments after the name go to the flowgraph
(see ``--help`` of each). Exit status 2 with one line on stderr when the flowgraph cannot start: no usable USRP
(after about 1 s), no display for a Qt flowgraph, gr-lgmtsc not importable, a bad parameter.
"""
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

# numpy's OpenBLAS must not spin worker threads beside the blocks' own: its idle threads cost 0.35 of a core at
# 200 kS/s (47 % -> 12 % of a core for the loopback flowgraph, measured). Set before gnuradio imports numpy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = {"loopback": "lgmtsc_loopback", "usrp_tx": "lgmtsc_usrp_tx",
         "usrp_rx": "lgmtsc_usrp_rx", "lab_gui": "lgmtsc_lab_gui"}
QT_WINDOW_SIZE = (1100, 980)   # a Qt flowgraph's first window, before GRC remembers one


def fail(msg, status=2):
    sys.stderr.write("lgmtsc: %s\n" % msg)
    sys.exit(status)


def import_lgmtsc():
    """gr-lgmtsc's installation info (the flowgraphs import the package itself), or exit 2 with one line."""
    try:
        from gnuradio.lgmtsc import installation
    except ImportError as e:
        fail("gr-lgmtsc is not importable by %s (%s): run this script with the venv's python "
             "(source ~/.cache/lgmtsc/venv/bin/activate, or `lgmtsc lab`) after `make setup`" % (sys.executable, e))
    return installation


def grc_path(name):
    """A flowgraph name (loopback, usrp_tx, usrp_rx, lab_gui) or the path of a .grc file."""
    if name in NAMES:
        return os.path.join(HERE, NAMES[name] + ".grc")
    if name.endswith(".grc"):
        if not os.path.isfile(name):
            fail("no such flowgraph file: %s" % name)
        return os.path.abspath(name)
    fail("unknown flowgraph %r: give one of %s or a .grc file" % (name, ", ".join(NAMES)), 1)


def compile_grc(src, outdir, installation):
    """grcc SRC into OUTDIR unless the cached .py is newer than SRC and the installed block YAML."""
    fid = os.path.basename(src)[:-4]
    out = os.path.join(outdir, fid + ".py")
    blocks = installation.GRC_BLOCKS_DIR
    deps = [src] + [os.path.join(blocks, f) for f in os.listdir(blocks)] if os.path.isdir(blocks) else [src]
    if os.path.exists(out) and os.path.getmtime(out) >= max(os.path.getmtime(d) for d in deps):
        return out
    if shutil.which("grcc") is None:
        fail("grcc not found: install GNU Radio (make setup)")
    os.makedirs(outdir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=outdir) as tmp:   # concurrent runs never read a half-written file
        r = subprocess.run(["grcc", "-o", tmp, src], capture_output=True, text=True,
                           env=installation.grc_env())
        made = os.path.join(tmp, fid + ".py")
        if r.returncode != 0 or not os.path.exists(made) or "Error" in r.stdout + r.stderr:
            sys.stderr.write("lgmtsc: grcc failed for %s:\n%s%s" % (src, r.stdout[-2000:], r.stderr[-2000:]))
            sys.exit(3)
        os.replace(made, out)
    return out


def build(cls, options, label):
    """Construct the top block; a constructor error (no radio, bad parameter, missing file) is one line."""
    try:
        return cls(**vars(options))
    except (RuntimeError, OSError, ValueError, KeyError, LookupError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "usrp" in label:
            fail("no usable USRP (device args %r): %s" % (getattr(options, "dev_args", ""), msg))
        fail("cannot start %s: %s" % (label, msg))


def run_qt(cls, options, label):
    """As grcc's generated main() (the display was checked before), with constructor errors in one line."""
    from PyQt5 import Qt
    app = Qt.QApplication(sys.argv[:1])
    stopping = threading.Event()

    def request_stop(*_):
        """Ctrl-C / SIGTERM only end Qt's event loop; the flowgraph stops after it (stopping it from inside the
        loop crashed Qt while the plots were drawing)."""
        stopping.set()
        app.quit()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    tb = build(cls, options, label)
    settings = getattr(tb, "settings", None)   # GRC restores the size the window had when it was last closed
    if settings is None or settings.value("geometry") is None:
        tb.resize(*QT_WINDOW_SIZE)
    tb.start()
    tb.show()
    timer = Qt.QTimer()   # lets Python run its signal handlers while Qt's event loop runs
    timer.start(200)
    timer.timeout.connect(lambda: None)
    if not stopping.is_set():
        app.exec_()
    tb.stop()
    tb.wait()
    # The flowgraph has stopped: leave without Python's clean-up, which destroys GNU Radio's Qt sinks and the
    # QApplication in an order that crashes (SIGSEGV) about one time in three.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def exit_now(signum, _frame):
    """Ctrl-C or SIGTERM before the flowgraph runs: nothing to stop yet."""
    os._exit(128 + signum)


def main(argv):
    signal.signal(signal.SIGINT, exit_now)
    signal.signal(signal.SIGTERM, exit_now)
    if not argv or argv[0] in ("-h", "--help"):
        sys.stderr.write("usage: run_flowgraph.py {%s|FILE.grc} [flowgraph options]\n" % "|".join(NAMES))
        return 1 if not argv else 0
    src = grc_path(argv[0])
    fid = os.path.basename(src)[:-4]
    with open(src) as fh:
        qt = "generate_options: qt_gui" in fh.read()   # a Qt GUI flowgraph: its top block is a QWidget
    installation = import_lgmtsc()
    if qt and "-h" not in argv[1:] and "--help" not in argv[1:]:
        problem = installation.display_problem(qt=True)
        if problem:
            fail("no display for the Qt flowgraph %s: %s. Run it in a desktop session, over ssh -X, under "
                 "xvfb-run, or with QT_QPA_PLATFORM=offscreen (no window)" % (fid, problem))
    os.environ.setdefault("UHD_LOG_CONSOLE_LEVEL", "error")
    outdir = os.environ.get("LGMTSC_GRC_OUT", os.path.join(tempfile.gettempdir(), "lgmtsc_grc_%d" % os.getuid()))
    path = compile_grc(src, outdir, installation)
    spec = importlib.util.spec_from_file_location(fid, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    options = mod.argument_parser().parse_args(argv[1:])
    cls = getattr(mod, fid)
    if qt:
        return run_qt(cls, options, fid)
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *a: done.set())
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    tb = build(cls, options, fid)
    tb.start()
    done.wait()
    tb.stop()
    tb.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
