"""Every flowgraph command in README.md and docs/*.md works as written, from the venv (the user's `python` and
`lgmtsc`), and the lab commands fail in one clear line where they cannot work.

A documented command runs in bash from the repository root with the venv first on PATH and a virtual display. The
only change: flowgraphs that bind ZeroMQ ports get free ports (other tests or hosts may hold the defaults).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from host_pipeline.paths import REPO_ROOT
from host_pipeline.ports import free_ports

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def documented_commands() -> list[str]:
    """The runnable flowgraph commands of the docs: lines of sh blocks and inline code spans."""
    found = []
    for doc in DOCS:
        text = doc.read_text()
        candidates = re.findall(r"`([^`\n]+)`", text)
        for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
            candidates += [line.split("  #")[0].strip() for line in block.splitlines()]
        for c in candidates:
            c = c.strip()
            if ("run_flowgraph.py " in c and c.startswith("python ")) or c.startswith(("lgmtsc lab", "lgmtsc grc ")):
                if "..." not in c and c not in found:
                    found.append(c)
    return found


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _with_free_ports(cmd: str) -> tuple[str, int | None]:
    if "run_flowgraph.py loopback" in cmd or "run_flowgraph.py lab_gui" in cmd:
        p = free_ports(3)
        return (cmd + f" --tx-addr tcp://127.0.0.1:{p[0]} --rx-addr tcp://127.0.0.1:{p[1]}"
                f" --snr-addr tcp://127.0.0.1:{p[2]}"), p[0]
    if cmd.startswith("lgmtsc lab"):
        p = free_ports(3)
        return (cmd + "".join(f" --set link.{k}_address=tcp://127.0.0.1:{n}" for k, n in zip(("tx", "rx", "snr"), p)),
                p[0])
    return cmd, None


def _stop(proc: subprocess.Popen, sig=signal.SIGINT, timeout=30.0):
    try:
        os.killpg(proc.pid, sig)
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None


def test_the_docs_name_the_lab_and_flowgraph_commands():
    cmds = documented_commands()
    assert any(c.startswith("lgmtsc lab") for c in cmds) and any(c.startswith("lgmtsc grc ") for c in cmds), cmds
    for name in ("loopback", "usrp_tx", "usrp_rx", "lab_gui"):
        assert any(f"run_flowgraph.py {name}" in c for c in cmds), (name, cmds)


@pytest.mark.slow
@pytest.mark.parametrize("cmd", documented_commands())
def test_documented_command_works_as_written(cmd, xvfb, user_env, tmp_path):
    if "--screenshot" in cmd:   # writes a figure of the docs: here into the test's folder
        png = tmp_path / "shot.png"
        run = re.sub(r"--screenshot \S+", f"--screenshot {png}", _with_free_ports(cmd.split(" --screenshot")[0])[0]
                     + cmd[cmd.index(" --screenshot"):])
        r = subprocess.run(["bash", "-c", run], cwd=REPO_ROOT, env=user_env, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0 and png.is_file(), r.stdout + r.stderr
        return
    run, port = _with_free_ports(cmd)
    env = dict(user_env, DISPLAY=xvfb)
    out_path = tmp_path / "out.log"
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(["bash", "-c", run], cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.PIPE,
                                start_new_session=True)
    output = lambda: out_path.read_text(errors="replace")  # noqa: E731
    if "usrp_" in cmd:   # no radio here: one line and status 2, fast
        _, err = proc.communicate(timeout=90)
        lines = [l for l in err.decode(errors="replace").splitlines() if l.strip()]
        assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("lgmtsc: no usable USRP"), lines
        return
    t0 = time.monotonic()
    if port is not None:   # a flowgraph that serves the hosts: up once it has bound its input
        while time.monotonic() - t0 < 120 and proc.poll() is None and not _port_open(port):
            time.sleep(0.5)
        ready = _port_open(port)
    elif "lgmtsc grc" in cmd:   # GNU Radio Companion: up once it has loaded the file
        while time.monotonic() - t0 < 120 and proc.poll() is None and ">>> Done" not in output():
            time.sleep(0.5)
        ready = ">>> Done" in output()
    else:   # the module's example prints an SNR report per decoded burst
        while time.monotonic() - t0 < 120 and proc.poll() is None and "snr_db" not in output():
            time.sleep(0.5)
        ready = "snr_db" in output()
    alive = proc.poll() is None
    status = _stop(proc, signal.SIGTERM if "lgmtsc grc" in cmd else signal.SIGINT)
    err = proc.stderr.read().decode(errors="replace")
    assert ready and alive, f"{cmd}: not running after {time.monotonic() - t0:.0f} s\n{output()[-1500:]}{err[-1500:]}"
    assert "not found" not in output() + err and "Traceback" not in err, output()[-1500:] + err[-1500:]
    if "lgmtsc grc" not in cmd:   # Ctrl-C stops a flowgraph cleanly
        assert status == 0, f"{cmd}: exit status {status} after Ctrl-C\n{err[-1500:]}"


def test_qt_flowgraph_without_a_display_is_one_line(user_env):
    r = subprocess.run([sys.executable, "grc_flowgraphs/run_flowgraph.py", "lab_gui"], cwd=REPO_ROOT, env=user_env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [r.stderr.strip()] and r.stderr.startswith(
        "lgmtsc: no display for the Qt flowgraph lgmtsc_lab_gui: DISPLAY is not set"), r.stderr


def test_lab_and_grc_without_a_display_fail_clearly(user_env):
    for args in (["lab"], ["grc"]):
        r = subprocess.run([sys.executable, "-m", "host_pipeline.cli", *args], env=user_env, capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 5, r.stderr
        first, hint = r.stderr.splitlines()
        assert first.startswith("lgmtsc: error: no display for ") and first.endswith("DISPLAY is not set")
        assert hint.startswith("  hint: ")


def test_lab_and_grc_refuse_bad_arguments(user_env, tmp_path):
    cli = [sys.executable, "-m", "host_pipeline.cli"]
    r = subprocess.run([*cli, "lab", "--snr", "99"], env=user_env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "outside the lab's Es/N0 range" in r.stderr
    r = subprocess.run([*cli, "grc", str(tmp_path / "none.grc")], env=user_env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 4 and "no such file" in r.stderr


def test_runner_under_debian_python_without_the_module_is_one_line(user_env):
    r = subprocess.run(["/usr/bin/python3", "grc_flowgraphs/run_flowgraph.py", "loopback"], cwd=REPO_ROOT,
                       env=user_env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "gr-lgmtsc is not importable by /usr/bin/python3" in r.stderr and "venv" in r.stderr


def test_a_missing_calibration_file_stops_the_loopback_in_one_line(user_env, tmp_path):
    p = free_ports(3)
    r = subprocess.run([sys.executable, "grc_flowgraphs/run_flowgraph.py", "loopback", "--calibration",
                        str(tmp_path / "missing.json"), "--tx-addr", f"tcp://127.0.0.1:{p[0]}",
                        "--rx-addr", f"tcp://127.0.0.1:{p[1]}", "--snr-addr", f"tcp://127.0.0.1:{p[2]}"],
                       cwd=REPO_ROOT, env=user_env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "lgmtsc: cannot start lgmtsc_loopback: SNR calibration file not found: " in r.stderr, r.stderr
