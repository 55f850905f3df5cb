"""Embedded default models: a pinned registry and a verified local cache (``lgmtsc models ...``)."""

from .cache import ModelCache, ModelState
from .registry import MODELS, ModelSpec

__all__ = ["MODELS", "ModelCache", "ModelSpec", "ModelState", "resolve_model_dir"]


def resolve_model_dir(name_or_path: str, cache: ModelCache | None = None):
    """A registry name -> its verified cache directory; an existing directory -> itself; else a clear error."""
    from pathlib import Path

    from ..errors import ModelError

    if name_or_path in MODELS:
        return (cache or ModelCache()).path(name_or_path)
    p = Path(name_or_path).expanduser()
    if p.is_dir():
        return p
    raise ModelError(f"model {name_or_path!r} is neither a known model nor an existing directory",
                     hint=f"use one of {', '.join(MODELS)} (see `lgmtsc models list`) or a model directory")
