"""Keep third-party INFO logging and progress bars (FunASR, faster-whisper) out of the user's terminal."""

from __future__ import annotations

import contextlib
import io
import logging


@contextlib.contextmanager
def quiet_logging(level: int = logging.WARNING):
    """Suppress log records at ``level`` and below, and stray prints, while a third-party model loads or runs."""
    previous = logging.root.manager.disable
    logging.disable(level)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logging.disable(previous)


logging.getLogger("faster_whisper").setLevel(logging.WARNING)
