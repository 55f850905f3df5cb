"""Generative semantic reconstructor: text -> the enrolled user's voice and talking face."""

from .config import ReconstructConfig

__all__ = ["ReconstructConfig"]
