"""Talking-face backends behind one interface: ``FaceAnimator.render(profile, speech) -> iterator of frames``.

``EmbeddedAnimator`` warps the enrolled image P in real time on a CPU. At set-up it builds, from P's
landmarks, a few smooth displacement bases on the output grid (jaw/mouth opening, lip rounding, eye blink),
each a normalised-Gaussian interpolation of landmark displacements that fades to zero away from the face,
so there are no seams. Per frame the bases are mixed with the frame's mouth/blink parameters, composed with
a small head rotation/translation, and applied with one ``cv2.remap``; the newly opened part of the mouth
(inside the moved inner lips but sampled from outside P's own mouth interior) is shaded as a cavity.
Mouth parameters come from the phoneme timings (visemes: opening, rounding, closure on m/b/p) scaled by the
audio envelope, so mouth and sound stay in sync frame by frame.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..publickb import face as F
from ..publickb.store import Profile
from ..publickb.voice import envelope
from .config import ReconstructConfig
from .tts import Speech

log = logging.getLogger(__name__)


class FaceAnimator:
    """One talking-face engine."""

    name = "face"

    def render(self, profile: Profile, speech: Speech) -> Iterator[np.ndarray]:
        """RGB uint8 frames (size x size) at ``fps``, one per 1/fps of ``speech``, made as they are consumed."""
        raise NotImplementedError

    def frame_count(self, speech: Speech) -> int:
        return frame_count(speech.duration_s, self.cfg.fps)  # type: ignore[attr-defined]


def frame_count(duration_s: float, fps: int) -> int:
    return max(1, int(np.ceil(duration_s * fps - 1e-6)))


def _field(grid: np.ndarray, pts: np.ndarray, disp: np.ndarray, sigma: float) -> np.ndarray:
    """Displacement field on ``grid`` (N, 2): normalised Gaussian interpolation fading to 0 far from ``pts``."""
    d2 = ((grid[:, None, :] - pts[None, :, :]) ** 2).sum(-1)
    w = np.exp(-d2 / (2 * sigma**2))
    return (w @ disp) / (w.sum(1, keepdims=True) + 0.05)


@dataclass
class _Rig:
    """Per-profile precomputation at the output size."""

    source: np.ndarray  # (S, S, 3) uint8
    bases: np.ndarray  # (K, S, S, 2) float32: open (per px of lip gap), round (per px), blink (per unit)
    inner_up: np.ndarray  # inner-lip contour points (output px) and their displacement per basis unit
    inner_low: np.ndarray
    move_up: np.ndarray  # (K, n, 2)
    move_low: np.ndarray
    interior_src: np.ndarray  # (S, S) float32: P's own mouth interior
    gap0: float  # P's inner-lip gap (px)
    width: float  # mouth width (px)
    centre: np.ndarray
    grid: np.ndarray  # (2, S, S) float32: output pixel rows, columns


class EmbeddedAnimator(FaceAnimator):
    """Landmark-driven warping of the enrolled image, numpy/OpenCV only; about 5 ms a frame at 256x256."""

    name = "embedded"
    MAX_GAP = 0.30  # fully open inner-lip gap / mouth width
    MIN_GAP_OF_SOURCE = 0.4  # the mouth closes to at most this fraction of P's own lip gap

    def __init__(self, cfg: ReconstructConfig | None = None):
        import cv2

        self.cfg = cfg or ReconstructConfig()
        cv2.setNumThreads(max(1, self.cfg.threads))
        self._rigs: dict[tuple, _Rig] = {}

    # ---- set-up
    def rig(self, profile: Profile) -> _Rig:
        key = (profile.user_id, profile.image.shape, float(profile.landmarks[:, :2].sum()))
        if key not in self._rigs:
            self._rigs = {key: self._build(profile)}  # keep one: a receiver talks to one user at a time
        return self._rigs[key]

    def _build(self, profile: Profile) -> _Rig:
        import cv2

        S = self.cfg.size
        k = S / profile.image.shape[0]
        src = cv2.resize(profile.image, (S, S), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC)
        lm = profile.landmarks[:, :2].astype(np.float64) * k
        width = float(np.linalg.norm(lm[F.MOUTH_CORNERS[1]] - lm[F.MOUTH_CORNERS[0]]))
        gap0 = float(np.linalg.norm(lm[F.LOWER_LIP_INNER_MID] - lm[F.UPPER_LIP_INNER_MID]))
        mouth_c = lm[[*F.MOUTH_CORNERS]].mean(0)
        down = lm[152] - lm[168]  # face's down axis: nose bridge -> chin
        down /= np.linalg.norm(down)
        zero = [*F.NOSE, *F.EYE_R_UP, *F.EYE_R_LOW, *F.EYE_L_UP, *F.EYE_L_LOW, *F.BROWS,
                *[i for i in F.FACE_OVAL if i not in F.CHIN and i not in F.JAW_SIDE], 205, 425, 50, 280]
        yy, xx = np.mgrid[0:S, 0:S].astype(np.float64)
        grid = np.stack([xx.ravel(), yy.ravel()], 1)

        face_h = float(np.linalg.norm(lm[152] - lm[10]))
        neck = lm[F.CHIN + F.JAW_SIDE] + 0.3 * face_h * down  # fixed points below the jaw: the collar stays put

        def basis(moves: dict[int, np.ndarray], sigma: float, extra_zero: list[int] = ()) -> np.ndarray:
            ids = list(moves)
            zeros = [i for i in [*zero, *extra_zero] if i not in moves]
            pts = np.concatenate([lm[ids], lm[zeros], neck])
            disp = np.concatenate([np.array([moves[i] for i in ids]), np.zeros((len(zeros) + len(neck), 2))])
            out = np.zeros((S * S, 2))
            for a in range(0, S * S, 16384):  # bounded memory
                out[a:a + 16384] = _field(grid[a:a + 16384], pts, disp, sigma)
            return out.reshape(S, S, 2).astype(np.float32)

        # opening: +1 px of inner-lip gap; lower lip and jaw carry most of it
        op: dict[int, np.ndarray] = {}
        for i in F.LIPS_INNER_UP:
            op[i] = -0.25 * down
        for i in F.LIPS_OUTER_UP:
            op[i] = -0.2 * down
        for i in F.LIPS_INNER_LOW + F.LIPS_OUTER_LOW:
            op[i] = 0.75 * down
        for i in F.CHIN:
            op[i] = 0.6 * down
        for i in F.JAW_SIDE:
            op[i] = 0.3 * down
        for i in F.MOUTH_CORNERS + (78, 308):
            op[i] = 0.3 * down
        # rounding: +1 px pulls the corners towards the mouth centre
        rd = {i: (mouth_c - lm[i]) / (np.linalg.norm(mouth_c - lm[i]) + 1e-9) for i in F.MOUTH_CORNERS + (78, 308)}
        # blink: upper lids down onto the lower lids
        bl: dict[int, np.ndarray] = {}
        for up, low in ((F.EYE_R_UP, F.EYE_R_LOW), (F.EYE_L_UP, F.EYE_L_LOW)):
            for u, l in zip(up, low):
                gap = lm[l] - lm[u]
                bl[u] = 0.9 * gap
                bl[l] = -0.1 * gap
        eye_w = float(np.linalg.norm(lm[F.EYE_CORNERS[1]] - lm[F.EYE_CORNERS[0]]))
        bases = np.stack([basis(op, 0.22 * width), basis(rd, 0.2 * width),
                          basis(bl, 0.06 * eye_w, extra_zero=[33, 133, 263, 362])])
        n_up, n_low = F.LIPS_INNER_UP, F.LIPS_INNER_LOW
        move = lambda ids: np.stack([[op.get(i, np.zeros(2)) for i in ids], [rd.get(i, np.zeros(2)) for i in ids],  # noqa: E731
                                     [np.zeros(2) for _ in ids]])
        interior = np.zeros((S, S), np.uint8)
        poly = np.concatenate([lm[n_up], lm[n_low][::-1]])
        cv2.fillPoly(interior, [np.round(poly * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
        centre = lm[F.FACE_OVAL].mean(0)
        return _Rig(src, bases, lm[n_up].astype(np.float32), lm[n_low].astype(np.float32), move(n_up), move(n_low),
                    interior.astype(np.float32) / 255, gap0, width, centre, np.mgrid[0:S, 0:S].astype(np.float32))

    # ---- per-utterance drive
    def drive(self, rig: _Rig, speech: Speech, n: int) -> dict[str, np.ndarray]:
        """Per-frame parameters: lip gap (px), rounding (px), blink (0..1), head pose (deg, px, px)."""
        fps = self.cfg.fps
        t = (np.arange(n) + 0.5) / fps
        env = envelope(speech.audio, speech.sample_rate, 0.01)
        if env.size:
            env = np.convolve(env, np.hanning(5) / np.hanning(5).sum(), mode="same")
            ref = np.percentile(env, 95) + 1e-6
            e = np.clip(np.interp(t, (np.arange(env.size) + 1.25) * 0.01, env / ref), 0, 1) ** 0.7
        else:
            e = np.zeros(n)
        grid_t = np.arange(0, n / fps + 0.01, 0.01)
        o_v = np.full(grid_t.size, 0.6)  # no timings: envelope alone
        r_v = np.full(grid_t.size, 0.2)
        if speech.phoneme_timings:
            o_v[:], r_v[:] = 0.0, 0.2
            for p in speech.phoneme_timings:
                sl = (grid_t >= p.start) & (grid_t < max(p.end, p.start + 0.01))
                o_v[sl], r_v[sl] = p.opening, p.rounding
            k = np.hanning(7) / np.hanning(7).sum()  # ~30 ms coarticulation
            o_v, r_v = np.convolve(o_v, k, mode="same"), np.convolve(r_v, k, mode="same")
        o = np.interp(t, grid_t, o_v)
        r = np.interp(t, grid_t, r_v)
        # a P photographed mid-word is never shut completely (closing a wide-open mouth changes the face
        # most), and opens at least as wide as in P
        g_min = self.MIN_GAP_OF_SOURCE * rig.gap0
        g_max = max(self.MAX_GAP * rig.width, 1.1 * rig.gap0)
        gap = g_min + (g_max - g_min) * e * (0.25 + 0.75 * o)
        rounding = 0.12 * rig.width * r * np.minimum(1, 3 * e)
        rng = np.random.default_rng(self.cfg.seed)
        blink = np.zeros(n)
        tb = rng.uniform(0.5, 2.0)
        while tb < n / fps:
            shape = np.interp(t - tb, [0, 0.07, 0.12, 0.28], [0, 1, 1, 0], left=0, right=0)
            blink = np.maximum(blink, shape)
            tb += max(1.5, rng.exponential(1 / max(self.cfg.blink_rate_hz, 1e-3)))
        hm = self.cfg.head_motion
        pose = np.zeros((n, 3))
        for j, amp in enumerate([1.2, 0.012 * self.cfg.size, 0.01 * self.cfg.size]):  # roll deg, dx px, dy px
            f = rng.uniform(0.08, 0.35, 3)
            ph = rng.uniform(0, 2 * np.pi, 3)
            pose[:, j] = hm * amp * (np.sin(2 * np.pi * f[:, None] * t + ph[:, None]) * [[0.6], [0.3], [0.2]]).sum(0)
        speech_nod = np.convolve(e, np.hanning(9) / np.hanning(9).sum(), mode="same")
        pose[:, 2] += hm * 0.006 * self.cfg.size * speech_nod
        return {"gap": gap, "round": rounding, "blink": blink, "pose": pose, "envelope": e}

    # ---- frames
    def frame(self, rig: _Rig, gap: float, rounding: float, blink: float, pose: np.ndarray) -> np.ndarray:
        import cv2

        S = self.cfg.size
        c = np.array([gap - rig.gap0, rounding, blink], np.float32)
        disp = np.tensordot(c, rig.bases, axes=(0, 0))  # (S, S, 2)
        ang = np.radians(pose[0])
        ca, sa = np.cos(ang), np.sin(ang)
        cx, cy = rig.centre
        # output pixel -> (undo head pose) -> (undo deformation) -> source pixel
        yy, xx = rig.grid
        ux, uy = xx - cx - pose[1], yy - cy - pose[2]
        qx, qy = ca * ux + sa * uy + cx, -sa * ux + ca * uy + cy
        qi = np.clip(np.round(qy).astype(np.int32), 0, S - 1), np.clip(np.round(qx).astype(np.int32), 0, S - 1)
        d = disp[qi]
        mx, my = qx - d[..., 0], qy - d[..., 1]
        out = cv2.remap(rig.source, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        if gap > rig.gap0 + 0.5:  # shade the newly opened mouth
            up = rig.inner_up + np.tensordot(c, rig.move_up, axes=(0, 0))
            low = rig.inner_low + np.tensordot(c, rig.move_low, axes=(0, 0))
            poly = np.concatenate([up, low[::-1]])
            px = poly[:, 0] - cx
            py = poly[:, 1] - cy
            poly = np.stack([ca * px - sa * py + cx + pose[1], sa * px + ca * py + cy + pose[2]], 1)
            mask = np.zeros((S, S), np.uint8)
            cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
            x0, y0 = np.floor(poly.min(0)).astype(int) - 3
            x1, y1 = np.ceil(poly.max(0)).astype(int) + 4
            x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, S), min(y1, S)
            if x1 > x0 and y1 > y0:
                m = cv2.GaussianBlur(mask[y0:y1, x0:x1], (3, 3), 0).astype(np.float32) / 255
                inside_src = cv2.remap(rig.interior_src, mx[y0:y1, x0:x1], my[y0:y1, x0:x1], cv2.INTER_LINEAR)
                a = (m * (1 - inside_src) * min(1.0, (gap - rig.gap0) / 3) * 0.9)[..., None]
                roi = out[y0:y1, x0:x1].astype(np.float32)
                cavity = roi * 0.18 + np.array([38, 12, 14], np.float32)
                out[y0:y1, x0:x1] = (roi * (1 - a) + cavity * a).astype(np.uint8)
        return out

    def render(self, profile: Profile, speech: Speech) -> Iterator[np.ndarray]:
        rig = self.rig(profile)
        n = frame_count(speech.duration_s, self.cfg.fps)
        p = self.drive(rig, speech, n)
        for i in range(n):
            yield self.frame(rig, float(p["gap"][i]), float(p["round"][i]), float(p["blink"][i]), p["pose"][i])
