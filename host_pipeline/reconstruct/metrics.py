"""Metrics of the reconstruction: identity distance (dlib 128-d), lip-sync, speaker similarity, intelligibility."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ModelError
from ..publickb.face import FaceAnalyzer


class IdentityMeter:
    """dlib's 128-d face descriptor (face-recognition-models); distance < 0.6 is dlib's same-person threshold."""

    def __init__(self):
        try:
            import dlib
            import face_recognition_models as frm
        except ImportError as e:
            raise ModelError(f"the identity metric needs dlib ({e})",
                             hint="pip install dlib-bin==20.0.1.post1 face-recognition-models==0.3.0 "
                                  "-c requirements/constraints.txt") from None
        self.detector = dlib.get_frontal_face_detector()
        self.shape = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        self.net = dlib.face_recognition_model_v1(frm.face_recognition_model_location())

    def descriptor(self, rgb: np.ndarray) -> np.ndarray | None:
        img = np.ascontiguousarray(rgb)
        dets = self.detector(img, 1 if min(img.shape[:2]) < 400 else 0)
        if not dets:
            return None
        d = max(dets, key=lambda r: r.width() * r.height())
        return np.asarray(self.net.compute_face_descriptor(img, self.shape(img, d)), np.float32)

    def distance(self, ref: np.ndarray, rgb: np.ndarray) -> float:
        """Euclidean descriptor distance (inf when no face is found in ``rgb``)."""
        d = self.descriptor(rgb)
        return float(np.linalg.norm(ref - d)) if d is not None else float("inf")


@dataclass
class LipSync:
    correlation: float  # Pearson correlation of mouth opening and audio envelope at zero lag
    best_correlation: float
    offset_ms: float  # lag of the best correlation; positive = mouth after sound
    opening: np.ndarray
    envelope: np.ndarray


def frame_envelope(audio: np.ndarray, sr: int, fps: int, n: int) -> np.ndarray:
    """RMS of the audio within each video frame period."""
    hop = sr / fps
    out = np.zeros(n)
    for i in range(n):
        seg = audio[int(i * hop):int((i + 1) * hop)]
        out[i] = np.sqrt(np.mean(seg**2)) if seg.size else 0.0
    return out


def lip_sync(frames: list[np.ndarray], audio: np.ndarray, sr: int, fps: int, analyzer: FaceAnalyzer,
             max_lag: int = 5) -> LipSync:
    """Mouth opening measured by face mesh on each rendered frame against the audio envelope."""
    opening = np.array([(f.mouth_opening() if (f := analyzer.largest(fr)) else np.nan) for fr in frames])
    if np.isnan(opening).any():
        good = ~np.isnan(opening)
        opening = np.interp(np.arange(opening.size), np.flatnonzero(good), opening[good]) if good.any() else np.zeros(opening.size)
    env = frame_envelope(audio, sr, fps, len(frames))

    def corr(lag: int) -> float:
        a, b = (opening[lag:], env[:env.size - lag]) if lag >= 0 else (opening[:lag], env[-lag:])
        if a.size < 3 or a.std() < 1e-9 or b.std() < 1e-9:
            return 0.0
        return float(np.corrcoef(a, b)[0, 1])

    lags = list(range(-max_lag, max_lag + 1))
    cs = [corr(k) for k in lags]
    k = int(np.argmax(cs))
    return LipSync(corr(0), cs[k], 1000.0 * lags[k] / fps, opening, env)
