"""Sentence embeddings: mean-pooled all-MiniLM-L6-v2 (transformers), L2-normalised; loaded once per process."""

from __future__ import annotations

import functools
import threading

import numpy as np


@functools.lru_cache(maxsize=2)
def load_embedder(name_or_dir: str) -> "SentenceEmbedder":
    """The embedder for a registry name (``minilm-l6``) or a BERT directory, created once per process."""
    return SentenceEmbedder(name_or_dir)


class SentenceEmbedder:
    """``embed(texts) -> float32 [n, d]`` unit vectors; cosine similarity is their dot product."""

    def __init__(self, name_or_dir: str):
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from ..errors import ModelError
        from ..models import resolve_model_dir

        hf_logging.disable_progress_bar()
        path = resolve_model_dir(name_or_dir)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            self.model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
        except (OSError, ValueError) as e:
            raise ModelError(f"cannot load the sentence encoder from {path}: {e}",
                             hint="run `lgmtsc models install minilm-l6` or set kb.embedder") from e
        self.name = name_or_dir
        self.dim = int(self.model.config.hidden_size)
        self._torch = torch
        self._lock = threading.Lock()

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        torch = self._torch
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with self._lock, torch.no_grad():
            for a in range(0, len(texts), batch_size):
                batch = [t if t.strip() else "." for t in texts[a:a + batch_size]]
                enc = self.tokenizer(batch, padding=True, truncation=True, max_length=256, return_tensors="pt")
                h = self.model(**enc).last_hidden_state
                m = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
                v = (h * m).sum(1) / m.sum(1).clamp_min(1.0)
                v = torch.nn.functional.normalize(v, dim=-1)
                out[a:a + len(batch)] = v.numpy()
        return out

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two texts (1.0 for two empty texts)."""
        if not a.strip() and not b.strip():
            return 1.0
        if not a.strip() or not b.strip():
            return 0.0
        v = self.embed([a, b])
        return float(v[0] @ v[1])
