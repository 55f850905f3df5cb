"""The differentiable channel against the Es/N0 convention shared with gr-lgmtsc."""

import math

import pytest
import torch

from host_pipeline.codec import channel as ch


@pytest.mark.parametrize("esn0_db", [-5.0, 0.0, 10.0, 20.0])
def test_awgn_noise_variance_matches_esn0(esn0_db):
    gen = torch.Generator().manual_seed(1)
    x = torch.zeros(1, 1_000_000, dtype=torch.complex64)
    out = ch.transmit(x, esn0_db, "awgn", generator=gen)
    n0 = 10 ** (-esn0_db / 10)
    std_real = 1 / math.sqrt(2 * 10 ** (esn0_db / 10))
    assert float(out.symbols.real.std()) == pytest.approx(std_real, rel=0.02)
    assert float(out.symbols.imag.std()) == pytest.approx(std_real, rel=0.02)
    assert float((out.symbols.abs() ** 2).mean()) == pytest.approx(n0, rel=0.02)
    assert torch.allclose(out.noise_var, torch.full_like(out.noise_var, n0))


def test_rayleigh_fading_statistics_and_csi():
    gen = torch.Generator().manual_seed(2)
    b, n, esn0_db = 20_000, 50, 5.0
    x = ch.normalize_power(torch.complex(torch.randn(b, n, generator=gen), torch.randn(b, n, generator=gen)))
    out = ch.transmit(x, esn0_db, "rayleigh", generator=gen)
    g2 = out.gain.abs() ** 2
    assert float(g2[:, 0].mean()) == pytest.approx(1.0, rel=0.03)  # E|h|^2 = 1
    assert torch.all(out.gain == out.gain[:, :1])  # one h per message (block fading)
    # the reported CSI is the post-equalisation noise variance: normalised error has unit variance
    z = (out.symbols - x) / torch.sqrt(out.noise_var)
    assert float((z.abs() ** 2).mean()) == pytest.approx(1.0, rel=0.02)
    assert torch.allclose(out.noise_var, 10 ** (-esn0_db / 10) / g2, rtol=1e-4)


def test_rayleigh_blocks_and_noiseless_equalisation():
    gen = torch.Generator().manual_seed(3)
    x = ch.normalize_power(torch.complex(torch.randn(4, 100, generator=gen), torch.randn(4, 100, generator=gen)))
    out = ch.transmit(x, 300.0, "rayleigh", block_symbols=25, generator=gen)
    assert torch.allclose(out.symbols, x, atol=1e-4)
    assert len(torch.unique(out.gain[0].real)) == 4


def test_power_normalisation_per_message_with_mask():
    x = torch.complex(torch.randn(3, 40), torch.randn(3, 40)) * torch.tensor([[0.1], [1.0], [7.0]])
    mask = torch.ones(3, 40, dtype=torch.bool)
    mask[0, 30:] = False
    y = ch.normalize_power(x, mask) * mask
    energy = (y.abs() ** 2).sum(1) / mask.sum(1)
    assert torch.allclose(energy, torch.ones(3), atol=1e-5)


def test_channel_is_differentiable():
    x = torch.complex(torch.randn(2, 16), torch.randn(2, 16)).requires_grad_(True)
    out = ch.transmit(ch.normalize_power(x), torch.tensor([0.0, 10.0]), "rayleigh")
    out.symbols.abs().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_unknown_channel_is_rejected():
    with pytest.raises(ValueError):
        ch.transmit(torch.zeros(4, dtype=torch.complex64), 0.0, "rician")
