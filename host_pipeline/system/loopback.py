"""``lgmtsc loopback``: the whole link on one machine, as three supervised processes: the gr-lgmtsc loopback
flowgraph (channel model), the receiver host (``lgmtsc rx``) and the transmitter host (``lgmtsc tx``).

They talk only over ZeroMQ, as they would on two machines with radios: the transmitter PUSHes authenticated PDUs
to the flowgraph, the receiver SUBscribes to its output and sends SNR feedback back on a separate path. A process
that dies is reported and restarted (at most ``max_restarts`` times each); the transmitter resumes with the next
utterance; messages are matched only by (sender id, sequence number), so none is ever decoded as another's.
At the end the two hosts' logs are merged into report.json / report.html and the clips into video.mp4.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..config import Config
from ..errors import BackendError, InputError
from .flowgraph import FlowgraphProcess, SupervisedProcess
from .protocol import FileTail

CHANNELS = ("awgn", "rayleigh", "none")


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def flowgraph_args(channel: str, esn0_db: float, cfg: Config, seed: int) -> list[str]:
    return ["--channel", channel, "--esn0-db", str(esn0_db), "--seed", str(seed),
            "--samp-rate", str(cfg.link.loopback_samp_rate),
            "--tx-addr", cfg.link.tx_address, "--rx-addr", cfg.link.rx_address, "--snr-addr", cfg.link.snr_address]


def host_argv(config_args: list[str], *args: str) -> list[str]:
    return [sys.executable, "-m", "host_pipeline.cli", *config_args, *args]


class Loopback:
    """Starts, supervises and stops the flowgraph and the two hosts of one run."""

    def __init__(self, video: str, cfg: Config, out_dir: Path, *, channel: str = "awgn", esn0_db: float = 15.0,
                 seed: int = 1, hotwords: list[str] | None = None, use_kb: bool = True, user: str = "anonymous",
                 reconstruct: bool = True, realtime: bool = False, config_args: list[str] | None = None,
                 max_restarts: int = 2, usrp: UsrpPair | None = None, progress: Callable[[str], None] = print,
                 view: str | None = None, view_wait_s: float = 0.0):
        self.video, self.cfg, self.out, self.user, self.progress = video, cfg, Path(out_dir), user, progress
        self.channel, self.esn0_db, self.seed, self.max_restarts = channel, esn0_db, seed, max_restarts
        self.config_args = config_args or []
        self.logs = self.out / "logs"
        self.tx_log, self.rx_log = self.out / "tx.jsonl", self.out / "rx.jsonl"
        common = [*(["--hotwords", *hotwords] if hotwords else []), *([] if use_kb else ["--no-kb"])]
        self.fgs = usrp.flowgraphs(cfg) if usrp else \
            [FlowgraphProcess("loopback", flowgraph_args(channel, esn0_db, cfg, seed), cfg.link.tx_address)]
        self.view, self.view_wait_s = view, (view_wait_s if view is not None else 0.0)
        view_args = ["--view", view, "--view-sent-log", str(self.tx_log)] if view is not None else []
        self.rx = SupervisedProcess("receiver host", host_argv(self.config_args, "rx", "--out", str(self.out),
                                    "--log", str(self.rx_log), *common, *([] if reconstruct else ["--no-video"]),
                                    *view_args), cfg.link.feedback_address, start_timeout_s=600)
        self.tx_args = ["tx", str(video), "--user", user, "--log", str(self.tx_log), *common,
                        *(["--realtime"] if realtime else [])]
        self.tx = SupervisedProcess("transmitter host", host_argv(self.config_args, *self.tx_args), None)
        self.restarts = {"flowgraph": 0, "receiver": 0, "transmitter": 0}
        self.events: list[dict] = []
        self.lost_reasons: dict = {}
        self.down: list[tuple[str, float, float]] = []  # (process, stopped, running again): explains lost messages
        # what the two hosts' logs say so far, read incrementally: (sender id, seq) -> sent record; arrived; done
        self._tx_tail, self._rx_tail = FileTail(self.tx_log), FileTail(self.rx_log)
        self.sent: dict[tuple, dict] = {}
        self.arrived: set[tuple] = set()
        self.done: set[tuple] = set()

    def event(self, source: str, message: str) -> None:
        self.events.append({"t": time.time(), "source": source, "message": message})
        self.progress(f"loopback: {message}")

    def pids(self) -> dict:
        return {"flowgraph": self.fgs[0].pid, "flowgraphs": [f.pid for f in self.fgs], "receiver": self.rx.pid,
                "transmitter": self.tx.pid}

    def _write_pids(self) -> None:
        (self.out / "pids.json").write_text(json.dumps(self.pids()))

    def run(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        handlers = {}
        if threading.current_thread() is threading.main_thread():  # SIGTERM/SIGHUP clean up as Ctrl-C does
            handlers = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
        try:
            self._run()
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)

    def _run(self) -> None:
        try:
            for fg in self.fgs:
                self.progress(f"starting the GNU Radio {fg.label}" + (f" ({self.channel}, Es/N0 {self.esn0_db:g} dB)"
                                                                      if fg.name == "loopback" else ""))
                fg.start(self.logs)
            self.progress("starting the receiver host (loads its models)")
            if self.view is not None:
                from .view import parse_addr

                host, port = parse_addr(self.view)
                if port:  # else the receiver says which port it got
                    self.progress(f"live view: open http://{host}:{port}/ (the receiver serves it while it loads)")
            self.rx.start(self.logs)
            self._wait_for_page()
            self.progress("starting the transmitter host")
            self.tx.start(self.logs)
            self._write_pids()
            self._supervise()
        finally:
            try:
                self.tx.stop()
                self.rx.stop(timeout_s=120)  # SIGINT: it finishes what arrived, then exits
                for fg in self.fgs:
                    fg.stop()
            except KeyboardInterrupt:  # interrupted again while waiting: stop everything now
                for proc in (self.tx, self.rx, *self.fgs):
                    proc.kill()
                raise

    def _wait_for_page(self) -> None:
        """With a live view and ``view_wait_s``: give a browser that long to open the page before speaking."""
        if self.view_wait_s <= 0:
            return
        self.progress(f"waiting up to {self.view_wait_s:g} s for the live view to be opened")
        deadline = time.monotonic() + self.view_wait_s
        while time.monotonic() < deadline and self.rx.alive():
            lines = self.rx.new_lines(("receiver:", "lgmtsc:", "  hint:"))
            for line in lines:
                self.progress(line)
            if any("page(s) connected" in line for line in lines):
                return
            time.sleep(0.2)

    def _supervise(self) -> None:
        tx_done_at: float | None = None
        while True:
            time.sleep(0.2)
            for proc in (self.tx, self.rx):
                for line in proc.new_lines(("transmitter:", "receiver:", "lgmtsc:", "  hint:")):
                    self.progress(line)
            self._follow_logs()
            for fg in self.fgs:
                if not fg.alive():
                    self._restart(fg, "flowgraph", fg.last_error())
            if not self.rx.alive():
                self._lose_in_flight()
                self._restart(self.rx, "receiver", self.rx.last_error())
            if tx_done_at is None and not self.tx.alive():
                self._follow_logs()  # what it wrote between the read above and its exit
                if self.tx.proc.returncode == 0:
                    tx_done_at = time.time()
                else:
                    err = self.tx.last_error()
                    if self.tx.proc.returncode in (2, 3, 4) or self.restarts["transmitter"] >= self.max_restarts:
                        raise BackendError(f"the transmitter host failed: {err}", hint=f"log: {self.tx.log_path}")
                    resume = max((e["end_s"] for e in self.sent.values()), default=None)
                    self.tx.argv = host_argv(self.config_args, *self.tx_args,
                                             *(["--start-after", str(resume)] if resume is not None else []))
                    self._restart(self.tx, "transmitter", err)
            if tx_done_at is not None and self._all_resolved():
                self._explain_lost()
                return

    def _restart(self, proc: SupervisedProcess, name: str, why: str) -> None:
        if proc.proc.returncode in (2, 3):  # no radio, bad arguments, a flowgraph that does not compile
            raise BackendError(f"the {proc.label} failed: {why}", hint=f"log: {proc.log_path}")
        if self.restarts[name] >= self.max_restarts:
            raise BackendError(f"the {name} stopped again ({why}); gave up after {self.max_restarts} restarts",
                               hint=f"log: {proc.log_path}")
        self.restarts[name] += 1
        t_stopped = time.time()
        self.event(name, f"the {name} stopped (status {proc.proc.returncode}: {why}); restarting it")
        proc.start(self.logs)
        self.down.append((name, t_stopped, time.time()))
        self._write_pids()
        self.event(name, f"the {name} is running again")

    def _follow_logs(self) -> None:
        for e in self._tx_tail.events():
            if e.get("event") == "sent":
                self.sent[(e["sender_id"], e["seq"])] = e
        for e in self._rx_tail.events():
            if e.get("event") in ("arrived", "done"):
                (self.arrived if e["event"] == "arrived" else self.done).add((e["sender_id"], e["seq"]))

    def _lose_in_flight(self) -> None:
        """Messages that reached the receiver but were not finished when it died are lost, and said so."""
        self._follow_logs()
        for key in self.arrived - self.done:
            self.lost_reasons.setdefault(key, "the receiver stopped while handling it")

    # a sent message that never reached the receiver, sent this close to a process's downtime, is blamed on it
    DOWN_MARGIN_S = {"receiver": (1.0, 3.0), "flowgraph": (5.0, 3.0), "transmitter": (2.0, 0.0)}  # (before, after)

    def _explain_lost(self) -> None:
        """Why each sent message that never arrived was lost, when it was sent around a process's downtime (else
        the report says only that no burst was received)."""
        why = {"receiver": "sent while the receiver host was down (it stopped and was restarted)",
               "flowgraph": "sent while the flowgraph was down or just before it stopped (lost with it)",
               "transmitter": "the transmitter host stopped just after logging it, before or while sending it"}
        for key, e in self.sent.items():
            if key in self.done or key in self.arrived or key in self.lost_reasons:
                continue
            t = e["t_sent"]  # a downtime that holds it first, then one that ends or begins close to it
            hit = [n for n, t0, t1 in self.down if t0 <= t <= t1] or \
                [n for n, t0, t1 in self.down if t0 - self.DOWN_MARGIN_S[n][0] <= t <= t1 + self.DOWN_MARGIN_S[n][1]]
            if hit:
                self.lost_reasons[key] = f"no burst was received: {why[hit[0]]}"

    def _all_resolved(self) -> bool:
        """Every sent message has an outcome at the receiver, or is lost (not arrived within link.timeout_s)."""
        now = time.time()
        return all(key in self.done or key in self.lost_reasons
                   or (key not in self.arrived and now - e["t_sent"] >= self.cfg.link.timeout_s)
                   for key, e in self.sent.items())


class UsrpPair:
    """Two radios instead of the channel model: the usrp_tx and usrp_rx flowgraphs (one machine or two)."""

    def __init__(self, tx_dev_args: str, rx_dev_args: str, freq: float = 2.45e9, tx_gain: float = 10.0,
                 rx_gain: float = 20.0, samp_rate: float = 1e6):
        self.tx_dev_args, self.rx_dev_args, self.freq = tx_dev_args, rx_dev_args, freq
        self.tx_gain, self.rx_gain, self.samp_rate = tx_gain, rx_gain, samp_rate

    def flowgraphs(self, cfg: Config) -> list[FlowgraphProcess]:
        common = ["--freq", str(self.freq), "--samp-rate", str(self.samp_rate)]
        return [FlowgraphProcess("usrp_rx", [*common, "--gain", str(self.rx_gain), "--dev-args", self.rx_dev_args,
                                             "--rx-addr", cfg.link.rx_address, "--snr-addr", cfg.link.snr_address],
                                 cfg.link.rx_address),
                FlowgraphProcess("usrp_tx", [*common, "--gain", str(self.tx_gain), "--dev-args", self.tx_dev_args,
                                             "--tx-addr", cfg.link.tx_address], cfg.link.tx_address)]


def run_loopback(video: str, cfg: Config, channel: str = "awgn", esn0_db: float = 15.0, out_dir: Path | None = None,
                 seed: int = 1, hotwords: list[str] | None = None, use_kb: bool = True, user: str | None = None,
                 reconstruct: bool = True, enroll: bool = False, realtime: bool = False,
                 config_args: list[str] | None = None, usrp: UsrpPair | None = None,
                 progress: Callable[[str], None] = print, view: str | None = None, view_wait_s: float = 0.0) -> dict:
    """Run the three processes on ``video`` and write OUT/report.json, report.html and video.mp4; the report."""
    from ..link.auth import KeyStore
    from ..media import probe
    from .report import merge_logs, write_report

    info = probe(video)
    if channel not in CHANNELS:
        raise InputError(f"unknown channel {channel!r}", hint=f"one of {', '.join(CHANNELS)}")
    if reconstruct and not user:
        raise InputError("reconstructing the talking face needs the sender's user id", hint="add --user ID (and "
                         "--enroll to enroll them from this video), or --no-video for text only")
    user = user or "anonymous"
    out_dir = Path(out_dir or Path("out") / time.strftime("%Y%m%d-%H%M%S"))
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("tx.jsonl", "rx.jsonl"):
        (out_dir / stale).unlink(missing_ok=True)
    KeyStore(cfg.link.keystore).provision(user)
    if reconstruct:
        _ensure_enrolled(cfg, user, video, enroll, progress)
    run = {"input": str(video), "channel": "usrp" if usrp else channel, "esn0_db": esn0_db,
           "mode": cfg.link.mode, "kb": use_kb,
           "user": user, "seed": seed, "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    t0 = time.perf_counter()
    lb = Loopback(video, cfg, out_dir, channel=channel, esn0_db=esn0_db, seed=seed, hotwords=hotwords,
                  use_kb=use_kb, user=user, reconstruct=reconstruct, realtime=realtime, config_args=config_args,
                  usrp=usrp, progress=progress, view=view, view_wait_s=view_wait_s)
    lb.run()
    run["duration_s"] = round(time.perf_counter() - t0, 3)
    run["restarts"] = lb.restarts
    report = merge_logs(lb.tx_log, lb.rx_log, run, lb.events, getattr(info, "duration_s", None), lb.lost_reasons)
    write_report(out_dir, report, str(video))
    return report


def _ensure_enrolled(cfg: Config, user: str, video: str, enroll: bool, progress: Callable[[str], None]) -> None:
    from ..publickb.store import PublicKb

    kb = PublicKb(cfg.publickb)
    if enroll:
        from ..publickb.enroll import Enroller

        rc = cfg.reconstruct
        # the Kokoro voice is matched to the enrolled speech once, here (a minute or two), unless one is configured
        match = rc.tts_backend == "kokoro" and rc.voice == "auto"
        progress(f"enrolling {user} in the public KB from {video}" + (" (matching the voice)" if match else ""))
        kb.put(Enroller(cfg.publickb, match_voice=match, tts_cfg=rc).enroll(user, video=video))
    elif user not in kb.users():
        raise InputError(f"user {user!r} is not enrolled in the public KB",
                         hint=f"run `lgmtsc enroll --user {user} --video FILE`, or add --enroll")
