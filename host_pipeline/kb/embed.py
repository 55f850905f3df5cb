"""Sentence embeddings: mean-pooled all-MiniLM-L6-v2 (transformers), L2-normalised; loaded once per process."""

from __future__ import annotations

import functools
import threading

import numpy as np


@functools.lru_cache(maxsize=2)
def load_embedder(name_or_dir: str) -> SentenceEmbedder:
    """The embedder for a registry name (``minilm-l6``) or a BERT directory, created once per process."""
    return SentenceEmbedder(name_or_dir)


class SentenceEmbedder:
    """``embed(texts) -> float32 [n, d]`` unit vectors; cosine similarity is their dot product.

    A view of the process's shared BERT encoder (``BertSemanticEncoder.from_name``): the pooling recipe lives
    in ``BertSemanticEncoder.sentence_embeddings`` and the model is loaded once for the codec and the KB.
    """

    def __init__(self, name_or_dir: str):
        from ..codec.encoder import BertSemanticEncoder

        self.encoder = BertSemanticEncoder.from_name(name_or_dir)
        self.name = name_or_dir
        self.dim = self.encoder.hidden_size
        self._lock = threading.Lock()

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch = [t if t.strip() else "." for t in texts]
        with self._lock:
            return self.encoder.sentence_embeddings(batch, batch_size).numpy().astype(np.float32, copy=False)

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two texts (1.0 for two empty texts)."""
        if not a.strip() and not b.strip():
            return 1.0
        if not a.strip() or not b.strip():
            return 0.0
        v = self.embed([a, b])
        return float(v[0] @ v[1])
