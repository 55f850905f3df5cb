"""Face analysis for enrollment and evaluation: MediaPipe Face Mesh (478 landmarks), pose, sharpness, crops.

``FaceAnalyzer`` loads the mesh once per process. Landmarks are pixel coordinates (x, y) plus MediaPipe's
relative depth z, shape (478, 3). The index groups below are MediaPipe's canonical mesh topology.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, ModelError

log = logging.getLogger(__name__)

# MediaPipe face mesh indices (canonical topology).
LIPS_OUTER_UP = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
LIPS_OUTER_LOW = [146, 91, 181, 84, 17, 314, 405, 321, 375]
LIPS_INNER_UP = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LIPS_INNER_LOW = [95, 88, 178, 87, 14, 317, 402, 318, 324]
EYE_R_UP = [246, 161, 160, 159, 158, 157, 173]   # the subject's right eye (image left)
EYE_R_LOW = [7, 163, 144, 145, 153, 154, 155]
EYE_L_UP = [466, 388, 387, 386, 385, 384, 398]
EYE_L_LOW = [249, 390, 373, 374, 380, 381, 382]
CHIN = [152, 148, 176, 149, 377, 400, 378, 175, 199, 200, 18]
JAW_SIDE = [150, 136, 379, 365, 172, 397]
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
BROWS = [70, 63, 105, 66, 107, 336, 296, 334, 293, 300]
NOSE = [1, 2, 4, 5, 6, 168, 197, 195, 98, 327]
MOUTH_CORNERS = (61, 291)
EYE_CORNERS = (33, 263)
UPPER_LIP_INNER_MID, LOWER_LIP_INNER_MID = 13, 14


@dataclass
class Face:
    """One detected face: landmarks (478, 3) in pixels of the image it was found in."""

    landmarks: np.ndarray

    @property
    def box(self) -> tuple[float, float, float, float]:
        xy = self.landmarks[:, :2]
        x0, y0 = xy.min(0)
        x1, y1 = xy.max(0)
        return float(x0), float(y0), float(x1), float(y1)

    @property
    def height(self) -> float:
        x0, y0, x1, y1 = self.box
        return y1 - y0

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return (x1 - x0) * (y1 - y0)

    def roll_deg(self) -> float:
        a, b = self.landmarks[EYE_CORNERS[0], :2], self.landmarks[EYE_CORNERS[1], :2]
        return float(np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0])))

    def yaw_pitch(self) -> tuple[float, float]:
        """Normalised frontal deviation: nose offset from the eye midpoint (yaw) and vertical ratio (pitch)."""
        lm = self.landmarks[:, :2]
        eye_mid = (lm[EYE_CORNERS[0]] + lm[EYE_CORNERS[1]]) / 2
        mouth_mid = (lm[MOUTH_CORNERS[0]] + lm[MOUTH_CORNERS[1]]) / 2
        eye_d = np.linalg.norm(lm[EYE_CORNERS[1]] - lm[EYE_CORNERS[0]]) + 1e-6
        axis = mouth_mid - eye_mid
        along = np.linalg.norm(axis) + 1e-6
        perp = np.array([-axis[1], axis[0]]) / along
        nose = lm[1] - eye_mid
        yaw = float(nose @ perp / eye_d)
        pitch = float((nose @ axis / along**2) - 0.62)  # the nose tip sits ~62 % of the way down when frontal
        return yaw, pitch

    def mouth_opening(self) -> float:
        """Inner-lip gap divided by the mouth width (0 = closed)."""
        lm = self.landmarks[:, :2]
        gap = np.linalg.norm(lm[LOWER_LIP_INNER_MID] - lm[UPPER_LIP_INNER_MID])
        width = np.linalg.norm(lm[MOUTH_CORNERS[1]] - lm[MOUTH_CORNERS[0]]) + 1e-6
        return float(gap / width)


def sharpness(gray: np.ndarray) -> float:
    """Variance of the Laplacian of a grey image in [0, 255] (higher = sharper)."""
    g = gray.astype(np.float32)
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]
    return float(lap.var())


# what MediaPipe's C++ side (absl logging, TFLite) prints on stderr while it loads: never useful to a user
_NATIVE_NOISE = re.compile(r"^[IW]\d{4} [\d:.]+\s+\d+ \S+:\d+\]|^INFO: Created TensorFlow Lite"
                           r"|^WARNING: All log messages before absl::InitializeLog")


@contextmanager
def native_log_filtered():
    """Route file descriptor 2 to a temporary file for the block; afterwards lines that are MediaPipe/absl
    load-time noise go to the debug log and every other line back to stderr (so real errors still show)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode("utf-8", "replace").splitlines():
                if _NATIVE_NOISE.search(line):
                    log.debug("mediapipe: %s", line)
                else:
                    print(line, file=sys.stderr)


class FaceAnalyzer:
    """MediaPipe Face Mesh (legacy solutions API, mediapipe 0.10.14), loaded once."""

    MAX_SIDE = 1600  # larger images are searched at this size; landmarks are scaled back

    def __init__(self, max_faces: int = 5, static: bool = True):
        try:
            with native_log_filtered(), warnings.catch_warnings():
                # mediapipe imports matplotlib, whose 3-D axes warn when Debian's copy is also on the path
                warnings.filterwarnings("ignore", message="Unable to import Axes3D")
                import mediapipe as mp
                solutions = mp.solutions
                self._mesh = solutions.face_mesh.FaceMesh(static_image_mode=static, max_num_faces=max_faces,
                                                          refine_landmarks=True, min_detection_confidence=0.5)
                self._mesh.process(np.zeros((64, 64, 3), np.uint8))  # starts the graph (its threads log now)
        except (ImportError, AttributeError) as e:
            raise ModelError(f"MediaPipe face mesh is unavailable ({e})",
                             hint="install mediapipe==0.10.14 (newer releases drop the solutions API)") from None

    def faces(self, rgb: np.ndarray) -> list[Face]:
        """Every face in an RGB uint8 image, largest first."""
        h, w = rgb.shape[:2]
        scale = min(1.0, self.MAX_SIDE / max(h, w))
        img = rgb
        if scale < 1.0:
            import cv2
            img = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        with native_log_filtered():  # the landmark model logs when it first sees a face
            res = self._mesh.process(np.ascontiguousarray(img))
        out = []
        for f in res.multi_face_landmarks or []:
            a = np.array([[p.x, p.y, p.z] for p in f.landmark], dtype=np.float32)
            a[:, 0] *= img.shape[1] / scale
            a[:, 1] *= img.shape[0] / scale
            a[:, 2] *= img.shape[1] / scale
            out.append(Face(a))
        return sorted(out, key=lambda f: -f.area)

    def largest(self, rgb: np.ndarray) -> Face | None:
        fs = self.faces(rgb)
        return fs[0] if fs else None


def load_image(path: str | Path) -> np.ndarray:
    """An image file as RGB uint8, EXIF orientation applied, grey/alpha/palette converted."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    try:
        with Image.open(p) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode in ("I", "F") or im.mode.startswith("I;16"):  # 16-bit/float grey: PIL would clip at 255
                grey = np.asarray(im, dtype=np.float32)
                top = 65535.0 if im.mode.startswith("I;16") or grey.max() > 255 else 255.0
                grey8 = np.clip(np.rint(grey * (255.0 / top)), 0, 255).astype(np.uint8)
                log.info("%s: converting %s image to RGB", p, im.mode)
                return np.repeat(grey8[:, :, None], 3, axis=2)
            if im.mode != "RGB":
                log.info("%s: converting %s image to RGB", p, im.mode)
                im = im.convert("RGB")
            return np.asarray(im, dtype=np.uint8).copy()
    except Image.DecompressionBombError:
        raise InputError(f"{p}: the image is too large to be a portrait (over {Image.MAX_IMAGE_PIXELS:,} pixels)",
                         hint="scale it down first") from None
    except (UnidentifiedImageError, OSError, ValueError) as e:  # ValueError: a mode PIL cannot make RGB
        raise InputError(f"{p}: not a readable image ({e.__class__.__name__})") from None


def aligned_crop(rgb: np.ndarray, face: Face, out_size: int, margin: float = 3.0,
                 min_margin: float = 1.45) -> tuple[np.ndarray, np.ndarray]:
    """A square crop, rotated so the eyes are level, and its 2x3 affine: the picture's own framing.

    The window is ``margin`` x the face's larger side where the picture is that large, otherwise the largest
    square that fits inside the picture around the face (head and shoulders as captured: a 360x288 video frame
    gives its full 288-px height). Only when even ``min_margin`` x the face does not fit (a face at the very
    edge of the picture) is the missing strip filled, with a blurred mirror image that fades into the picture's
    mean colour: never with replicated edge pixels, which show as streaks.
    """
    import cv2

    x0, y0, x1, y1 = face.box
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2 + 0.08 * (y1 - y0)], dtype=np.float64)
    angle = face.roll_deg()
    h, w = rgb.shape[:2]
    a = np.radians(angle)
    fit = min(h, w) / (abs(np.cos(a)) + abs(np.sin(a)))  # the largest rotated square inside the picture
    fsize = max(y1 - y0, x1 - x0)
    side = max(min(margin * fsize, fit), min_margin * fsize)
    half = side * (abs(np.cos(a)) + abs(np.sin(a))) / 2  # half the axis-aligned extent of the rotated window
    for axis, extent in ((0, w), (1, h)):
        if 2 * half <= extent:
            centre[axis] = np.clip(centre[axis], half, extent - half)
    s = out_size / side
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, s)
    m[:, 2] += np.array([out_size / 2, out_size / 2]) - centre
    flags = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    crop = cv2.warpAffine(rgb, m, (out_size, out_size), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    inside = cv2.warpAffine(np.full((h, w), 255, np.uint8), m, (out_size, out_size), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if inside.min() < 255:  # fill what lies outside the picture
        mirror = cv2.warpAffine(rgb, m, (out_size, out_size), flags=flags, borderMode=cv2.BORDER_REFLECT101)
        k = 2 * (out_size // 16) + 1
        mean = rgb.reshape(-1, 3).mean(0)
        dist = cv2.distanceTransform((inside < 128).astype(np.uint8), cv2.DIST_L2, 3)  # px outside the picture
        fade = np.clip(dist / (out_size / 8), 0, 1)[..., None]
        fill = cv2.GaussianBlur(mirror, (k, k), 0).astype(np.float32) * (1 - fade) + mean * fade
        a_in = (inside.astype(np.float32) / 255)[..., None]
        crop = np.clip(crop * a_in + fill * (1 - a_in), 0, 255).astype(np.uint8)
    return crop, m
