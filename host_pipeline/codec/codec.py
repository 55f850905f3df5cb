"""``SemanticCodec``: the stage's one interface, text -> complex channel symbols -> text.

The transmitter sends ``EncodedMessage.symbols`` (complex64, ``n_tokens * channel_uses_per_token``) as a PHY
PDU payload together with ``n_tokens``; the receiver calls ``decode(equalised symbols, per-symbol noise
variance, n_tokens)``. Batched tensor helpers below are what training and evaluation drive.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError, ModelError
from . import channel as ch
from .config import CodecConfig
from .encoder import BertSemanticEncoder
from .model import CodecModel, load_checkpoint

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"  # package data


@dataclass
class EncodedMessage:
    """What the transmitter sends: ``symbols`` (unit average energy) and ``n_tokens`` (for the PDU header)."""

    symbols: np.ndarray  # complex64 [n_tokens * channel_uses_per_token]
    n_tokens: int
    channel_uses_per_token: int
    token_ids: list[int] = field(default_factory=list)  # sender side only (metrics); never transmitted
    chunk_lengths: list[int] = field(default_factory=list)  # how the encoder window split the text


def resolve_checkpoint(name_or_path: str) -> Path:
    """A shipped checkpoint name (``host_pipeline/codec/checkpoints/<name>.safetensors``) or a file path."""
    p = Path(name_or_path).expanduser()
    if p.suffix == ".safetensors" or p.is_file():
        return p
    shipped = CHECKPOINT_DIR / f"{name_or_path}.safetensors"
    if shipped.is_file():
        return shipped
    have = sorted(q.stem for q in CHECKPOINT_DIR.glob("*.safetensors"))
    raise ModelError(f"unknown codec checkpoint {name_or_path!r}",
                     hint=f"shipped: {', '.join(have) or 'none'}; or give a .safetensors path")


def encode_features(model: CodecModel, feats: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Token features [B, L, H] -> unit-average-energy symbols [B, L, uses] per message (padding -> 0)."""
    b, l, _ = feats.shape
    x = model.encoder(feats)
    u = x.shape[-1]
    sym_mask = mask.unsqueeze(-1).expand(b, l, u).reshape(b, l * u)
    x = ch.normalize_power(x.reshape(b, l * u), sym_mask) * sym_mask
    return x.reshape(b, l, u)


def through_channel(x: torch.Tensor, esn0_db, channel: str, generator: torch.Generator | None = None,
                    block_symbols: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Symbols [B, L, uses] through ``channel.transmit``: equalised symbols and noise variance, same shape.

    ``channel`` may be "awgn", "rayleigh" or a bool tensor [B] (True = Rayleigh) for a mixed batch.
    """
    b, l, u = x.shape
    flat = x.reshape(b, l * u)
    if isinstance(channel, torch.Tensor):
        snr = torch.as_tensor(esn0_db, dtype=torch.float32).expand(b)
        y = torch.empty_like(flat)
        nv = torch.empty(b, l * u)
        for kind, rows in (("rayleigh", channel), ("awgn", ~channel)):
            if rows.any():
                out = ch.transmit(flat[rows], snr[rows], kind, generator=generator, block_symbols=block_symbols)
                y[rows], nv[rows] = out.symbols, out.noise_var
    else:
        out = ch.transmit(flat, esn0_db, channel, generator=generator, block_symbols=block_symbols)
        y, nv = out.symbols, out.noise_var
    return y.reshape(b, l, u), nv.reshape(b, l, u)


@torch.no_grad()
def decode_ids(model: CodecModel, word_embeddings: torch.Tensor, y: torch.Tensor, noise_var: torch.Tensor,
               mask: torch.Tensor) -> torch.Tensor:
    """Received symbols [B, L, uses] + noise variance -> most likely token ids [B, L] over the full vocabulary."""
    h = model.decoder.hidden(y, noise_var, ~mask)
    return model.decoder.logits(h, word_embeddings).argmax(-1)


_LOADED: dict[tuple, SemanticCodec] = {}
_LOCK = threading.Lock()


class SemanticCodec:
    """BERT semantic encoder + trained channel codec + tied semantic decoder, loaded once per process."""

    def __init__(self, encoder: BertSemanticEncoder, model: CodecModel, card: dict, config: CodecConfig):
        self.encoder = encoder
        self.model = model
        self.card = card
        self.config = config
        self.uses = model.arch.channel_uses
        self.word_embeddings = encoder.word_embeddings.detach()

    @classmethod
    def load(cls, config: CodecConfig | None = None) -> SemanticCodec:
        """The codec for ``config`` (cached: a second call with the same settings returns the same object)."""
        config = config or CodecConfig()
        key = (config.encoder, config.checkpoint, config.device)
        with _LOCK:
            if key not in _LOADED:
                torch.set_num_threads(max(1, config.threads))
                path = resolve_checkpoint(config.checkpoint)
                encoder = BertSemanticEncoder.from_name(config.encoder, config.device)
                model, card = load_checkpoint(path, encoder.hidden_size, encoder.vocab_size,
                                              encoder.embeddings_sha256())
                _LOADED[key] = cls(encoder, model.to(config.device), card, config)
            codec = _LOADED[key]
        if config.channel_uses_per_token is not None and config.channel_uses_per_token != codec.uses:
            raise ModelError(f"codec.channel_uses_per_token = {config.channel_uses_per_token}, but checkpoint "
                             f"{config.checkpoint} uses {codec.uses} complex channel uses per token",
                             hint="choose a checkpoint trained for that setting (docs/codec.md) or unset the value")
        return codec

    @torch.no_grad()
    def encode(self, text: str) -> EncodedMessage:
        """Text -> unit-average-energy complex symbols. Long text is split into encoder-window chunks (all sent)."""
        ids = self.encoder.tokenize(text, self.config.unknown_chars)
        chunks = self.encoder.split_chunks(ids, self.config.max_tokens_per_chunk)
        feats = torch.cat(self.encoder.features(chunks, self.model.arch.features)).unsqueeze(0)
        mask = torch.ones(1, len(ids), dtype=torch.bool)
        x = encode_features(self.model, feats, mask)[0].reshape(-1)
        return EncodedMessage(x.numpy().astype(np.complex64), len(ids), self.uses, ids, [len(c) for c in chunks])

    @torch.no_grad()
    def decode_candidates(self, symbols, noise_var, n_tokens: int, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
        """Equalised symbols + per-symbol (or scalar) noise variance -> the ``k`` most likely token ids per position
        and their posterior probabilities, both [n_tokens, k], best first (column 0 is the decoded text)."""
        n_tokens = int(n_tokens)
        if n_tokens <= 0:
            raise InputError("n_tokens must be positive")
        y = torch.as_tensor(np.asarray(symbols, dtype=np.complex64).reshape(-1))
        need = n_tokens * self.uses
        if y.numel() != need:
            raise InputError(f"received {y.numel()} symbols, but {n_tokens} tokens x {self.uses} channel uses "
                             f"needs {need}", hint="check the PDU's token count and the codec checkpoint")
        nv = torch.as_tensor(np.asarray(noise_var, dtype=np.float32)).reshape(-1)
        if nv.numel() == 1:
            nv = nv.expand(need)
        elif nv.numel() != need:
            raise InputError(f"noise variance has {nv.numel()} values; give one or one per symbol ({need})")
        if not torch.isfinite(nv).all() or (nv < 0).any():
            raise InputError("noise variance must be finite and non-negative")
        y, nv = y.reshape(n_tokens, self.uses), nv.reshape(n_tokens, self.uses)
        w = max(1, self.config.max_tokens_per_chunk)
        ids, probs = [], []
        for a in range(0, n_tokens, w):
            seg = slice(a, min(a + w, n_tokens))
            mask = torch.ones(1, seg.stop - a, dtype=torch.bool)
            h = self.model.decoder.hidden(y[seg].unsqueeze(0), nv[seg].unsqueeze(0), ~mask)
            top = self.model.decoder.logits(h, self.word_embeddings)[0].softmax(-1).topk(k, dim=-1)
            ids.append(top.indices.numpy())
            probs.append(top.values.numpy())
        return np.concatenate(ids), np.concatenate(probs)

    def decode_token_ids(self, symbols, noise_var, n_tokens: int) -> list[int]:
        """Equalised symbols + per-symbol (or scalar) noise variance -> token ids."""
        return self.decode_candidates(symbols, noise_var, n_tokens, k=1)[0][:, 0].tolist()

    def decode(self, symbols, noise_var, n_tokens: int) -> str:
        """Equalised symbols [n_tokens*uses] + per-symbol noise variance (the receiver's CSI) -> text."""
        return self.encoder.detokenize(self.decode_token_ids(symbols, noise_var, n_tokens))

    def decode_with_confidence(self, symbols, noise_var, n_tokens: int) -> tuple[str, list[tuple[str, float]]]:
        """Like ``decode``, plus each decoded word with its confidence in [0.5, 1]: per token, the posterior of the
        decoded token relative to the runner-up, p1 / (p1 + p2), and per word (a token and its ``##``
        continuations; punctuation tokens are words too) the lowest over its tokens. The relative form keeps rare
        words whose posterior mass is spread thinly over the vocabulary (p1 0.2-0.6 even without noise) confident.
        The text is exactly ``decode``'s."""
        return self.words_with_confidence(*self.decode_candidates(symbols, noise_var, n_tokens, k=2))

    def words_with_confidence(self, cand_ids: np.ndarray,
                              cand_probs: np.ndarray) -> tuple[str, list[tuple[str, float]]]:
        """``decode_with_confidence`` from candidates already computed (``decode_candidates`` with k >= 2)."""
        ids, probs = cand_ids[:, 0], cand_probs[:, :2]
        conf = probs[:, 0] / np.maximum(probs.sum(1), 1e-30)
        starts = np.union1d([0], np.flatnonzero(~self.encoder.continuation[torch.as_tensor(ids)].numpy()))
        words = [(self.encoder.detokenize(ids[a:b].tolist()), float(conf[a:b].min()))
                 for a, b in zip(starts, np.append(starts[1:], len(ids)))]
        return self.encoder.detokenize(ids.tolist()), words
