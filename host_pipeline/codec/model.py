"""The trainable parts of the codec and their checkpoint format.

- ``ChannelEncoder``: the stacked autoencoder's encoder, BERT feature [H] -> 2*uses reals = ``uses`` complex
  channel uses per token (power normalisation to unit average symbol energy is applied per message).
- ``ChannelDecoder``: per token, the received (MMSE-scaled) symbols and their CSI log(1 + 1/noise_var)
  -> a feature [H], refined by residual depthwise-conv blocks over neighbouring tokens (context), then the semantic
  decoder: BERT's MLM-style transform and the final linear layer to the vocabulary, whose weight is tied to
  the encoder's input embeddings (so it is not stored) plus a stored bias.

Checkpoints: fp16 safetensors plus a JSON model card that carries the file's SHA-256 (checked at load),
the architecture, the encoder fingerprint, corpus, SNR distribution, channel and metrics.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import ModelError


@dataclass(frozen=True)
class CodecArch:
    """Shapes that define a checkpoint."""

    hidden_size: int  # the BERT encoder's feature size H
    vocab_size: int
    channel_uses: int  # complex channel uses per token
    mlp_width: int = 384
    context_layers: int = 2  # residual depthwise-conv blocks over neighbouring tokens at the receiver
    features: str = "last"  # the encoder's feature kind (encoder.FEATURE_KINDS)

    @property
    def feature_size(self) -> int:
        from .encoder import FEATURE_KINDS

        return FEATURE_KINDS[self.features] * self.hidden_size


class ChannelEncoder(nn.Module):
    """BERT token feature [.., feature_size] -> [.., uses] complex symbols (before power normalisation)."""

    def __init__(self, arch: CodecArch):
        super().__init__()
        self.uses = arch.channel_uses
        self.net = nn.Sequential(nn.LayerNorm(arch.feature_size, elementwise_affine=False),
                                 nn.Linear(arch.feature_size, arch.mlp_width), nn.GELU(),
                                 nn.Linear(arch.mlp_width, arch.mlp_width), nn.GELU(),
                                 nn.Linear(arch.mlp_width, 2 * arch.channel_uses))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        z = self.net(feats)
        return torch.complex(z[..., : self.uses], z[..., self.uses :])


class ChannelDecoder(nn.Module):
    """Received symbols [B, L, uses] + noise variance [B, L, uses] -> token logits [B, L, vocab]."""

    def __init__(self, arch: CodecArch):
        super().__init__()
        h = arch.hidden_size
        self.net = nn.Sequential(nn.Linear(3 * arch.channel_uses, arch.mlp_width), nn.GELU(),
                                 nn.Linear(arch.mlp_width, arch.mlp_width), nn.GELU(),
                                 nn.Linear(arch.mlp_width, h), nn.LayerNorm(h))
        self.context = nn.ModuleList(ContextBlock(h) for _ in range(arch.context_layers))
        self.transform = nn.Sequential(nn.Linear(h, h), nn.GELU(), nn.LayerNorm(h))
        self.out_bias = nn.Parameter(torch.zeros(arch.vocab_size))

    def hidden(self, y: torch.Tensor, noise_var: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Token states [B, L, H]; ``pad_mask`` [B, L] is True at padding."""
        nv = noise_var.clamp(1e-3, 1e6)  # below 1e-3 (30 dB) is treated as 30 dB: beyond training
        mmse = y / (1.0 + nv)  # E[x|y] scaling for unit-energy symbols: bounded even in deep fades
        reliability = torch.log1p(1.0 / nv) / 4.0
        z = self.net(torch.cat([mmse.real, mmse.imag, reliability], dim=-1))
        for block in self.context:
            z = block(z, pad_mask)
        return self.transform(z)

    def logits(self, hidden: torch.Tensor, word_embeddings: torch.Tensor, candidates: torch.Tensor | None = None):
        """Scores over the whole vocabulary, or over ``candidates`` (ids) for a sampled softmax in training."""
        if candidates is None:
            return hidden @ word_embeddings.t() + self.out_bias
        return hidden @ word_embeddings[candidates].t() + self.out_bias[candidates]


class ContextBlock(nn.Module):
    """Residual local context over neighbouring tokens: LayerNorm, depthwise conv (kernel 5), GELU, pointwise."""

    def __init__(self, h: int, kernel: int = 5):
        super().__init__()
        self.norm = nn.LayerNorm(h)
        self.conv = nn.Conv1d(h, h, kernel, padding=kernel // 2, groups=h)
        self.point = nn.Linear(h, h)

    def forward(self, z: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        u = self.norm(z)
        if pad_mask is not None:
            u = u.masked_fill(pad_mask.unsqueeze(-1), 0.0)
        u = self.conv(u.transpose(1, 2)).transpose(1, 2)
        return z + self.point(nn.functional.gelu(u))


class CodecModel(nn.Module):
    """Channel encoder + channel/semantic decoder of one checkpoint."""

    def __init__(self, arch: CodecArch):
        super().__init__()
        self.arch = arch
        self.encoder = ChannelEncoder(arch)
        self.decoder = ChannelDecoder(arch)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_checkpoint(model: CodecModel, path: Path, card: dict) -> dict:
    """Write ``path`` (fp16 safetensors) and ``path.with_suffix('.json')`` (model card with the SHA-256)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(path), metadata={"format": "lgmtsc-codec-1"})
    card = {**card, "file": path.name, "sha256": file_sha256(path), "bytes": path.stat().st_size,
            "arch": asdict(model.arch)}
    path.with_suffix(".json").write_text(json.dumps(card, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return card


def load_checkpoint(path: Path, hidden_size: int, vocab_size: int, embeddings_sha256: str | None = None):
    """Load a checkpoint after checking its SHA-256 against its card and its shapes against the encoder.

    Returns ``(CodecModel in fp32 eval mode, card)``; any mismatch raises ModelError.
    """
    from safetensors.torch import load_file

    path = Path(path)
    card_path = path.with_suffix(".json")
    if not path.is_file():
        raise ModelError(f"codec checkpoint not found: {path}", hint="see docs/codec.md for the shipped checkpoints")
    if not card_path.is_file():
        raise ModelError(f"codec checkpoint {path.name} has no model card {card_path.name}")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        arch = CodecArch(**card["arch"])
        _ = arch.feature_size  # an unknown feature kind fails here
        want = card["sha256"]
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ModelError(f"model card {card_path} is malformed: {e}") from None
    got = file_sha256(path)
    if got != want:
        raise ModelError(f"codec checkpoint {path} is corrupt: SHA-256 {got[:16]}... does not match its card "
                         f"({want[:16]}...)",
                         hint="restore the file from git or retrain it (calibration/codec/train.py)")
    if arch.hidden_size != hidden_size or arch.vocab_size != vocab_size:
        raise ModelError(f"codec checkpoint {path.name} was trained for an encoder with hidden size "
                         f"{arch.hidden_size} and vocabulary {arch.vocab_size}, but the configured encoder has "
                         f"{hidden_size} and {vocab_size}", hint="set codec.encoder to the checkpoint's encoder "
                         f"({card.get('encoder', {}).get('name', '?')}) or train a checkpoint for this encoder")
    enc_sha = card.get("encoder", {}).get("embeddings_sha256")
    if embeddings_sha256 and enc_sha and enc_sha != embeddings_sha256:
        raise ModelError(f"codec checkpoint {path.name} was trained with different BERT embeddings than the "
                         "configured encoder's", hint="use the encoder named in the checkpoint's card")
    model = CodecModel(arch)
    tensors = load_file(str(path))
    expected = model.state_dict()
    wrong = [k for k in expected if k not in tensors or tuple(tensors[k].shape) != tuple(expected[k].shape)]
    extra = [k for k in tensors if k not in expected]
    if wrong or extra:
        k = (wrong or extra)[0]
        shape = tuple(tensors[k].shape) if k in tensors else "missing"
        raise ModelError(f"codec checkpoint {path.name} does not fit its architecture: tensor {k!r} is {shape}, "
                         f"expected {tuple(expected[k].shape) if k in expected else 'absent'}")
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    return model.eval(), card
