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


def real_data_dir() -> Path:
    """The real speech, face, video and text data the repo carries (``data/``, see ``data/PROVENANCE.tsv``),
    or ``$LGMTSC_REAL_DATA``."""
    env = os.environ.get("LGMTSC_REAL_DATA")
    return Path(env).expanduser() if env else REPO_ROOT / "data"
