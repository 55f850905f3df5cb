"""Downstream evaluation: the fixed classifiers, their fingerprints, and cells that deliver what they claim."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from host_pipeline.errors import InputError, ModelError
from host_pipeline.evaluation import classifier, datasets, stats
from host_pipeline.evaluation import downstream as ds


@pytest.fixture(scope="module")
def encoder():
    from host_pipeline.codec import CodecConfig, SemanticCodec

    return SemanticCodec.load(CodecConfig()).encoder


def test_logistic_fit_recovers_known_weights():
    rng = np.random.default_rng(0)
    w_true = np.array([2.0, -1.0, 0.5])
    x = rng.normal(size=(20000, 3))
    y = (rng.random(20000) < 1 / (1 + np.exp(-(x @ w_true - 0.3)))).astype(float)
    w = classifier.fit_logistic(x, y, l2=1e-3)
    assert np.allclose(w[:-1], w_true, atol=0.08) and abs(w[-1] + 0.3) < 0.08


def test_wilson_interval_matches_hand_computed_values():
    lo, hi = stats.wilson(5, 10)
    assert abs(lo - 0.2366) < 1e-3 and abs(hi - 0.7634) < 1e-3
    assert stats.wilson(0, 20)[0] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("dataset, words, threshold", [("sms_spam", None, 0.95), ("imdb", 40, 0.62)])
def test_shipped_classifier_is_accurate_on_clean_held_out_text(encoder, dataset, words, threshold):
    clf = classifier.load_classifier(dataset, encoder, words, train_if_missing=False)
    train, test = datasets.split(datasets.load_dataset(dataset, words))
    assert not {t.lower() for t, _ in train} & {t.lower() for t, _ in test}  # kept apart
    pred = clf.predict(encoder, [encoder.canonical(t) for t, _ in test])
    acc = float((pred == np.array([l for _, l in test])).mean())
    assert acc >= threshold, f"{dataset}: {acc:.3f}"


def test_tampered_classifier_is_refused(encoder, tmp_path, monkeypatch):
    for f in classifier.CLASSIFIER_DIR.glob("imdb.*"):
        shutil.copy(f, tmp_path / f.name)
    z = dict(np.load(tmp_path / "imdb.npz"))
    z["weights"][0] += 0.1
    np.savez(tmp_path / "imdb.npz", **z)
    monkeypatch.setattr(classifier, "CLASSIFIER_DIR", tmp_path)
    with pytest.raises(ModelError, match="weights"):
        classifier.load_classifier("imdb", encoder, 40, train_if_missing=False)


def test_cells_deliver_clean_text_at_high_snr_and_lose_digital_at_low_snr():
    common = {"dataset": "imdb", "n": 6, "words": 40, "channel": "awgn"}
    sem = ds.downstream_cell({**common, "system": "semantic", "snr_db": 20.0}, seed=1)
    assert sem["n"] == 6 and sem["similarity"] > 0.97 and sem["accuracy"] == sem["clean_accuracy"]
    dig = ds.downstream_cell({**common, "system": "digital", "snr_db": -10.0}, seed=1)
    assert dig["lost"] == 6 and dig["similarity"] == 0.0
    dig_hi = ds.downstream_cell({**common, "system": "digital", "snr_db": 20.0}, seed=1)
    assert dig_hi["lost"] == 0 and dig_hi["accuracy"] == dig_hi["clean_accuracy"]


def test_unknown_dataset_and_system_are_input_errors():
    with pytest.raises(InputError, match="unknown dataset"):
        datasets.load_dataset("mnist")
    with pytest.raises(InputError, match="unknown system"):
        ds.downstream_cell({"dataset": "imdb", "n": 2, "words": 40, "channel": "awgn", "system": "analog",
                            "snr_db": 0.0}, seed=0)
