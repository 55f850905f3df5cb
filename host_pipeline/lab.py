"""The lab course's commands: ``lgmtsc lab`` opens the Qt lab flowgraph, ``lgmtsc grc`` GNU Radio Companion.

GNU Radio Companion and grcc run under Debian's python3, which does not see this venv: they get the environment of
``gnuradio.lgmtsc.installation.grc_env`` (GRC_BLOCKS_PATH, and a PYTHONPATH holding only gr-lgmtsc's package), so
the venv's other packages never shadow Debian's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .errors import BackendError, ConfigError, InputError
from .paths import REPO_ROOT

RUNNER = REPO_ROOT / "grc_flowgraphs" / "run_flowgraph.py"
CHANNELS = ("none", "awgn", "rayleigh", "selective")
ESN0_RANGE_DB = (-5.0, 30.0)  # the lab flowgraph's Es/N0 slider


def register(sub, eval_sub) -> None:
    p = sub.add_parser("lab", help="the PHY lab: constellations before/after equalisation, spectrum, SNR (Qt)",
                       description="Opens the Qt lab flowgraph (grc_flowgraphs/lgmtsc_lab_gui.grc): test bursts "
                                   "through gr-lgmtsc's PHY block and a channel, with constellations before and after "
                                   "equalisation, the received spectrum, an Es/N0 slider and the receiver's SNR "
                                   "estimate. Its ZeroMQ ports take PDUs from `lgmtsc tx` and serve `lgmtsc rx`.")
    p.add_argument("--channel", choices=CHANNELS, default="awgn", help="channel model (default awgn)")
    p.add_argument("--snr", type=float, default=15.0, metavar="DB",
                   help=f"Es/N0 in dB at start, {ESN0_RANGE_DB[0]:g} to {ESN0_RANGE_DB[1]:g} (default 15; "
                        "the slider changes it)")
    p.add_argument("--screenshot", metavar="PNG", help="instead of a window here: run the lab on a virtual display "
                   "(Xvfb), write a screenshot once both constellations and the spectrum have drawn, and exit")
    p.add_argument("--timeout", type=float, default=120.0, metavar="S",
                   help="with --screenshot: give up after S seconds (default 120; a first run compiles the flowgraph)")
    p.set_defaults(func=_lab)

    g = sub.add_parser("grc", help="GNU Radio Companion with the gr-lgmtsc blocks",
                       description="Opens GNU Radio Companion (Debian's python3) with gr-lgmtsc's blocks found and "
                                   "`from gnuradio import lgmtsc` importable by the flowgraphs it runs. The project's "
                                   "flowgraphs are in grc_flowgraphs/, the module's example in gr-lgmtsc/examples/.")
    g.add_argument("files", nargs="*", metavar="FILE", help=".grc flowgraphs to open")
    g.set_defaults(func=_grc)


def _installation():
    """gr-lgmtsc's installation module, or a BackendError naming the fix."""
    try:
        from gnuradio.lgmtsc import installation
    except ImportError as e:
        raise BackendError(f"gr-lgmtsc is not installed for {sys.executable}: {e}",
                           hint="`make setup` builds and installs it") from None
    return installation


def grc_env() -> dict[str, str]:
    """The environment for GRC, grcc and the flowgraphs they run: gr-lgmtsc's blocks and only its package."""
    return _installation().grc_env()


def display_problem(env: dict[str, str] | None = None, qt: bool = False) -> str | None:
    """Why a window cannot open here (None if it can): gr-lgmtsc's check (``installation.display_problem``)."""
    return _installation().display_problem(env, qt)


def _run_child(argv: list[str], env: dict[str, str] | None = None) -> int:
    """Run a GUI child to its end and return its exit status. Ctrl-C reaches it too (same process group) and it
    closes by itself; a SIGTERM sent to this process is passed on to it."""
    proc = subprocess.Popen(argv, env=env)
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: proc.send_signal(signum))
    try:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:
                continue
    finally:
        signal.signal(signal.SIGTERM, previous)


def _lab(args: argparse.Namespace) -> int:
    from .config import load_config

    lo, hi = ESN0_RANGE_DB
    if not lo <= args.snr <= hi:
        raise ConfigError(f"--snr {args.snr:g} is outside the lab's Es/N0 range", hint=f"give {lo:g} to {hi:g} dB")
    link = load_config(args.config, args.set).link
    argv = [sys.executable, str(RUNNER), "lab_gui", "--channel", args.channel, "--esn0-db-start", repr(args.snr),
            "--tx-addr", link.tx_address, "--rx-addr", link.rx_address, "--snr-addr", link.snr_address]
    if args.screenshot:
        return _screenshot(argv, Path(args.screenshot), args.timeout)
    problem = display_problem(qt=True)
    if problem:
        raise BackendError(f"no display for the lab window: {problem}",
                           hint="run it in a desktop session, over ssh -X, or under xvfb-run; "
                                "--screenshot PNG needs no display")
    return _run_child(argv)


def _screenshot(argv: list[str], out: Path, timeout_s: float) -> int:
    """Run the lab flowgraph on a private Xvfb display until its plots have drawn; write the screen as PNG."""
    from . import screenshot as sc

    if out.suffix.lower() != ".png":
        raise ConfigError(f"--screenshot {out}: the file must end in .png")
    out.parent.mkdir(parents=True, exist_ok=True)
    with sc.virtual_display() as display, tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
        env.update(DISPLAY=display, XDG_CONFIG_HOME=tmp)   # the window's first size, not one GRC remembers
        log_path = Path(tmp) / "lab.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        img, found, t0 = None, [], time.monotonic()
        try:
            while time.monotonic() - t0 < timeout_s and not sc.lab_window_drawn(found):
                time.sleep(2.0)
                if proc.poll() is not None:
                    lines = log_path.read_text(errors="replace").strip().splitlines() or ["(no output)"]
                    raise BackendError(f"the lab flowgraph exited with status {proc.returncode}: {lines[-1]}")
                img = sc.grab(display)
                found = sc.canvases(img)
            if sc.lab_window_drawn(found):
                time.sleep(2.0)   # one more frame: the plots keep drawing
                img = sc.grab(display)
                found = sc.canvases(img)
        finally:
            proc.terminate()   # the runner stops the flowgraph and quits Qt
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if img is not None:
                sc.write_png(out, sc.crop_to_windows(img))
    if not sc.lab_window_drawn(found):
        raise BackendError(f"the lab window did not show both constellations and the spectrum within {timeout_s:.0f} s:"
                           f" {sc.describe(found)}", hint=f"the last screenshot is {out}")
    print(f"{out}: {sc.describe(found)}")
    return 0


def _grc(args: argparse.Namespace) -> int:
    files = [Path(f) for f in args.files]
    for f in files:
        if not f.is_file():
            raise InputError(f"{f}: no such file", hint="flowgraphs: grc_flowgraphs/*.grc, gr-lgmtsc/examples/*.grc")
        if f.suffix != ".grc":
            raise InputError(f"{f} is not a GNU Radio Companion flowgraph (.grc)")
    exe = shutil.which("gnuradio-companion")
    if exe is None:
        raise BackendError("gnuradio-companion not found", hint="`make setup` installs GNU Radio (Debian's gnuradio)")
    problem = display_problem()
    if problem:
        raise BackendError(f"no display for GNU Radio Companion: {problem}",
                           hint="run it in a desktop session or over ssh -X")
    env = grc_env()
    gtk = subprocess.run([_interpreter(exe), "-c", "import gi; gi.require_version('Gtk', '3.0'); "
                          "from gi.repository import Gtk"], env=env, capture_output=True, text=True)
    if gtk.returncode != 0:  # Debian's gnuradio package does not pull in GTK's introspection data
        raise BackendError("GNU Radio Companion cannot load GTK 3: " + (gtk.stderr.strip().splitlines() or ["?"])[-1],
                           hint="apt-get install gir1.2-gtk-3.0 python3-gi-cairo (make setup installs them)")
    return _run_child([exe, *map(str, files)], env)


def _interpreter(script: str) -> str:
    """The Python that runs a script (its #! line): Debian's python3 for gnuradio-companion."""
    with open(script, "rb") as f:
        first = f.readline().decode(errors="replace")
    parts = first[2:].split() if first.startswith("#!") else []
    if parts and parts[0].endswith("/env"):
        parts = parts[1:]
    return parts[0] if parts else "/usr/bin/python3"
