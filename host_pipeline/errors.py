"""User-facing errors: one clear message, a hint naming the fix, and a non-zero exit code."""

from __future__ import annotations


class LgmtscError(Exception):
    """An error the user can act on. The CLI prints ``message`` and ``hint`` and exits with ``exit_code``."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class ConfigError(LgmtscError):
    """The configuration file or an override is invalid."""

    exit_code = 2


class ModelError(LgmtscError):
    """A model is missing, corrupt or cannot be loaded."""

    exit_code = 3


class InputError(LgmtscError):
    """An input file or message is unusable (no audio, corrupt, malformed)."""

    exit_code = 4


class BackendError(LgmtscError):
    """A configured backend (LLM endpoint, radio, flowgraph) is unreachable or failed."""

    exit_code = 5
