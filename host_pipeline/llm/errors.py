"""Errors of the LLM backends (all are BackendError: the caller falls back or reports them)."""

from __future__ import annotations

from ..errors import BackendError


class LlmError(BackendError):
    """The LLM could not be reached, failed, or replied with something unusable."""


class LlmTimeout(LlmError):
    """The LLM did not finish within the configured time."""


class LlmRejected(LlmError):
    """The server refused the request itself (HTTP 4xx other than 408/409/425/429): a setting to change, not a
    transient fault. ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int, hint: str | None = None):
        super().__init__(message, hint)
        self.status = status
