"""SadTalker (OpenTalker/SadTalker, checked at cd4c046) as a talking-face backend, for users who have its checkout
and checkpoints. It is not on PyPI: install it next to this project (docs/models.md).

Its three parts (``CropAndExtract``, ``Audio2Coeff``, ``AnimateFromCoeff``) are built once per process and reused
(its own ``SadTalker.test()`` rebuilds every model per call); the crop and 3DMM coefficients of a profile's face
are computed once per profile and setting. Everything it writes goes to a private temporary folder, also the
``<uuid>.mp4`` its ``save_video_with_watermark`` writes into the working directory (it runs with that folder
as its working directory, under a process-wide lock). On a CPU its renderer takes seconds per frame (its issue
#227): this backend is for offline rendering, not live view. Settings: ``reconstruct.sadtalker_*``.

Compatibility with this project's pinned torch 2.13 / numpy 1.26 (applied when SadTalker is imported):

- ``torchvision.transforms.functional_tensor`` (imported by basicsr, which its enhancer pulls in; gone from
  torchvision 0.17) is provided as an alias of ``torchvision.transforms.functional``;
- ``np.float`` (its ``my_awing_arch.py`` landmark decoder; removed in numpy 1.24) is provided as ``float``;
- its ``face3d/util/preprocess.align_img`` builds an array from a scalar and 1-element arrays, a ValueError since
  numpy 1.24: an equivalent using its own ``POS``/``resize_n_crop_img``/``extract_5p`` replaces it;
- its landmark decoder ``my_awing_arch.calculate_points`` indexes past the heatmap when a landmark peaks on its
  last pixel (IndexError): a bounds-safe equivalent replaces it.

What this project maps onto SadTalker: ``head_motion`` scales the head pose it predicts around the source pose
(0: a still head), ``blink_rate_hz`` sets blinks at that rate (SadTalker's own are random), ``seed`` seeds its
pose sampler; ``sadtalker_still`` is its ``--still`` (keeps the source pose; for preprocess ``full``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import random
import sys
import tempfile
import threading
import types
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import BackendError, ConfigError, InputError, ModelError
from ..publickb.store import Profile
from .animator import FaceAnimator, frame_count
from .config import ReconstructConfig
from .tts import Speech

PREPROCESS = ("crop", "extcrop", "resize", "full", "extfull")
ENHANCERS = ("gfpgan", "RestoreFormer")
REQUIRED_FACE = ["alignment_WFLW_4HG.pth", "detection_Resnet50_Final.pth"]  # gfpgan/weights (facexlib)
FPS = 25  # SadTalker renders 25 frames per second, 640 audio samples at 16 kHz each
_CWD_LOCK = threading.RLock()  # the working directory is process-wide


def required_checkpoints(size: int = 256, preprocess: str = "crop") -> list[str]:
    """What the safetensors release needs (SadTalker's scripts/download_models.sh and src/utils/init_path.py)."""
    mapping = "mapping_00109-model.pth.tar" if "full" in preprocess else "mapping_00229-model.pth.tar"
    return [f"SadTalker_V0.0.2_{size}.safetensors", mapping]


REQUIRED = required_checkpoints()


def missing_checkpoints(sadtalker_dir: Path, checkpoint_dir: Path, size: int = 256,
                        preprocess: str = "crop") -> list[str]:
    missing = [str(checkpoint_dir / f) for f in required_checkpoints(size, preprocess)
               if not (checkpoint_dir / f).exists()]
    gw = sadtalker_dir / "gfpgan" / "weights"
    missing += [str(gw / f) for f in REQUIRED_FACE if not (gw / f).exists()]
    if not (sadtalker_dir / "src" / "config").is_dir():
        missing.append(str(sadtalker_dir / "src" / "config") + "/ (the SadTalker checkout's configs)")
    return missing


def check_config(cfg: ReconstructConfig) -> None:
    if cfg.sadtalker_preprocess not in PREPROCESS:
        raise ConfigError(f"reconstruct.sadtalker_preprocess = {cfg.sadtalker_preprocess!r}: one of "
                          f"{', '.join(PREPROCESS)}")
    if cfg.sadtalker_size not in (256, 512):
        raise ConfigError(f"reconstruct.sadtalker_size = {cfg.sadtalker_size}: SadTalker renders at 256 or 512")
    if cfg.sadtalker_enhancer and cfg.sadtalker_enhancer not in ENHANCERS:
        raise ConfigError(f"reconstruct.sadtalker_enhancer = {cfg.sadtalker_enhancer!r}: gfpgan, RestoreFormer "
                          "or empty")
    if not 0 <= cfg.sadtalker_pose_style < 46:
        raise ConfigError(f"reconstruct.sadtalker_pose_style = {cfg.sadtalker_pose_style}: 0 to 45")
    if cfg.sadtalker_device not in ("auto", "cpu") and not cfg.sadtalker_device.startswith("cuda"):
        raise ConfigError(f"reconstruct.sadtalker_device = {cfg.sadtalker_device!r}: auto, cpu or cuda[:N]")
    for key in ("sadtalker_ref_eyeblink", "sadtalker_ref_pose"):
        p = getattr(cfg, key)
        if p and not Path(p).expanduser().is_file():
            raise ConfigError(f"reconstruct.{key} = {p}: no such video file")
    if cfg.head_motion < 0 or cfg.blink_rate_hz < 0:
        raise ConfigError("reconstruct.head_motion and reconstruct.blink_rate_hz must not be negative")


@contextlib.contextmanager
def _working_dir(path: Path):
    with _CWD_LOCK:
        before = os.getcwd()
        os.chdir(path)
        try:
            yield
        finally:
            os.chdir(before)


def _compat_before_import() -> None:
    """Aliases for what SadTalker and basicsr import from older torchvision/numpy (see the module docstring)."""
    if "np.float" not in _PATCHED and not hasattr(np, "float") and np.lib.NumpyVersion(np.__version__) >= "1.24.0":
        np.float = float  # type: ignore[attr-defined]
        _PATCHED.add("np.float")
    try:
        importlib.import_module("torchvision.transforms.functional_tensor")
    except ImportError:
        try:
            functional = importlib.import_module("torchvision.transforms.functional")
        except ImportError:
            return  # no torchvision: SadTalker's import says so
        alias = types.ModuleType("torchvision.transforms.functional_tensor")
        alias.__dict__.update({k: v for k, v in vars(functional).items() if not k.startswith("__")})
        sys.modules["torchvision.transforms.functional_tensor"] = alias
        _PATCHED.add("functional_tensor")


_PATCHED: set[str] = set()


def _compat_after_import() -> None:
    """Replace ``align_img`` (its last line fails on numpy >= 1.24) where SadTalker's preprocess imported it."""
    if np.lib.NumpyVersion(np.__version__) < "1.24.0":
        return
    f3d = importlib.import_module("src.face3d.util.preprocess")
    utils_pre = importlib.import_module("src.utils.preprocess")

    def align_img(img, lm, lm3D, mask=None, target_size=224.0, rescale_factor=102.0):
        w0, h0 = img.size
        lm5p = lm if lm.shape[0] == 5 else f3d.extract_5p(lm)
        t, s = f3d.POS(lm5p.transpose(), lm3D.transpose())
        s = rescale_factor / s
        img_new, lm_new, mask_new = f3d.resize_n_crop_img(img, lm, t, s, target_size=target_size, mask=mask)
        t = np.asarray(t, float).ravel()
        return np.array([w0, h0, float(np.squeeze(s)), t[0], t[1]]), img_new, lm_new, mask_new

    utils_pre.align_img = align_img
    _PATCHED.add("align_img")
    awing = importlib.import_module("src.face3d.util.my_awing_arch")
    awing.calculate_points = _heatmap_points
    _PATCHED.add("calculate_points")


def _heatmap_points(heatmaps: np.ndarray) -> np.ndarray:
    """(B, N, H, W) landmark heatmaps -> (B, N, 2) points: the peak, moved a quarter pixel towards its higher
    neighbour on each axis, plus half a pixel (what its ``calculate_points`` computes, which indexes past the
    heatmap when a peak is on its last pixel: IndexError). Neighbours outside the heatmap are the peak itself."""
    B, N, H, W = heatmaps.shape
    flat = heatmaps.reshape(B * N, H * W)
    idx = flat.argmax(1)
    y, x = np.divmod(idx, W)
    rows = np.arange(B * N)

    def at(yy, xx):
        return flat[rows, np.clip(yy, 0, H - 1) * W + np.clip(xx, 0, W - 1)]

    shift = 0.25 * np.sign(np.stack([at(y, x + 1) - at(y, x - 1), at(y + 1, x) - at(y - 1, x)], 1))
    return (np.stack([x, y], 1).astype(float) + shift + 0.5).reshape(B, N, 2)


def pick_device(setting: str) -> str:
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"reconstruct.sadtalker_device = {setting}, but torch sees no CUDA device",
                          hint="set reconstruct.sadtalker_device=auto or cpu")
    return setting


class SadTalkerAnimator(FaceAnimator):
    name = "sadtalker"

    def __init__(self, cfg: ReconstructConfig):
        self.cfg = cfg
        if not cfg.sadtalker_dir:
            raise ConfigError("reconstruct.face_backend = sadtalker needs reconstruct.sadtalker_dir "
                              "(a SadTalker checkout)",
                              hint="git clone https://github.com/OpenTalker/SadTalker and run its "
                                   "scripts/download_models.sh (docs/models.md), or use face_backend=embedded")
        check_config(cfg)
        self.root = Path(cfg.sadtalker_dir).expanduser().resolve()
        self.ckpt = (Path(cfg.sadtalker_checkpoint_dir).expanduser().resolve() if cfg.sadtalker_checkpoint_dir
                     else self.root / "checkpoints")
        missing = missing_checkpoints(self.root, self.ckpt, cfg.sadtalker_size, cfg.sadtalker_preprocess)
        if missing:
            raise ModelError("SadTalker checkpoints are missing: " + ", ".join(missing),
                             hint="get them with SadTalker's scripts/download_models.sh (checkpoints/ and "
                                  "gfpgan/weights/), or use reconstruct.face_backend=embedded")
        self.device = pick_device(cfg.sadtalker_device)
        self._tmp = tempfile.TemporaryDirectory(prefix="lgmtsc-sadtalker-")
        self.work = Path(self._tmp.name)
        self._faces: dict[str, tuple] = {}  # profile key -> (coeff .mat, crop png, crop info, the image)
        self._refs: dict[str, str] = {}  # reference video -> its coefficients
        if str(self.root) not in sys.path:
            sys.path.insert(0, str(self.root))
        try:
            with _working_dir(self.root):  # its code opens gfpgan/weights relative to the checkout
                _compat_before_import()
                from src.facerender.animate import AnimateFromCoeff
                from src.test_audio2coeff import Audio2Coeff
                from src.utils.init_path import init_path
                from src.utils.preprocess import CropAndExtract

                _compat_after_import()
                self.paths = init_path(str(self.ckpt), str(self.root / "src" / "config"), cfg.sadtalker_size, False,
                                       cfg.sadtalker_preprocess)
                self.preprocess = CropAndExtract(self.paths, self.device)
                self.audio2coeff = Audio2Coeff(self.paths, self.device)
                self.animate = AnimateFromCoeff(self.paths, self.device)
        except ImportError as e:
            raise ModelError(f"SadTalker at {self.root} does not import ({e})",
                             hint="install SadTalker's requirements next to this project (docs/models.md)") from None
        except Exception as e:  # noqa: BLE001 - its loaders raise bare Exception on a bad checkpoint
            raise ModelError(f"SadTalker could not load its checkpoints from {self.ckpt}: {type(e).__name__}: {e}",
                             hint="re-download them with its scripts/download_models.sh") from None

    def close(self) -> None:
        self._tmp.cleanup()

    # -- the per-profile part -----------------------------------------------------------------------------------
    def _face(self, profile: Profile) -> tuple:
        """Crop and 3DMM coefficients of the profile's face, computed once per image and setting."""
        cfg = self.cfg
        key = hashlib.sha256(np.ascontiguousarray(profile.image).tobytes()
                             + f"{cfg.sadtalker_preprocess}/{cfg.sadtalker_size}".encode()).hexdigest()[:16]
        if key not in self._faces:
            from PIL import Image

            d = self.work / f"face-{key}"
            d.mkdir(exist_ok=True)
            pic = d / "face.png"
            Image.fromarray(profile.image).save(pic)
            coeff, crop_pic, crop_info = self._extract(str(pic), str(d), True, f"the enrolled image of "
                                                                                 f"{profile.user_id!r}")
            self._faces[key] = (coeff, crop_pic, crop_info, str(pic))
        return self._faces[key]

    def _ref(self, video: str) -> str:
        if video not in self._refs:
            d = self.work / f"ref-{hashlib.sha256(video.encode()).hexdigest()[:12]}"
            d.mkdir(exist_ok=True)
            self._refs[video] = self._extract(str(Path(video).expanduser()), str(d), False, video)[0]
        return self._refs[video]

    def _extract(self, path: str, out: str, source: bool, what: str):
        try:
            with _working_dir(self.work):
                res = self.preprocess.generate(path, out, self.cfg.sadtalker_preprocess, source_image_flag=source,
                                               pic_size=self.cfg.sadtalker_size)
        except TypeError as e:
            if "exceptions must derive from BaseException" in str(e):  # its croper raises a bare string
                raise InputError(f"SadTalker found no face landmarks in {what}") from None
            raise BackendError(f"SadTalker failed on {what}: TypeError: {e}") from None
        except Exception as e:  # noqa: BLE001 - any failure inside SadTalker is one line for the user
            raise BackendError(f"SadTalker failed on {what}: {type(e).__name__}: {e}") from None
        if not res or res[0] is None:
            raise InputError(f"SadTalker found no face in {what}")
        return res

    # -- one utterance ------------------------------------------------------------------------------------------
    def render(self, profile: Profile, speech: Speech) -> Iterator[np.ndarray]:
        frames = self.render_frames(profile, speech)
        import cv2

        n = frame_count(speech.duration_s, self.cfg.fps)
        S = self.cfg.size
        idx = np.minimum((np.arange(n) * len(frames) / n).astype(int), len(frames) - 1)  # its 25 fps -> ours
        for i in idx:
            f = frames[i]
            yield f if f.shape[:2] == (S, S) else cv2.resize(f, (S, S), interpolation=cv2.INTER_AREA)

    def render_frames(self, profile: Profile, speech: Speech) -> list[np.ndarray]:
        """SadTalker's own frames (25 fps) for ``speech`` spoken by ``profile``'s face."""
        import av
        import torch
        from src.generate_batch import get_data
        from src.generate_facerender_batch import get_facerender_data

        cfg = self.cfg
        coeff, crop_pic, crop_info, pic = self._face(profile)
        blink_ref = self._ref(cfg.sadtalker_ref_eyeblink) if cfg.sadtalker_ref_eyeblink else None
        pose_ref = self._ref(cfg.sadtalker_ref_pose) if cfg.sadtalker_ref_pose else None
        with tempfile.TemporaryDirectory(dir=self.work, prefix="utt-") as d:
            out = Path(d)
            wav_path = out / "speech.wav"
            audio = _sadtalker_audio(speech)
            with wave.open(str(wav_path), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(16000)
                w.writeframes((np.clip(audio, -1, 1) * 32767).astype(np.int16).tobytes())
            random.seed(cfg.seed)
            np.random.seed(cfg.seed % 2**32)
            torch.manual_seed(cfg.seed)
            try:
                with _working_dir(out):  # its video writer puts <uuid>.mp4 in the working directory
                    batch = get_data(coeff, str(wav_path), self.device, blink_ref, still=cfg.sadtalker_still)
                    if blink_ref is None:  # our blinks at blink_rate_hz instead of its random ones
                        batch["ratio_gt"] = torch.as_tensor(blinks(batch["num_frames"], cfg.blink_rate_hz, cfg.seed),
                                                            dtype=torch.float32, device=self.device)[None]
                    coeff_path = self.audio2coeff.generate(batch, str(out), cfg.sadtalker_pose_style, pose_ref)
                    if pose_ref is None and cfg.head_motion != 1.0:
                        _scale_pose(coeff_path, coeff, cfg.head_motion)
                    data = get_facerender_data(coeff_path, crop_pic, coeff, str(wav_path), cfg.sadtalker_batch_size,
                                               None, None, None, expression_scale=cfg.sadtalker_expression_scale,
                                               still_mode=cfg.sadtalker_still, preprocess=cfg.sadtalker_preprocess,
                                               size=cfg.sadtalker_size)
                    result = self.animate.generate(data, str(out), pic, crop_info,
                                                   enhancer=cfg.sadtalker_enhancer or None, background_enhancer=None,
                                                   preprocess=cfg.sadtalker_preprocess, img_size=cfg.sadtalker_size)
            except (InputError, BackendError):
                raise
            except Exception as e:  # noqa: BLE001
                raise BackendError(f"SadTalker failed while animating: {type(e).__name__}: {e}",
                                   hint="its video writer needs the ffmpeg command on PATH") from None
            if not result or not Path(result).exists():
                raise BackendError("SadTalker produced no video", hint="its video writer needs the ffmpeg command")
            with av.open(str(result)) as c:
                frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        if not frames:
            raise BackendError("SadTalker produced an empty video")
        return frames


def _sadtalker_audio(speech: Speech) -> np.ndarray:
    """The speech at 16 kHz; never exactly 21 of its frames long (its random blinks then fail: IndexError)."""
    a = np.asarray(speech.audio, np.float32)
    if speech.sample_rate != 16000:
        n = max(1, int(round(a.size * 16000 / speech.sample_rate)))
        a = np.interp(np.arange(n) * speech.sample_rate / 16000, np.arange(a.size), a).astype(np.float32)
    if a.size // 640 == 21:
        a = np.pad(a, (0, 22 * 640 - a.size))
    return a


def blinks(n: int, rate_hz: float, seed: int) -> np.ndarray:
    """(n, 1) eye-closure ratios: a 5-frame blink (SadTalker's shape) on average every 1/rate_hz seconds."""
    r = np.zeros((n, 1), np.float32)
    if rate_hz <= 0 or n < 8:
        return r
    rng = np.random.default_rng(seed)
    gaps = rng.uniform(0.6, 1.4, size=int(n / (FPS / rate_hz)) + 2) * FPS / rate_hz
    starts = np.cumsum(gaps).astype(int) - int(FPS / rate_hz / 2)
    shape = np.array([0.5, 0.9, 1.0, 0.9, 0.5], np.float32)
    for s in starts[(starts >= 1) & (starts + 5 < n)]:
        r[s:s + 5, 0] = shape
    return r


def _scale_pose(coeff_path: str, source_coeff_path: str, k: float) -> None:
    """Scale the predicted head pose (coefficients 64:70) around the source image's pose by ``k``."""
    from scipy.io import loadmat, savemat

    pred = loadmat(coeff_path)["coeff_3dmm"]
    src = loadmat(source_coeff_path)["coeff_3dmm"]
    base = src[0, 64:70]  # its source coefficients: 64 expression, 3 angles, 3 translations, crop parameters
    pred[:, 64:70] = base + k * (pred[:, 64:70] - base)
    savemat(coeff_path, {"coeff_3dmm": pred})


def load_animator(cfg: ReconstructConfig) -> FaceAnimator:
    if cfg.face_backend == "sadtalker":
        return SadTalkerAnimator(cfg)
    from .animator import EmbeddedAnimator

    return EmbeddedAnimator(cfg)
