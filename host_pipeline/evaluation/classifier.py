"""The fixed downstream classifier: logistic regression on MiniLM embeddings, shipped with a card checked at load."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .datasets import _data_sha, load_dataset, split

CLASSIFIER_DIR = Path(__file__).resolve().parent / "classifiers"


@dataclass
class Classifier:
    """L2-regularised logistic regression on standardised MiniLM sentence embeddings (the codec's encoder)."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # [d + 1], last = bias
    card: dict

    def scores(self, embeddings: np.ndarray) -> np.ndarray:
        z = (embeddings - self.mean) / self.scale
        return z @ self.weights[:-1] + self.weights[-1]

    def predict(self, encoder, texts: list[str]) -> np.ndarray:
        return (self.scores(embed(encoder, texts)) > 0).astype(np.int64)

    @property
    def fingerprint(self) -> str:
        return self.card["weights_sha256"][:16]


def embed(encoder, texts: list[str]) -> np.ndarray:
    """Float64 sentence embeddings; the empty text (a lost message) embeds as the tokenizer's empty input."""
    return encoder.sentence_embeddings(list(texts)).numpy().astype(np.float64)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 50) -> np.ndarray:
    """Newton's method (IRLS) for logistic regression with an L2 penalty on the weights (not the bias)."""
    a = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(a.shape[1])
    reg = np.full(a.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(a @ w)))
        grad = a.T @ (p - y) + reg * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(reg) + 1e-9 * np.eye(a.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


L2_GRID = (1.0, 10.0, 100.0, 1000.0, 10000.0)


def cross_validated_accuracy(z: np.ndarray, y: np.ndarray, l2: float, folds: int = 5) -> float:
    """Mean held-out accuracy of ``fit_logistic`` over ``folds`` fixed interleaved folds."""
    accs = []
    for k in range(folds):
        test = np.arange(len(y)) % folds == k
        w = fit_logistic(z[~test], y[~test], l2)
        accs.append((((z[test] @ w[:-1] + w[-1]) > 0) == (y[test] > 0.5)).mean())
    return float(np.mean(accs))


def train_classifier(dataset: str, encoder, words: int | None) -> Classifier:
    """Fit the dataset's classifier on its training split (lower-cased: the codec delivers uncased text)."""
    train, _ = split(load_dataset(dataset, words))
    texts = [encoder.canonical(t) for t, _ in train]
    y = np.array([l for _, l in train], dtype=np.float64)
    x = embed(encoder, texts)
    mean, scale = x.mean(0), x.std(0) + 1e-6
    z = (x - mean) / scale
    cv = {l2: cross_validated_accuracy(z, y, l2) for l2 in L2_GRID}
    l2 = max(cv, key=lambda k: (cv[k], k))
    w = fit_logistic(z, y, l2)
    acc = float((((z @ w[:-1] + w[-1]) > 0) == (y > 0.5)).mean())
    card = {"dataset": dataset, "words": words, "train_items": len(train), "train_accuracy": round(acc, 4),
            "l2": l2, "cv5_accuracy": {str(k): round(v, 4) for k, v in cv.items()},
            "data_sha256": _data_sha(train), "encoder_embeddings_sha256": encoder.embeddings_sha256(),
            "model": "logistic regression (L2 by 5-fold CV, Newton) on standardised mean-pooled MiniLM embeddings",
            "weights_sha256": hashlib.sha256(np.concatenate([mean, scale, w]).astype("<f8").tobytes()).hexdigest()}
    return Classifier(mean, scale, w, card)


def load_classifier(dataset: str, encoder, words: int | None, train_if_missing: bool = True) -> Classifier:
    """The shipped classifier (``classifiers/<dataset>.npz`` + ``.json``), checked against the data and encoder.

    A missing file is trained and saved (deterministic, a minute); a stale one (other data, encoder or word cut)
    is a ``ModelError``, never silently replaced.
    """
    npz, card_path = CLASSIFIER_DIR / f"{dataset}.npz", CLASSIFIER_DIR / f"{dataset}.json"
    train, _ = split(load_dataset(dataset, words))
    if not npz.exists():
        if not train_if_missing:
            raise ModelError(f"classifier for {dataset} missing: {npz}")
        clf = train_classifier(dataset, encoder, words)
        CLASSIFIER_DIR.mkdir(parents=True, exist_ok=True)
        np.savez(npz, mean=clf.mean, scale=clf.scale, weights=clf.weights)
        card_path.write_text(json.dumps(clf.card, indent=1) + "\n")
        return clf
    card = json.loads(card_path.read_text())
    z = np.load(npz)
    clf = Classifier(z["mean"], z["scale"], z["weights"], card)
    sha = hashlib.sha256(np.concatenate([clf.mean, clf.scale, clf.weights]).astype("<f8").tobytes()).hexdigest()
    stale = [what for what, ok in (("weights", sha == card["weights_sha256"]),
                                   ("training data", card["data_sha256"] == _data_sha(train)),
                                   ("encoder", card["encoder_embeddings_sha256"] == encoder.embeddings_sha256()),
                                   ("word cut", card["words"] == words)) if not ok]
    if stale:
        raise ModelError(f"classifier {npz.name} does not match its {', '.join(stale)}",
                         hint=f"delete {npz} and its .json to retrain it (deterministic)")
    return clf
