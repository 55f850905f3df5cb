"""Errors of the LLM backends (both are BackendError: the caller falls back or reports them)."""

from __future__ import annotations

from ..errors import BackendError


class LlmError(BackendError):
    """The LLM could not be reached, failed, or replied with something unusable."""


class LlmTimeout(LlmError):
    """The LLM did not finish within the configured time."""
