"""Run a gr-lgmtsc flowgraph as a supervised child process (the hosts only ever talk to it over ZeroMQ)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from ..errors import BackendError
from ..paths import REPO_ROOT

RUNNER = REPO_ROOT / "grc_flowgraphs" / "run_flowgraph.py"


def flowgraph_env() -> dict[str, str]:
    """Environment in which grcc finds the gr-lgmtsc block YAML installed in this venv and Qt runs headless."""
    env = dict(os.environ)
    blocks = Path(sys.prefix) / "share" / "gnuradio" / "grc" / "blocks"
    env["GRC_BLOCKS_PATH"] = os.pathsep.join(filter(None, [str(blocks), env.get("GRC_BLOCKS_PATH", "")]))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.setdefault("UHD_LOG_CONSOLE_LEVEL", "error")
    return env


def _port_open(address: str) -> bool:
    u = urlparse(address)
    try:
        with socket.create_connection((u.hostname, u.port), timeout=0.2):
            return True
    except OSError:
        return False


class FlowgraphProcess:
    """``with FlowgraphProcess("loopback", ["--channel", "awgn"], ready_address=...) as fg: ...``

    Starts ``grc_flowgraphs/run_flowgraph.py NAME ARGS``, waits until the flowgraph's ZeroMQ input is bound,
    and stops it with SIGINT (then SIGKILL) on exit. A flowgraph that dies is reported with its last stderr line.
    """

    def __init__(self, name: str, args: list[str], ready_address: str, start_timeout_s: float = 60.0):
        self.name, self.args, self.ready_address, self.start_timeout_s = name, args, ready_address, start_timeout_s
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None

    def __enter__(self) -> "FlowgraphProcess":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, log_dir: Path | None = None) -> None:
        if _port_open(self.ready_address):
            raise BackendError(f"{self.ready_address} is already in use (another flowgraph running?)",
                               hint="stop it, or choose other ports with --set link.tx_address=... etc.")
        log_dir = log_dir or Path(os.environ.get("TMPDIR", "/tmp"))
        self.log_path = log_dir / f"flowgraph_{self.name}_{os.getpid()}.log"
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, str(RUNNER), self.name, *self.args], stdout=log,
                                     stderr=subprocess.STDOUT, env=flowgraph_env(), start_new_session=True)
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BackendError(f"the {self.name} flowgraph exited with status {self.proc.returncode}: "
                                   f"{self.last_error()}", hint=f"full log: {self.log_path}")
            if _port_open(self.ready_address):
                return
            time.sleep(0.1)
        self.stop()
        raise BackendError(f"the {self.name} flowgraph did not bind {self.ready_address} within "
                           f"{self.start_timeout_s:.0f} s", hint=f"log: {self.log_path}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def last_error(self) -> str:
        try:
            lines = [l for l in self.log_path.read_text(errors="replace").splitlines() if l.strip()]
        except OSError:
            return "(no log)"
        return lines[-1] if lines else "(no output)"

    def stop(self, timeout_s: float = 5.0) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(timeout_s)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
