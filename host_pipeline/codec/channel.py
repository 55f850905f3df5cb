"""The one differentiable channel of the project (training, evaluation and tests import it).

Convention (identical to gr-lgmtsc): SNR is Es/N0 of unit-average-energy complex symbols; the complex noise
variance is N0 = 10^(-EsN0/10), i.e. the noise std per real dimension is 1/sqrt(2*10^(EsN0/10)).
Rayleigh: block/flat fading h ~ CN(0, 1) (constant over a message, or over blocks of ``block_symbols``),
y = h x + n, zero-forcing equalisation y/h, and the post-equalisation noise variance N0/|h|^2 is the CSI the
receiver reports per symbol.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

ChannelType = Literal["awgn", "rayleigh"]


def noise_var_from_esn0(esn0_db):
    """Complex noise variance N0 for unit-energy symbols at Es/N0 ``esn0_db`` (float or tensor)."""
    if isinstance(esn0_db, torch.Tensor):
        return torch.pow(10.0, -esn0_db / 10.0)
    return 10.0 ** (-float(esn0_db) / 10.0)


def normalize_power(x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Scale complex symbols [B, N] so each message has unit average symbol energy (over ``mask``ed symbols)."""
    p = x.real**2 + x.imag**2
    if mask is None:
        mean = p.mean(dim=-1, keepdim=True)
    else:
        m = mask.to(p.dtype)
        mean = (p * m).sum(-1, keepdim=True) / m.sum(-1, keepdim=True).clamp_min(1.0)
    return x / torch.sqrt(mean + 1e-12)


@dataclass
class ChannelOutput:
    """Equalised symbols and the per-symbol post-equalisation noise variance (the receiver's CSI)."""

    symbols: torch.Tensor  # complex [B, N]
    noise_var: torch.Tensor  # real [B, N]
    gain: torch.Tensor  # complex fading coefficient per symbol (1 for AWGN) [B, N]


def transmit(x: torch.Tensor, esn0_db, channel: ChannelType = "awgn", *, block_symbols: int | None = None,
             generator: torch.Generator | None = None) -> ChannelOutput:
    """Pass complex symbols ``x`` [B, N] (or [N]) through AWGN or flat Rayleigh fading; differentiable in ``x``.

    ``esn0_db``: a float or a tensor [B] (one SNR per message). ``block_symbols``: Rayleigh coherence length in
    symbols (None = one h per message). Perfect-CSI zero-forcing equalisation.
    """
    squeeze = x.dim() == 1
    if squeeze:
        x = x.unsqueeze(0)
    b, n = x.shape
    real_dtype = x.real.dtype
    snr = torch.as_tensor(esn0_db, dtype=real_dtype, device=x.device).reshape(-1)
    n0 = noise_var_from_esn0(snr).expand(b).reshape(b, 1)
    std = torch.sqrt(n0 / 2.0)
    noise = torch.complex(torch.randn(b, n, generator=generator, dtype=real_dtype, device=x.device),
                          torch.randn(b, n, generator=generator, dtype=real_dtype, device=x.device)) * std
    if channel == "awgn":
        gain = torch.ones(b, n, dtype=x.dtype, device=x.device)
        return _squeeze(ChannelOutput(x + noise, n0.expand(b, n).clone(), gain), squeeze)
    if channel != "rayleigh":
        raise ValueError(f"unknown channel {channel!r}: use 'awgn' or 'rayleigh'")
    nblocks = 1 if block_symbols is None else max(1, math.ceil(n / block_symbols))
    h = torch.complex(torch.randn(b, nblocks, generator=generator, dtype=real_dtype, device=x.device),
                      torch.randn(b, nblocks, generator=generator, dtype=real_dtype, device=x.device)) * math.sqrt(0.5)
    if block_symbols is None:
        gain = h.expand(b, n)
    else:
        gain = h.repeat_interleave(block_symbols, dim=1)[:, :n]
    y = gain * x + noise
    g2 = (gain.real**2 + gain.imag**2).clamp_min(1e-12)
    eq = y * gain.conj() / g2
    return _squeeze(ChannelOutput(eq, n0 / g2, gain), squeeze)


def _squeeze(out: ChannelOutput, squeeze: bool) -> ChannelOutput:
    if squeeze:
        return ChannelOutput(out.symbols[0], out.noise_var[0], out.gain[0])
    return out
