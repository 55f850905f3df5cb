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
from .protocol import FileTail

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


class SupervisedProcess:
    """A child process (a flowgraph or a host) that is ready once ``ready_address`` is bound (or at once without
    one); stopped with SIGINT, then SIGKILL. A child that dies is reported with the last line of its log."""

    def __init__(self, label: str, argv: list[str], ready_address: str | None, start_timeout_s: float = 60.0,
                 env: dict[str, str] | None = None):
        self.label, self.argv, self.ready_address, self.start_timeout_s = label, argv, ready_address, start_timeout_s
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self._tail = FileTail()

    def new_lines(self, prefixes: tuple[str, ...]) -> list[str]:
        """Complete log lines written since the last call that start with one of ``prefixes``."""
        self._tail.path = self.log_path  # the same file across restarts (it is appended to)
        return [l for l in self._tail.lines() if l.startswith(prefixes)]

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, log_dir: Path | None = None) -> None:
        if self.ready_address and _port_open(self.ready_address):
            raise BackendError(f"{self.ready_address} is already in use (another flowgraph or host running?)",
                               hint="stop it, or choose other ports with --set link.tx_address=... etc.")
        log_dir = Path(log_dir or os.environ.get("TMPDIR", "/tmp"))
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{self.label.replace(' ', '_')}_{os.getpid()}.log"
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=self.env, start_new_session=True)
        log.close()
        if not self.ready_address:
            return
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BackendError(f"the {self.label} exited with status {self.proc.returncode}: "
                                   f"{self.last_error()}", hint=f"full log: {self.log_path}")
            if _port_open(self.ready_address):
                return
            time.sleep(0.1)
        self.stop()
        raise BackendError(f"the {self.label} did not bind {self.ready_address} within "
                           f"{self.start_timeout_s:.0f} s", hint=f"log: {self.log_path}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def last_error(self) -> str:
        try:
            lines = [l for l in self.log_path.read_text(errors="replace").splitlines() if l.strip()]
        except (OSError, AttributeError):
            return "(no log)"
        return lines[-1] if lines else "(no output)"

    def kill(self) -> None:
        """SIGKILL the child's process group at once (no clean-up)."""
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def stop(self, timeout_s: float = 5.0) -> int | None:
        """Stop the child (SIGINT, then SIGKILL after ``timeout_s``); its exit status."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
                self.proc.wait(timeout_s)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        return self.proc.returncode


class FlowgraphProcess(SupervisedProcess):
    """``with FlowgraphProcess("loopback", ["--channel", "awgn"], ready_address=...) as fg: ...``

    Runs ``grc_flowgraphs/run_flowgraph.py NAME ARGS``; ready when the flowgraph's ZeroMQ input is bound.
    """

    def __init__(self, name: str, args: list[str], ready_address: str, start_timeout_s: float = 60.0):
        super().__init__(f"{name} flowgraph", [sys.executable, str(RUNNER), name, *args], ready_address,
                         start_timeout_s, flowgraph_env())
        self.name, self.args = name, args
