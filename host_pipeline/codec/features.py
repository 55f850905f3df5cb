"""Frozen-BERT token features of a list of texts, computed once and cached on disk (training and evaluation)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch

from ..paths import lgmtsc_home
from .encoder import BertSemanticEncoder


@dataclass
class FeatureSet:
    """Concatenated token ids [T] and features [T, H] (fp16) of items; item i is ``offsets[i]:offsets[i+1]``."""

    ids: torch.Tensor
    feats: torch.Tensor
    offsets: torch.Tensor

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def lengths(self) -> torch.Tensor:
        return self.offsets[1:] - self.offsets[:-1]

    def batch(self, items) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Padded ``(feats [B, L, H] fp32, ids [B, L], valid mask [B, L])`` of the given item indices."""
        lens = [int(self.offsets[i + 1] - self.offsets[i]) for i in items]
        L, H = max(lens), self.feats.shape[1]
        feats = torch.zeros(len(items), L, H)
        ids = torch.zeros(len(items), L, dtype=torch.long)
        mask = torch.zeros(len(items), L, dtype=torch.bool)
        for r, (i, n) in enumerate(zip(items, lens)):
            a = int(self.offsets[i])
            feats[r, :n] = self.feats[a : a + n].float()
            ids[r, :n] = self.ids[a : a + n]
            mask[r, :n] = True
        return feats, ids, mask


def compute_features(encoder: BertSemanticEncoder, texts: list[str], max_tokens: int = 64, batch_size: int = 64,
                     progress: bool = True, cache_key: str | None = None, kind: str = "last") -> FeatureSet:
    """Tokenise (unknown characters -> [UNK]), split into chunks of ``max_tokens`` and run the encoder once.

    With ``cache_key`` the result is stored under ``$LGMTSC_HOME/cache/codec/`` keyed by the encoder's
    embeddings, the texts and ``max_tokens``, and reused.
    """
    key = hashlib.sha256("\n".join(texts).encode("utf-8") + f"|{max_tokens}|{kind if kind != 'last' else ''}".encode()
                         + encoder.embeddings_sha256().encode()).hexdigest()[:16]
    path = lgmtsc_home() / "cache" / "codec" / f"features-{cache_key}-{key}.pt" if cache_key else None
    if path is not None and path.is_file():
        d = torch.load(path, weights_only=True)
        return FeatureSet(d["ids"], d["feats"], d["offsets"])
    chunks: list[list[int]] = []
    for t in texts:
        chunks += encoder.split_chunks(encoder.tokenize(t, unknown_chars="replace"), max_tokens)
    order = sorted(range(len(chunks)), key=lambda i: len(chunks[i]))
    out: list[torch.Tensor | None] = [None] * len(chunks)
    from tqdm import tqdm

    bar = tqdm(total=len(chunks), desc=f"BERT features ({cache_key or 'texts'})", unit="item", disable=not progress)
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        for i, f in zip(idx, encoder.features([chunks[i] for i in idx], kind)):
            out[i] = f.to(torch.float16)
        bar.update(len(idx))
    bar.close()
    lens = torch.tensor([0] + [len(c) for c in chunks])
    fs = FeatureSet(torch.tensor([i for c in chunks for i in c], dtype=torch.long),
                    torch.cat(out) if out else torch.zeros(0, 1, dtype=torch.float16),
                    torch.cumsum(lens, 0))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"ids": fs.ids, "feats": fs.feats, "offsets": fs.offsets}, path)
    return fs
