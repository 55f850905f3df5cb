"""Talking-face backends behind one interface: ``FaceAnimator.render(profile, speech) -> iterator of frames``.

``EmbeddedAnimator`` articulates the enrolled picture P in real time on one CPU core, at P's own framing
(head and shoulders as captured; ``reconstruct.size`` square, 512 by default):

- ``face_mesh_warp``: a piecewise-affine warp over P's 468 face-mesh landmarks plus rings around the head
  (Delaunay triangulation), with displacement bases for the jaw, the lip gap, rounding, spreading, the upper
  lip raised for f/v, blinks and brows, and a rest pose that closes and neutralises a smiling or open mouth;
  outside the head the background is P's own pixels.
- ``visemes``: articulation tracks from the TTS phoneme timings with coarticulation (dominance functions,
  anticipation), full closure on p/b/m; the audio envelope scales the opening, so mouth and sound stay in step.
- ``mouth``: the interior inside the moved inner lips: shaded cavity, teeth (from P when it shows them,
  synthesised otherwise), tongue for th/l.
- Blinks (seeded), small head rotations (seeded smooth noise plus nods on stressed syllables) and brow raises
  at phrase onsets follow the absolute time, so a message rendered chunk by chunk continues smoothly:
  ``render(profile, speech, start=animator.state)`` starts where the previous chunk ended.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..publickb import face as F
from ..publickb.store import Profile
from ..publickb.voice import envelope
from . import mouth
from .config import ReconstructConfig
from .face_mesh_warp import GAP_W, MeshRig, build_mesh
from .phonemes import PAUSE_S, VOWELS
from .tts import Speech
from .visemes import ArticulationState, state_at, tracks

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


@dataclass
class Rig:
    """Per-profile preparation at the output size."""

    mesh: MeshRig
    teeth: mouth.Teeth
    inner_up: list[int]
    inner_low: list[int]

    @property
    def source(self) -> np.ndarray:
        return self.mesh.source

    @property
    def width(self) -> float:
        return self.mesh.mouth_width


def check_enrollment_face(landmarks: np.ndarray, image_side: int) -> list[str]:
    """Notes on an enrollment face the animator handles by a fallback (profile view, closed eyes, open mouth);
    an InputError when it cannot animate it (face too small or turned too far)."""
    face = F.Face(np.asarray(landmarks, np.float32))
    notes = []
    if face.height < 0.12 * image_side:
        raise InputError(f"the enrolled face is too small to animate ({face.height:.0f} px high in a {image_side}-px "
                         "picture)",
                         hint="enroll a closer picture (the face at least an eighth of the picture's height)")
    yaw, _ = face.yaw_pitch()
    if abs(yaw) > 0.35:
        raise InputError(f"the enrolled face is turned too far to the side to animate (yaw {yaw:+.2f})",
                         hint="enroll a frontal picture (nose between the eyes)")
    if abs(yaw) > 0.18:
        notes.append(f"the face is turned (yaw {yaw:+.2f}): the far side of the mouth is foreshortened")
    lm = face.landmarks[:, :2]
    eye_w = np.linalg.norm(lm[33] - lm[133]) + 1e-6
    lids = np.mean([np.linalg.norm(lm[a] - lm[b]) for a, b in ((159, 145), (386, 374))]) / eye_w
    if lids < 0.12:
        notes.append("the eyes are closed in the enrolled picture: blinks are turned off")
    if face.mouth_opening() > 0.06:
        notes.append("the mouth is open in the enrolled picture: it is closed for the rest pose")
    return notes


class EmbeddedAnimator(FaceAnimator):
    """Face-mesh warping of the enrolled picture, numpy/OpenCV only; real time at 512x512 on one core."""

    name = "embedded"

    def __init__(self, cfg: ReconstructConfig | None = None):
        import cv2

        self.cfg = cfg or ReconstructConfig()
        cv2.setNumThreads(max(1, self.cfg.threads))
        self._rigs: dict[tuple, Rig] = {}
        self.state: ArticulationState | None = None  # where the last rendered chunk ended
        self.notes: list[str] = []

    # ---- set-up
    def rig(self, profile: Profile) -> Rig:
        key = (profile.user_id, profile.image.shape, float(profile.landmarks[:, :2].sum()), self.cfg.size)
        if key not in self._rigs:
            self._rigs = {key: self._build(profile)}  # keep one: a receiver talks to one user at a time
        return self._rigs[key]

    def _build(self, profile: Profile) -> Rig:
        import cv2

        S = self.cfg.size
        side = profile.image.shape[0]
        self.notes = check_enrollment_face(profile.landmarks, side)
        for n in self.notes:
            log.info("%s: %s", profile.user_id, n)
        k = S / side
        src = cv2.resize(profile.image, (S, S), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC)
        lm = profile.landmarks.astype(np.float64) * k
        teeth = mouth.teeth_from_picture(src, lm)
        teeth.lip = mouth.lip_colour(src, lm)
        src = mouth.fill_interior(src, lm)  # the lips shut over lip colour, not over a sliver of teeth
        mesh = build_mesh(src, lm)
        return Rig(mesh, teeth, F.LIPS_INNER_UP, F.LIPS_INNER_LOW)

    # ---- per-utterance drive
    def drive(self, rig: Rig, speech: Speech, n: int, start: ArticulationState | None = None) -> dict[str, np.ndarray]:
        """Per-frame parameters: ``c`` (n, len(BASES)) basis weights, ``pose`` (n, 3) yaw/pitch/roll in degrees,
        ``tongue``, ``jaw``, ``labiodental`` (n,), ``envelope`` (n,), and ``tracks`` (the raw articulation)."""
        fps = self.cfg.fps
        t = (np.arange(n) + 0.5) / fps
        t_abs = t + (start.time_s if start is not None else 0.0)
        env = envelope(speech.audio, speech.sample_rate, 0.01)
        if env.size:
            env = np.convolve(env, np.hanning(5) / np.hanning(5).sum(), mode="same")
            ref = np.percentile(env, 95) + 1e-6
            # envelope frame k is the RMS of the 25 ms window starting at k x 10 ms: centred 12.5 ms later
            e = np.clip(np.interp(t, np.arange(env.size) * 0.01 + 0.0125, env / ref), 0, 1) ** 0.6
        else:
            e = np.zeros(n)
        if speech.phoneme_timings:
            tr = tracks(speech.phoneme_timings, speech.duration_s, t, start, self.cfg.articulation_lead_s)
            gain = 0.4 + 0.6 * e
        else:  # no timings: the envelope alone opens the jaw and lips
            tr = {k: np.zeros(n) for k in ("round", "spread", "closure", "labiodental", "tongue")}
            tr["jaw"], tr["gap"] = 0.7 * e, 0.7 * e
            gain = np.ones(n)
        jaw = tr["jaw"] * gain
        gap = tr["gap"] * gain
        m = rig.mesh
        # p/b/m and f/v keep the lips together (or on the teeth) however far the jaw is open
        hold = np.clip(tr["closure"] + tr["labiodental"], 0, 1)
        gap = gap - hold * jaw * m.jaw_gap / (GAP_W * m.mouth_width)
        rng = np.random.default_rng(self.cfg.seed)
        nod, brow = self._prosody(speech, t)
        blink = np.zeros(n)
        if not any("eyes are closed" in s for s in self.notes):
            # blinks gather in the pauses of speech (as listeners' and speakers' do): a blink waits (up to 1.5 s)
            # while the voice is loud, the jaw wide open or the brows up
            t_busy = np.arange(t_abs[0] - 1, t_abs[-1] + 2, 0.02)
            busy = np.interp(t_busy, t_abs, ((e > 0.3) | (jaw > 0.35) | (brow > 0.2)).astype(float),
                             left=0, right=0) > 0.5
            tb = rng.uniform(0.5, 2.0)
            while tb < t_abs[-1] + 1:
                ta = tb
                while ta < tb + 1.5 and busy[np.clip(np.round((ta + np.arange(0.02, 0.22, 0.02) - t_busy[0]) / 0.02)
                                                     .astype(int), 0, busy.size - 1)].any():
                    ta += 0.02
                shape = np.interp(t_abs - ta, [0, 0.07, 0.12, 0.28], [0, 1, 1, 0], left=0, right=0)
                blink = np.maximum(blink, shape)
                tb += max(1.5, rng.exponential(1 / max(self.cfg.blink_rate_hz, 1e-3)))
        hm = self.cfg.head_motion
        pose = np.zeros((n, 3))
        for j, amp in enumerate([2.0, 1.2, 1.0]):  # yaw, pitch, roll (degrees)
            f = rng.uniform(0.08, 0.3, 3)
            ph = rng.uniform(0, 2 * np.pi, 3)
            waves = np.sin(2 * np.pi * f[:, None] * t_abs + ph[:, None]) * [[0.6], [0.3], [0.2]]
            pose[:, j] = hm * amp * waves.sum(0)
        pose[:, 1] += hm * 1.8 * nod  # the head dips on stressed syllables
        c = np.stack([jaw, gap, tr["round"], tr["spread"], tr["labiodental"], blink, brow], 1)
        return {"c": c, "pose": pose, "tongue": tr["tongue"], "jaw": jaw, "labiodental": tr["labiodental"],
                "envelope": e, "tracks": tr}

    @staticmethod
    def _prosody(speech: Speech, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nods (0..1) on stressed syllables (the loudest vowels) and brow raises (0..1) at phrase onsets."""
        nod, brow = np.zeros(t.size), np.zeros(t.size)
        vowels = [p for p in speech.phoneme_timings if p.symbol in VOWELS and p.end > p.start]
        if not vowels:
            return nod, brow
        sr = speech.sample_rate
        energy = np.array([np.sqrt(np.mean(speech.audio[int(p.start * sr):max(int(p.end * sr), int(p.start * sr) + 1)]
                                           ** 2)) for p in vowels])
        loud = energy >= np.percentile(energy, 70)
        for p, is_loud in zip(vowels, loud):
            if is_loud:
                c = 0.5 * (p.start + p.end) + 0.05
                nod = np.maximum(nod, np.exp(-((t - c) / 0.12) ** 2))
        prev_end = -1.0
        onsets = []
        for p in speech.phoneme_timings:
            if p.symbol in PAUSE_S or p.end <= p.start:
                continue
            if p.start - prev_end > 0.25:
                onsets.append(p.start)
            prev_end = p.end
        for s in onsets:
            brow = np.maximum(brow, 0.8 * np.interp(t - s, [-0.15, 0.0, 0.35, 0.7], [0, 1, 1, 0], left=0, right=0))
        return nod, brow

    # ---- frames
    def frame(self, rig: Rig, c: np.ndarray, pose: np.ndarray, jaw: float = 0.0, tongue: float = 0.0,
              labiodental: float = 0.0) -> np.ndarray:
        m = rig.mesh
        q = m.vertices(np.asarray(c, np.float64), np.asarray(pose, np.float64))
        out, _, _ = m.warp(q)
        up, low = q[rig.inner_up], q[rig.inner_low]
        if float(((low - np.interp(low[:, 0], *_sorted(up))[:, None] * [0, 1])[:, 1]).max()) > 0.3:
            mouth.paint(out, up, low, rig.teeth, m.mouth_width, jaw, tongue, labiodental)
        return out

    def render(self, profile: Profile, speech: Speech, start: ArticulationState | None = None) -> Iterator[np.ndarray]:
        """Frames of ``speech``; ``start`` (e.g. ``self.state`` after the previous chunk) continues a message."""
        rig = self.rig(profile)
        n = frame_count(speech.duration_s, self.cfg.fps)
        p = self.drive(rig, speech, n, start)
        t0 = start.time_s if start is not None else 0.0
        for i in range(n):
            self.state = state_at(p["tracks"], i, t0 + (i + 1) / self.cfg.fps)
            yield self.frame(rig, p["c"][i], p["pose"][i], p["jaw"][i], p["tongue"][i], p["labiodental"][i])
        self.state = state_at(p["tracks"], n - 1, t0 + n / self.cfg.fps)


def _sorted(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    o = np.argsort(pts[:, 0])
    return pts[o, 0], pts[o, 1]
