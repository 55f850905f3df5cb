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
import socket
import subprocess
import sys
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
    p.set_defaults(func=_lab)

    g = sub.add_parser("grc", help="GNU Radio Companion with the gr-lgmtsc blocks",
                       description="Opens GNU Radio Companion (Debian's python3) with gr-lgmtsc's blocks found and "
                                   "`from gnuradio import lgmtsc` importable by the flowgraphs it runs. The project's "
                                   "flowgraphs are in grc_flowgraphs/, the module's example in gr-lgmtsc/examples/.")
    g.add_argument("files", nargs="*", metavar="FILE", help=".grc flowgraphs to open")
    g.set_defaults(func=_grc)


def grc_env() -> dict[str, str]:
    """The environment for GRC, grcc and the flowgraphs they run: gr-lgmtsc's blocks and only its package."""
    try:
        from gnuradio.lgmtsc import installation
    except ImportError as e:
        raise BackendError(f"gr-lgmtsc is not installed for {sys.executable}: {e}",
                           hint="`make setup` builds and installs it") from None
    return installation.grc_env()


def display_problem(env: dict[str, str] | None = None, qt: bool = False) -> str | None:
    """Why a window cannot open here (None if it can): an X display that answers, or a Wayland one. ``qt``: a Qt
    window, which needs none with a QT_QPA_PLATFORM such as offscreen or vnc."""
    env = os.environ if env is None else env
    platform = env.get("QT_QPA_PLATFORM", "") if qt else ""
    if env.get("WAYLAND_DISPLAY") or (platform and not platform.startswith(("xcb", "wayland"))):
        return None
    display = env.get("DISPLAY", "")
    if not display:
        return "DISPLAY is not set"
    host, _, rest = display.rpartition(":")
    try:
        number = int(rest.split(".")[0])
    except ValueError:
        return f"DISPLAY={display} is not a display name"
    try:
        if host in ("", "unix"):
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(2.0)
                s.connect(f"/tmp/.X11-unix/X{number}")
        else:
            socket.create_connection((host, 6000 + number), timeout=2.0).close()
    except OSError as e:
        return f"cannot connect to the X server at DISPLAY={display} ({e.strerror or e})"
    return None


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
    problem = display_problem(qt=True)
    if problem:
        raise BackendError(f"no display for the lab window: {problem}",
                           hint="run it in a desktop session, over ssh -X, or under xvfb-run")
    return _run_child([sys.executable, str(RUNNER), "lab_gui", "--channel", args.channel,
                       "--esn0-db-start", repr(args.snr), "--tx-addr", link.tx_address,
                       "--rx-addr", link.rx_address, "--snr-addr", link.snr_address])


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
    return _run_child([exe, *map(str, files)], grc_env())
