"""Keep third-party INFO logging and progress bars (FunASR, faster-whisper) out of the user's terminal."""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import threading

_local = threading.local()
_lock = threading.Lock()
_active = 0  # quiet_logging blocks open in any thread


class _ThreadStdout:
    """``sys.stdout`` while a quiet block is open: the calling thread's prints go to its sink, every other thread's
    to the real stream (a process-wide redirect swallowed the transmitter's progress lines printed while its ASR
    thread ran a model)."""

    def __init__(self, stream):
        self.stream = stream

    def _target(self):
        return getattr(_local, "sink", None) or self.stream

    def write(self, s: str) -> int:
        return self._target().write(s)

    def flush(self) -> None:
        self._target().flush()

    def __getattr__(self, name):
        return getattr(self._target(), name)


@contextlib.contextmanager
def quiet_logging(level: int = logging.WARNING):
    """Suppress log records at ``level`` and below, and this thread's stray prints, while a third-party model loads
    or runs."""
    global _active
    previous = logging.root.manager.disable
    logging.disable(level)
    outer, _local.sink = getattr(_local, "sink", None), io.StringIO()
    with _lock:
        if _active == 0 and not isinstance(sys.stdout, _ThreadStdout):
            sys.stdout = _ThreadStdout(sys.stdout)
        _active += 1
    try:
        yield
    finally:
        _local.sink = outer
        with _lock:
            _active -= 1
            if _active == 0 and isinstance(sys.stdout, _ThreadStdout):
                sys.stdout = sys.stdout.stream
        logging.disable(previous)


logging.getLogger("faster_whisper").setLevel(logging.WARNING)
