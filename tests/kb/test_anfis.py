"""ANFIS prompt encoder: every layer against hand-computed values, the premise gradient against finite
differences, and hybrid learning recovering known parameters."""

from __future__ import annotations

import json

import numpy as np
import pytest

from host_pipeline.errors import ModelError
from host_pipeline.kb.anfis import CLASSES, Anfis, bell, resolve_params_path
from host_pipeline.kb.config import KbConfig


def _known() -> Anfis:
    return Anfis(np.array([0.0, 8.0, 18.0]), np.array([4.0, 3.0, 5.0]), np.array([2.0, 1.5, 2.5]),
                 np.array([[-0.2, 0.1, 0.0], [0.1, -0.1, 0.05], [0.0, 0.05, 0.2]]),
                 np.array([[2.0, 0.0, -1.0], [-1.0, 1.5, 0.0], [-2.0, 0.0, 1.0]]))


def test_bell_hand_values():
    # |(x-c)/a| = 1 -> 1/2 whatever b; at the centre -> 1; (x-c)/a = 2, b = 2 -> 1/(1+2^4)
    assert bell(5.0, 0.0, 5.0, 3.0) == pytest.approx(0.5)
    assert bell(-5.0, 0.0, 5.0, 0.7) == pytest.approx(0.5)
    assert bell(7.0, 7.0, 2.0, 2.0) == pytest.approx(1.0)
    assert bell(10.0, 0.0, 5.0, 2.0) == pytest.approx(1 / 17)


def test_layers_hand_computed():
    m = Anfis(np.array([0.0, 10.0, 20.0]), np.array([5.0, 5.0, 5.0]), np.array([2.0, 2.0, 2.0]),
              np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
              np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))
    L = m.layers([5.0])
    mu = np.array([0.5, 0.5, 1 / 82])  # |u| = 1, 1, 3 -> 1/(1+3^4)
    np.testing.assert_allclose(L["mu"][0], mu)
    wbar = mu / mu.sum()
    np.testing.assert_allclose(L["wbar"][0], wbar)
    f = np.array([[5.0, 1.0, 0.0], [0.0, 5.0, 1.0], [1.0, 0.0, 5.0]])  # p*x + q per rule (rows) and class
    np.testing.assert_allclose(L["f"][0], f)
    z = wbar @ f
    np.testing.assert_allclose(L["z"][0], z)
    np.testing.assert_allclose(L["probs"][0], np.exp(z) / np.exp(z).sum())
    assert L["probs"][0].sum() == pytest.approx(1.0)


def test_premise_gradient_matches_finite_differences():
    m = _known()
    rng = np.random.default_rng(0)
    x = rng.uniform(-8, 28, 50)
    T = np.eye(3)[rng.integers(0, 3, 50)]
    grads = m.premise_gradient(x, T)
    for name, g in zip("cab", grads):
        for i in range(3):
            h = 1e-5
            up, down = _known(), _known()
            getattr(up, name)[i] += h
            getattr(down, name)[i] -= h
            fd = (up.loss(x, T) - down.loss(x, T)) / (2 * h)
            assert g[i] == pytest.approx(fd, rel=1e-4, abs=1e-8), (name, i)


def test_hybrid_learning_recovers_known_parameters():
    true = _known()
    x = np.linspace(-8, 28, 300)
    T = true.layers(x)["z"]
    m = Anfis(true.c + np.array([2.0, -2.0, 2.0]), true.a * 1.3, true.b * 0.8, np.zeros((3, 3)), np.zeros((3, 3)))
    hist = m.fit(x, T, epochs=3000, lr=0.05)
    assert hist[-1] < 1e-6 < hist[0]
    np.testing.assert_allclose(m.c, true.c, atol=0.05)
    np.testing.assert_allclose(m.a, true.a, rtol=0.02)
    np.testing.assert_allclose(m.b, true.b, rtol=0.02)
    np.testing.assert_allclose(m.p, true.p, atol=0.01)
    np.testing.assert_allclose(m.q, true.q, atol=0.05)


def test_least_squares_consequents_are_exact_for_true_premises():
    true = _known()
    x = np.linspace(-8, 28, 100)
    m = Anfis(true.c.copy(), true.a.copy(), true.b.copy(), np.zeros((3, 3)), np.zeros((3, 3)))
    m.solve_consequents(x, true.layers(x)["z"], ridge=0.0)
    np.testing.assert_allclose(m.p, true.p, atol=1e-8)
    np.testing.assert_allclose(m.q, true.q, atol=1e-7)


def test_save_load_roundtrip_and_bad_files(tmp_path):
    m = _known()
    m.meta = {"chain": "test"}
    m.save(tmp_path / "a.json")
    back = Anfis.load(tmp_path / "a.json")
    np.testing.assert_array_equal(back.q, m.q)
    assert back.meta == {"chain": "test"}
    with pytest.raises(ModelError, match="not found"):
        Anfis.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text(json.dumps({"c": [1, 2], "a": [1], "b": [], "p": [], "q": []}))
    with pytest.raises(ModelError, match="no valid ANFIS"):
        Anfis.load(tmp_path / "bad.json")


def test_shipped_parameters_load_and_were_fitted():
    path = resolve_params_path(KbConfig().anfis_params)
    m = Anfis.load(path)
    assert m.meta.get("chain") and m.meta.get("samples", 0) > 100, "shipped parameters must come from a fit"
    assert m.classify(30.0) == "high"
    assert set(m.classify(float(s)) for s in np.linspace(-10, 30, 81)) <= set(CLASSES)


def test_shipped_class_is_monotone_in_snr():
    """Low at low SNR, high at high SNR, and never back down in between (the first fit, from 2 noise realisations,
    picked a spurious "high" at -5 dB)."""
    m = Anfis.load(resolve_params_path(KbConfig().anfis_params))
    assert m.meta.get("realisations", 0) >= 8
    grid = np.arange(-15.0, 30.01, 0.25)
    idx = np.array([CLASSES.index(m.classify(float(s))) for s in grid])
    assert idx[0] == CLASSES.index("low") and idx[-1] == CLASSES.index("high")
    assert np.all(np.diff(idx) >= 0), dict(zip(grid[1:][np.diff(idx) < 0], idx[1:][np.diff(idx) < 0]))
    assert m.classify(-5.0) == "low" and m.classify(10.0) == "high"


def test_inputs_outside_the_fitted_range_are_clamped(tmp_path):
    m = _known()
    x = np.linspace(-5, 15, 50)
    m.fit(x, m.layers(x)["z"], epochs=5)
    assert m.input_range == (-5.0, 15.0)
    np.testing.assert_allclose(m.probs([40.0]), m.probs([15.0]))
    np.testing.assert_allclose(m.probs([-30.0]), m.probs([-5.0]))
    m.save(tmp_path / "m.json")
    assert Anfis.load(tmp_path / "m.json").input_range == (-5.0, 15.0)
