"""llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``) for a registry GGUF, started on a
loopback port and stopped again: for the ``openai`` backend's tests and benchmarks, or to share one loaded model
between processes (``with LlamaCppPythonServer("smollm2-135m") as srv: LlmConfig(backend="openai",
endpoint=srv.url, model=srv.alias)``).

That server ignores llama.cpp's ``cache_prompt`` and always reuses the previous request's KV cache: a repeated
prompt's last token is then evaluated alone, whose logits differ slightly from the batched evaluation, so a greedy
reply can change between a cold and a warm cache. ``n_batch=1`` evaluates every prompt token alone, cold or warm,
and makes the replies identical (at the cost of a slower prompt evaluation); see docs/kb.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ..ports import free_ports
from .errors import LlmError

SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")


class LlamaCppPythonServer:
    """``python -m llama_cpp.server`` for ``model`` (a registry name or a .gguf path) on ``127.0.0.1:port``.

    ``start()`` returns once ``/v1/models`` answers (at most ``start_timeout_s``); ``stop()`` ends the server's
    process group. The server's output goes to ``log_path`` (default: discarded)."""

    def __init__(self, model: str = "smollm2-135m", *, port: int | None = None, threads: int = 1, n_ctx: int = 512,
                 n_batch: int = 1, seed: int = 0, alias: str = "local", log_path: str | Path | None = None,
                 start_timeout_s: float = 120.0):
        from .backends import resolve_gguf

        self.gguf = resolve_gguf(model)
        self.port = port or free_ports(1)[0]
        self.alias = alias
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log_path = Path(log_path) if log_path else None
        self.start_timeout_s = start_timeout_s
        self.cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.gguf), "--model_alias", alias,
                    "--host", "127.0.0.1", "--port", str(self.port), "--n_threads", str(threads),
                    "--n_threads_batch", str(threads), "--n_ctx", str(n_ctx), "--n_batch", str(n_batch),
                    "--n_ubatch", str(n_batch), "--seed", str(seed)]
        self.proc: subprocess.Popen | None = None

    def start(self) -> LlamaCppPythonServer:
        for module in SERVER_MODULES:
            try:
                __import__(module)
            except ImportError:
                raise LlmError(f"llama-cpp-python's server needs the Python package {module!r}",
                               hint="run `make setup` (requirements/llm.txt pins the server's packages)") from None
        out = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        finally:
            if self.log_path:
                out.close()
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            if self.proc.poll() is not None:
                raise LlmError(f"llama_cpp.server exited with status {self.proc.returncode} at start-up{self._tail()}",
                               hint="run the command by hand to see why: " + " ".join(self.cmd))
            try:
                with urllib.request.urlopen(self.url + "/models", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise LlmError(f"llama_cpp.server did not answer within {self.start_timeout_s:.0f} s{self._tail()}",
                               hint="the machine may be busy: raise start_timeout_s")
            time.sleep(0.25)

    def _tail(self) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines() if ln.strip()]
        return f" (last output: {lines[-1][:200]})" if lines else ""

    def stop(self) -> None:
        """End the server (SIGTERM to its process group, SIGKILL after 10 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        except ProcessLookupError:
            pass

    def __enter__(self) -> LlamaCppPythonServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
