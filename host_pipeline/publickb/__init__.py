"""Public knowledge base: enrolled users' face image P and vocal feature vector v, signed, in SQLite."""

from .config import PublicKbConfig

__all__ = ["PublicKbConfig"]
