"""SadTalker as a talking-face backend, for users who have its checkout and checkpoints.

Its three parts (``CropAndExtract``, ``Audio2Coeff``, ``AnimateFromCoeff``) are built once per process and
reused (its own ``SadTalker.test()`` rebuilds every model per call). Inputs are copied into a private
temporary directory, so the caller's files are never moved or deleted. On a CPU its renderer takes seconds
per frame (its issue #227): this backend is for offline rendering, not live view.
"""

from __future__ import annotations

import os
import sys
import tempfile
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import BackendError, ConfigError, InputError, ModelError
from ..publickb.store import Profile
from .animator import FaceAnimator, frame_count
from .config import ReconstructConfig
from .tts import Speech

# what the safetensors release needs for preprocess="crop" at 256 px (SadTalker's scripts/download_models.sh)
REQUIRED = ["SadTalker_V0.0.2_256.safetensors", "mapping_00229-model.pth.tar"]
REQUIRED_FACE = ["alignment_WFLW_4HG.pth", "detection_Resnet50_Final.pth"]  # gfpgan/weights (facexlib)


def missing_checkpoints(sadtalker_dir: Path, checkpoint_dir: Path) -> list[str]:
    missing = [str(checkpoint_dir / f) for f in REQUIRED if not (checkpoint_dir / f).exists()]
    gw = sadtalker_dir / "gfpgan" / "weights"
    missing += [str(gw / f) for f in REQUIRED_FACE if not (gw / f).exists()]
    if not (sadtalker_dir / "src" / "config").is_dir():
        missing.append(str(sadtalker_dir / "src" / "config") + "/ (the SadTalker checkout's configs)")
    return missing


class SadTalkerAnimator(FaceAnimator):
    name = "sadtalker"

    def __init__(self, cfg: ReconstructConfig):
        self.cfg = cfg
        if not cfg.sadtalker_dir:
            raise ConfigError("reconstruct.face_backend = sadtalker needs reconstruct.sadtalker_dir "
                              "(a SadTalker checkout)",
                              hint="git clone https://github.com/OpenTalker/SadTalker and run its "
                                   "scripts/download_models.sh, or use face_backend=embedded")
        self.root = Path(cfg.sadtalker_dir).expanduser()
        self.ckpt = (Path(cfg.sadtalker_checkpoint_dir).expanduser() if cfg.sadtalker_checkpoint_dir
                     else self.root / "checkpoints")
        missing = missing_checkpoints(self.root, self.ckpt)
        if missing:
            raise ModelError("SadTalker checkpoints are missing: " + ", ".join(missing),
                             hint="get them with SadTalker's scripts/download_models.sh (checkpoints/ and "
                                  "gfpgan/weights/), or use reconstruct.face_backend=embedded")
        sys.path.insert(0, str(self.root))
        cwd = os.getcwd()
        try:
            os.chdir(self.root)  # its code opens gfpgan/weights relative to the checkout
            import torch  # noqa: F401
            from src.facerender.animate import AnimateFromCoeff
            from src.test_audio2coeff import Audio2Coeff
            from src.utils.init_path import init_path
            from src.utils.preprocess import CropAndExtract

            self.paths = init_path(str(self.ckpt), str(self.root / "src" / "config"), 256, False, "crop")
            self.preprocess = CropAndExtract(self.paths, "cpu")
            self.audio2coeff = Audio2Coeff(self.paths, "cpu")
            self.animate = AnimateFromCoeff(self.paths, "cpu")
        except ImportError as e:
            raise ModelError(f"SadTalker at {self.root} does not import ({e})",
                             hint="install SadTalker's requirements into the venv") from None
        finally:
            os.chdir(cwd)

    def render(self, profile: Profile, speech: Speech) -> Iterator[np.ndarray]:
        import av
        import cv2
        from PIL import Image
        from src.generate_batch import get_data
        from src.generate_facerender_batch import get_facerender_data

        n = frame_count(speech.duration_s, self.cfg.fps)
        with tempfile.TemporaryDirectory(prefix="lgmtsc-sadtalker-") as d:
            pic, wav_path, out_dir = Path(d) / "face.png", Path(d) / "speech.wav", Path(d) / "out"
            out_dir.mkdir()
            Image.fromarray(profile.image).save(pic)
            pcm = (np.clip(speech.audio, -1, 1) * 32767).astype(np.int16)
            with wave.open(str(wav_path), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(speech.sample_rate)
                w.writeframes(pcm.tobytes())
            try:
                coeff, crop_pic, crop_info = self.preprocess.generate(str(pic), str(out_dir), "crop",
                                                                       source_image_flag=True, pic_size=256)
            except TypeError:  # it raises a bare string when no landmark is found
                coeff = None
            if coeff is None:
                raise InputError(f"SadTalker found no face landmarks in the enrolled image of {profile.user_id!r}")
            batch = get_data(coeff, str(wav_path), "cpu", None, still=True)
            coeff_path = self.audio2coeff.generate(batch, str(out_dir), 0, None)
            data = get_facerender_data(coeff_path, crop_pic, coeff, str(wav_path), 2, None, None, None,
                                       expression_scale=1.0, still_mode=True, preprocess="crop", size=256)
            result = self.animate.generate(data, str(out_dir), str(pic), crop_info, enhancer=None,
                                           background_enhancer=None, preprocess="crop", img_size=256)
            if not result or not Path(result).exists():
                raise BackendError("SadTalker produced no video")
            with av.open(str(result)) as c:
                frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        if not frames:
            raise BackendError("SadTalker produced an empty video")
        S = self.cfg.size
        idx = np.minimum((np.arange(n) * len(frames) / n).astype(int), len(frames) - 1)  # its 25 fps -> ours
        for i in idx:
            yield cv2.resize(frames[i], (S, S), interpolation=cv2.INTER_AREA)


def load_animator(cfg: ReconstructConfig) -> FaceAnimator:
    if cfg.face_backend == "sadtalker":
        return SadTalkerAnimator(cfg)
    from .animator import EmbeddedAnimator

    return EmbeddedAnimator(cfg)
