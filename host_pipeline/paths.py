"""Where the project keeps state outside the clone (shared by every clone and CI on a machine)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def lgmtsc_home() -> Path:
    """``$LGMTSC_HOME``, default ``~/.cache/lgmtsc``: venvs, the model cache, databases."""
    return Path(os.environ.get("LGMTSC_HOME") or Path.home() / ".cache" / "lgmtsc").expanduser()


def model_cache_dir() -> Path:
    """``$LGMTSC_MODELS``, default ``$LGMTSC_HOME/models``: the verified model cache."""
    env = os.environ.get("LGMTSC_MODELS")
    return Path(env).expanduser() if env else lgmtsc_home() / "models"


def data_dir() -> Path:
    """``$LGMTSC_DATA``, default ``$LGMTSC_HOME/data``: knowledge-base databases and enrolled profiles."""
    env = os.environ.get("LGMTSC_DATA")
    return Path(env).expanduser() if env else lgmtsc_home() / "data"


def shared_data_dir() -> Path:
    """The real speech/face/text data beside the checkout (``../shared/data``), or ``$LGMTSC_SHARED_DATA``."""
    env = os.environ.get("LGMTSC_SHARED_DATA")
    return Path(env).expanduser() if env else REPO_ROOT.parent / "shared" / "data"
