"""The semantic encoder: a BERT-family model through ``transformers``, one feature vector per WordPiece token.

Also the text side of the codec: tokenisation (with the unknown-character policy and chunking of long text),
detokenisation, the tied output embeddings, and mean-pooled sentence embeddings for the similarity metric.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import torch

from ..errors import InputError, ModelError


@functools.lru_cache(maxsize=4)
def _load_encoder(name_or_dir: str, device: str) -> BertSemanticEncoder:
    from ..models import resolve_model_dir

    return BertSemanticEncoder(resolve_model_dir(name_or_dir), device)


FEATURE_KINDS = {"last": 1, "last+embeddings": 2}  # kind -> feature size in multiples of the hidden size


class BertSemanticEncoder:
    """A frozen BERT encoder and its WordPiece tokenizer, loaded once from a local directory."""

    def __init__(self, model_dir: str | Path, device: str = "cpu"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        self.model_dir = Path(model_dir)
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # no "Loading weights" bar on every load
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir))
            self.model = AutoModel.from_pretrained(str(self.model_dir)).to(device).eval()
        except Exception as e:  # transformers raises OSError/ValueError with long messages
            raise ModelError(f"cannot load the BERT encoder from {self.model_dir}: {e}",
                             hint="run `lgmtsc models install minilm-l6` "
                                  "or set codec.encoder to a BERT directory") from e
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        if not hasattr(self.model, "embeddings") or not hasattr(self.model.embeddings, "word_embeddings"):
            raise ModelError(f"{self.model_dir} is not a BERT-family encoder (no word embeddings)")
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.device = device
        self.hidden_size = int(self.model.config.hidden_size)
        self.vocab_size = int(self.model.config.vocab_size)
        self.max_positions = int(getattr(self.model.config, "max_position_embeddings", 512))
        self.unk_id = self.tokenizer.unk_token_id
        self.continuation = torch.tensor([t.startswith("##") for t in self.tokenizer.convert_ids_to_tokens(
            list(range(self.vocab_size)))], dtype=torch.bool)

    @classmethod
    def from_name(cls, name_or_dir: str, device: str = "cpu") -> BertSemanticEncoder:
        """A registry name (e.g. ``minilm-l6``) or a BERT checkpoint directory, loaded once per process and
        shared (the codec, the KB's sentence embedder and the metrics use the same frozen model)."""
        return _load_encoder(name_or_dir, device)

    @property
    def word_embeddings(self) -> torch.Tensor:
        """The input embedding matrix [vocab, hidden]: the semantic decoder's output layer is tied to it."""
        return self.model.embeddings.word_embeddings.weight

    def embeddings_sha256(self) -> str:
        """Fingerprint of the tied embeddings, so a checkpoint is never paired with another encoder."""
        w = self.word_embeddings.detach().to(torch.float32).contiguous().numpy()
        return hashlib.sha256(w.tobytes()).hexdigest()

    # --- text <-> token ids -------------------------------------------------------------------------------
    def tokenize(self, text: str, unknown_chars: str = "error") -> list[int]:
        """WordPiece ids of ``text`` (no [CLS]/[SEP]). Empty text, or characters the vocabulary cannot spell
        when ``unknown_chars == "error"``, raise InputError."""
        if not isinstance(text, str) or not text.strip():
            raise InputError("empty text: nothing to encode")
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = list(enc["input_ids"])
        if not ids:
            raise InputError(f"text {text[:40]!r} has no encodable characters")
        if unknown_chars == "error" and self.unk_id in ids:
            bad = sorted({text[a:b] for i, (a, b) in zip(ids, enc["offset_mapping"]) if i == self.unk_id})
            raise InputError("text contains characters the encoder's vocabulary cannot spell: "
                             f"{', '.join(map(repr, bad))}",
                             hint="transliterate or remove them, or set codec.unknown_chars=replace to send [UNK]")
        return ids

    def split_chunks(self, ids: list[int], max_tokens: int) -> list[list[int]]:
        """Split ``ids`` into chunks of at most ``max_tokens``, at word boundaries when possible (never drops any)."""
        limit = max(1, min(max_tokens, self.max_positions - 2))
        chunks, start = [], 0
        while start < len(ids):
            end = min(start + limit, len(ids))
            if end < len(ids):
                cut = end
                while cut > start + limit // 2 and bool(self.continuation[ids[cut]]):
                    cut -= 1
                end = cut if cut > start + limit // 2 else end
            chunks.append(ids[start:end])
            start = end
        return chunks

    def detokenize(self, ids: Iterable[int]) -> str:
        """Token ids -> text (WordPiece pieces merged, tokenizer's clean-up of spaces before punctuation)."""
        return self.tokenizer.decode(list(ids), skip_special_tokens=True, clean_up_tokenization_spaces=True)

    def canonical(self, text: str) -> str:
        """What a perfect channel delivers for ``text``: its tokenisation detokenised (lower case, no accents)."""
        return self.detokenize(self.tokenize(text, unknown_chars="replace"))

    # --- features -------------------------------------------------------------------------------------------
    @torch.no_grad()
    def features(self, chunks: list[list[int]], kind: str = "last") -> list[torch.Tensor]:
        """Per-token features of each chunk of ids (run with [CLS]/[SEP], which are dropped).

        ``kind``: "last" = last hidden state [n_i, H]; "last+embeddings" = last hidden state concatenated with the
        embedding layer's output [n_i, 2H] (context plus the token's own identity).
        """
        if kind not in FEATURE_KINDS:
            raise ModelError(f"unknown feature kind {kind!r}: use one of {', '.join(FEATURE_KINDS)}")
        if not chunks:
            return []
        pad = self.tokenizer.pad_token_id or 0
        longest = max(len(c) for c in chunks) + 2
        ids = torch.full((len(chunks), longest), pad, dtype=torch.long)
        mask = torch.zeros((len(chunks), longest), dtype=torch.long)
        for i, c in enumerate(chunks):
            row = [self.tokenizer.cls_token_id, *c, self.tokenizer.sep_token_id]
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        res = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                         output_hidden_states=kind != "last")
        out = res.last_hidden_state
        if kind == "last+embeddings":
            out = torch.cat([out, res.hidden_states[0]], dim=-1)
        return [out[i, 1 : 1 + len(c)].float().cpu() for i, c in enumerate(chunks)]

    @torch.no_grad()
    def sentence_embeddings(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        """L2-normalised mean-pooled embeddings [len(texts), hidden] (sentence-transformers' recipe for MiniLM)."""
        outs = []
        for i in range(0, len(texts), batch_size):
            batch = [t if t.strip() else "" for t in texts[i : i + batch_size]]
            enc = self.tokenizer(batch, padding=True, truncation=True, max_length=min(256, self.max_positions),
                                 return_tensors="pt").to(self.device)
            h = self.model(**enc).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
            e = (h * m).sum(1) / m.sum(1).clamp_min(1e-9)
            outs.append(torch.nn.functional.normalize(e, dim=-1).cpu())
        return torch.cat(outs) if outs else torch.zeros(0, self.hidden_size)
