"""The prompt encoder/decoder: a first-order Sugeno ANFIS (Jang 1993) mapping SNR to a length class.

Layers, for input x (SNR in dB) and rules i in (low, medium, high):
1. generalised bell membership  mu_i(x) = 1 / (1 + |(x - c_i) / a_i|^(2 b_i))
2. rule firing strength          w_i = mu_i(x)  (one input, so one membership per rule)
3. normalisation                 wbar_i = w_i / sum_j w_j
4. first-order consequents       f_ik = p_ik x + q_ik   (one linear function per rule and class k)
5. sum                           z_k = sum_i wbar_i f_ik ;  softmax over the classes k -> probabilities
Hybrid learning: with the premises (c, a, b) fixed, z is linear in (p, q), solved by least squares; the premises
then take gradient steps on the same squared error (Adam). Pure numpy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CLASSES = ("low", "medium", "high")


def bell(x, c, a, b):
    """Generalised bell membership 1 / (1 + |(x - c)/a|^(2b)), broadcast over arrays."""
    return 1.0 / (1.0 + np.abs((np.asarray(x, dtype=float) - c) / a) ** (2.0 * b))


@dataclass
class Anfis:
    """Premises ``c, a, b`` [rules]; consequents ``p, q`` [rules, classes]. ``input_range``: SNRs outside the
    range the model was fitted on are clamped to it (linear consequents must not extrapolate)."""

    c: np.ndarray
    a: np.ndarray
    b: np.ndarray
    p: np.ndarray
    q: np.ndarray
    meta: dict = field(default_factory=dict)
    input_range: tuple[float, float] | None = None

    @classmethod
    def initial(cls, snr_min: float = -5.0, snr_max: float = 25.0) -> Anfis:
        """Evenly spread memberships over [snr_min, snr_max], zero consequents."""
        c = np.linspace(snr_min, snr_max, 3)
        half = (snr_max - snr_min) / 4.0
        return cls(c, np.full(3, half), np.full(3, 2.0), np.zeros((3, 3)), np.zeros((3, 3)))

    # ------------------------------------------------------------------------------------------ forward
    def layers(self, x) -> dict[str, np.ndarray]:
        """Every layer's output for SNRs ``x`` [n]: mu, wbar [n, rules]; f [n, rules, classes];
        z, probs [n, classes]."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        if self.input_range is not None:
            x = np.clip(x, *self.input_range)
        mu = bell(x[:, None], self.c, self.a, self.b)
        wbar = mu / np.maximum(mu.sum(1, keepdims=True), 1e-300)
        f = x[:, None, None] * self.p[None] + self.q[None]
        z = np.einsum("ni,nik->nk", wbar, f)
        e = np.exp(z - z.max(1, keepdims=True))
        return {"mu": mu, "wbar": wbar, "f": f, "z": z, "probs": e / e.sum(1, keepdims=True)}

    def probs(self, x) -> np.ndarray:
        return self.layers(x)["probs"]

    def classify(self, snr_db: float) -> str:
        """The length class (low/medium/high) for one SNR."""
        return CLASSES[int(np.argmax(self.probs([snr_db])[0]))]

    # ------------------------------------------------------------------------------------------ learning
    def _design(self, x: np.ndarray) -> np.ndarray:
        wbar = self.layers(x)["wbar"]
        return np.concatenate([wbar * x[:, None], wbar], axis=1)  # [n, 2*rules]: coefficients of p_i, q_i

    def solve_consequents(self, x: np.ndarray, targets: np.ndarray, ridge: float = 1e-6) -> None:
        """Least-squares consequents for fixed premises (the forward half of hybrid learning)."""
        A = self._design(x)
        theta = np.linalg.solve(A.T @ A + ridge * np.eye(A.shape[1]), A.T @ targets)  # [2*rules, classes]
        self.p, self.q = theta[:3].copy(), theta[3:].copy()

    def loss(self, x: np.ndarray, targets: np.ndarray) -> float:
        return float(0.5 * np.mean(np.sum((self.layers(x)["z"] - targets) ** 2, axis=1)))

    def premise_gradient(self, x: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """d loss / d (c, a, b) with the consequents held fixed (the backward half of hybrid learning)."""
        L = self.layers(x)
        mu, wbar, f, z = L["mu"], L["wbar"], L["f"], L["z"]
        n = len(x)
        dz = (z - targets) / n  # [n, k]
        dwbar = np.einsum("nk,nik->ni", dz, f)  # [n, i]
        s = mu.sum(1, keepdims=True)
        dmu = (dwbar - (dwbar * wbar).sum(1, keepdims=True)) / s  # d wbar_i/d mu_j = (delta_ij - wbar_i)/S
        u = (x[:, None] - self.c) / self.a
        au = np.maximum(np.abs(u), 1e-12)
        common = -2.0 * self.b * au ** (2 * self.b - 1) * np.sign(u) * mu**2  # d mu / d u
        dc = (dmu * common * (-1.0 / self.a)).sum(0)
        da = (dmu * common * (-u / self.a)).sum(0)
        db = (dmu * (-(mu**2) * au ** (2 * self.b) * 2.0 * np.log(au))).sum(0)
        return dc, da, db

    def fit(self, x, targets, epochs: int = 400, lr: float = 0.05, tol: float = 1e-10) -> list[float]:
        """Hybrid learning on SNRs ``x`` [n] and class targets [n, classes] (one-hot or scores). Returns losses.
        Sets ``input_range`` to the range of ``x``."""
        x = np.asarray(x, dtype=float)
        self.input_range = None
        targets = np.asarray(targets, dtype=float)
        m = [np.zeros(3) for _ in range(3)]
        v = [np.zeros(3) for _ in range(3)]
        history = []
        for t in range(1, epochs + 1):
            self.solve_consequents(x, targets)
            history.append(self.loss(x, targets))
            if len(history) > 20 and history[-21] - history[-1] < tol:
                break
            grads = self.premise_gradient(x, targets)
            params = [self.c, self.a, self.b]
            for j, g in enumerate(grads):  # Adam on the premises
                m[j] = 0.9 * m[j] + 0.1 * g
                v[j] = 0.999 * v[j] + 0.001 * g * g
                step = lr * (m[j] / (1 - 0.9**t)) / (np.sqrt(v[j] / (1 - 0.999**t)) + 1e-12)
                params[j] -= step
            self.a = np.maximum(self.a, 0.1)
            self.b = np.clip(self.b, 0.3, 10.0)
        self.solve_consequents(x, targets)
        history.append(self.loss(x, targets))
        self.input_range = (float(x.min()), float(x.max()))
        return history

    # ------------------------------------------------------------------------------------------ storage
    def to_json(self) -> dict:
        return {"classes": list(CLASSES), "c": self.c.tolist(), "a": self.a.tolist(), "b": self.b.tolist(),
                "p": self.p.tolist(), "q": self.q.tolist(),
                "input_range": list(self.input_range) if self.input_range else None, "meta": self.meta}

    @classmethod
    def from_json(cls, d: dict) -> Anfis:
        if list(d.get("classes", CLASSES)) != list(CLASSES):
            raise ValueError(f"ANFIS classes {d.get('classes')} != {list(CLASSES)}")
        arr = {k: np.asarray(d[k], dtype=float) for k in ("c", "a", "b", "p", "q")}
        if any(arr[k].shape != (3,) for k in "cab") or any(arr[k].shape != (3, 3) for k in "pq"):
            raise ValueError("ANFIS parameters have the wrong shapes")
        rng = d.get("input_range")
        if rng is not None and (len(rng) != 2 or not rng[0] < rng[1]):
            raise ValueError(f"input_range {rng} must be [low, high]")
        return cls(**arr, meta=dict(d.get("meta", {})), input_range=tuple(map(float, rng)) if rng else None)

    def save(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Anfis:
        from ..errors import ModelError

        try:
            return cls.from_json(json.loads(Path(path).read_text()))
        except FileNotFoundError:
            raise ModelError(f"ANFIS parameters not found: {path}",
                             hint="set kb.anfis_params or run calibration/anfis/fit_anfis.py") from None
        except (ValueError, KeyError, TypeError) as e:
            raise ModelError(f"{path} holds no valid ANFIS parameters: {e}") from None


SHIPPED_PARAMS = Path(__file__).resolve().parent / "anfis_params.json"  # package data (calibration/anfis/fit_anfis.py)


def resolve_params_path(p: str) -> Path:
    """``kb.anfis_params``: empty for the shipped parameters, else a file path."""
    return Path(p).expanduser() if p else SHIPPED_PARAMS


def plot_memberships(anfis: Anfis, path: str | Path, snr_range: tuple[float, float] = (-10.0, 30.0),
                     title: str | None = None) -> None:
    """PNG: the three bell memberships and the class probabilities over SNR."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.linspace(*snr_range, 401)
    L = anfis.layers(x)
    fig, ax = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    for i, name in enumerate(CLASSES):
        ax[0].plot(x, L["mu"][:, i], label=f"{name}: c={anfis.c[i]:.1f}, a={anfis.a[i]:.1f}, b={anfis.b[i]:.2f}")
        ax[1].plot(x, L["probs"][:, i], label=name)
    ax[0].set_ylabel("membership mu(SNR)")
    ax[0].legend(fontsize=8)
    ax[1].set_ylabel("class probability (softmax)")
    ax[1].set_xlabel("SNR (Es/N0, dB)")
    ax[1].legend(fontsize=8)
    if title:
        ax[0].set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
