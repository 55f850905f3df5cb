"""Run this project's SadTalker wrapper end to end on SadTalker's own networks with random weights.

SadTalker is not on PyPI and its weights are large; this builds every network its safetensors release loads, from
SadTalker's own classes and configs, with seeded random weights, saves them in its checkpoint layout
(``checkpoints/SadTalker_V0.0.2_<size>.safetensors``, ``checkpoints/mapping_00229-model.pth.tar``,
``gfpgan/weights/{alignment_WFLW_4HG,detection_Resnet50_Final}.pth``), and renders a real face (data/faces) saying
real speech (data/speech) through ``host_pipeline.reconstruct.sadtalker.SadTalkerAnimator``. The frames are noise:
this checks the plumbing (imports, loaders, the compatibility aliases, crop/3DMM, audio -> coefficients ->
renderer -> video -> frames), not quality. One change from pure random weights: the face detector's class bias is
set so that it reports a face (a random detector finds none, and the run would stop at "no face").

Needs SadTalker's source (``git clone https://github.com/OpenTalker/SadTalker``), its requirements and the ffmpeg
command in the Python environment that runs this (docs/models.md gives the environment that was checked):

    nice -n 19 python scripts/sadtalker_random_weights.py --sadtalker /path/to/SadTalker [--out out/sadtalker_random]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_checkout(sadtalker: Path, out: Path, size: int, seed: int) -> Path:
    """``out/checkout``: SadTalker's src/ (a link) with random-weight checkpoints in its layout."""
    import torch
    import yaml

    from host_pipeline.reconstruct.sadtalker import _compat_before_import

    co = out / "checkout"
    (co / "checkpoints").mkdir(parents=True, exist_ok=True)
    (co / "gfpgan" / "weights").mkdir(parents=True, exist_ok=True)
    if not (co / "src").exists():
        (co / "src").symlink_to((sadtalker / "src").resolve(), target_is_directory=True)
    sys.path.insert(0, str(co))
    _compat_before_import()
    from facexlib.detection.retinaface import RetinaFace
    from safetensors.torch import save_file
    from src.audio2exp_models.networks import SimpleWrapperV2
    from src.audio2pose_models.audio2pose import Audio2Pose
    from src.face3d.models import networks
    from src.face3d.util.my_awing_arch import FAN
    from src.facerender.modules.generator import OcclusionAwareSPADEGenerator
    from src.facerender.modules.keypoint_detector import HEEstimator, KPDetector
    from src.facerender.modules.mapping import MappingNet
    from yacs.config import CfgNode

    done = co / "checkpoints" / f"random-seed-{seed}-size-{size}"
    if done.exists():  # built by an earlier run
        return co
    torch.manual_seed(seed)
    cfg_dir = co / "src" / "config"
    with open(cfg_dir / "auido2pose.yaml") as f:
        cfg_pose = CfgNode.load_cfg(f)
    render = yaml.safe_load((cfg_dir / "facerender.yaml").read_text())["model_params"]
    common = render["common_params"]
    parts = {
        "face_3drecon": networks.define_net_recon(net_recon="resnet50", use_last_fc=False, init_path=""),
        "audio2pose": Audio2Pose(cfg_pose, None, device="cpu"),
        "audio2exp": SimpleWrapperV2(),
        "generator": OcclusionAwareSPADEGenerator(**render["generator_params"], **common),
        "kp_extractor": KPDetector(**render["kp_detector_params"], **common),
        "he_estimator": HEEstimator(**render["he_estimator_params"], **common),
    }
    tensors = {f"{name}.{k}": v.detach().contiguous().clone() for name, net in parts.items()
               for k, v in net.state_dict().items()}
    save_file(tensors, str(co / "checkpoints" / f"SadTalker_V0.0.2_{size}.safetensors"))
    for mapping_file, yaml_name in (("mapping_00229-model.pth.tar", "facerender.yaml"),
                                    ("mapping_00109-model.pth.tar", "facerender_still.yaml")):
        params = yaml.safe_load((cfg_dir / yaml_name).read_text())["model_params"]["mapping_params"]
        torch.save({"mapping": MappingNet(**params).state_dict(), "epoch": 0}, co / "checkpoints" / mapping_file)
    torch.save({"state_dict": FAN(num_modules=4, num_landmarks=98, device="cpu").state_dict()},
               co / "gfpgan" / "weights" / "alignment_WFLW_4HG.pth")
    det = RetinaFace(network_name="resnet50", half=False, phase="test")
    with torch.no_grad():  # every anchor says "face" (class 1): a random detector would find none
        for head in det.ClassHead:
            head.conv1x1.weight.zero_()
            head.conv1x1.bias.copy_(torch.tensor([-8.0, 8.0]).repeat(head.conv1x1.bias.numel() // 2))
    torch.save(det.state_dict(), co / "gfpgan" / "weights" / "detection_Resnet50_Final.pth")
    done.touch()
    return co


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sadtalker", required=True, type=Path, help="a SadTalker checkout (its src/ folder)")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "sadtalker_random")
    ap.add_argument("--face", type=Path, default=ROOT / "data" / "faces" / "face_recognition_obama.jpg")
    ap.add_argument("--speech", type=Path, default=ROOT / "data" / "speech" / "LJ001-0001.wav")
    ap.add_argument("--seconds", type=float, default=0.6, help="of the speech to animate (its renderer is slow)")
    ap.add_argument("--size", type=int, default=256, choices=(256, 512))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preprocess", default="resize", help="its --preprocess; crop needs landmarks a random landmark "
                    "net does not give (an empty crop)")
    a = ap.parse_args()
    if not (a.sadtalker / "src" / "facerender").is_dir():
        print(f"error: {a.sadtalker} is not a SadTalker checkout (no src/facerender)", file=sys.stderr)
        return 2
    import cv2
    from PIL import Image

    from host_pipeline.publickb.store import Profile
    from host_pipeline.reconstruct.config import ReconstructConfig
    from host_pipeline.reconstruct.sadtalker import SadTalkerAnimator
    from host_pipeline.reconstruct.tts import Speech

    a.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    co = build_checkout(a.sadtalker, a.out, a.size, a.seed)
    t_build = time.perf_counter() - t0
    img = np.asarray(Image.open(a.face).convert("RGB"))
    side = min(img.shape[:2])
    img = cv2.resize(np.ascontiguousarray(img[:side, :side]), (512, 512), interpolation=cv2.INTER_AREA)  # a profile
    with wave.open(str(a.speech)) as w:
        sr = w.getframerate()
        pcm = np.frombuffer(w.readframes(int(a.seconds * sr)), np.int16).astype(np.float32) / 32768
    speech = Speech(pcm, sr, [], "random-weight run")
    profile = Profile("random-weights", img, np.zeros((478, 3), np.float32), None)
    cfg = ReconstructConfig(face_backend="sadtalker", sadtalker_dir=str(co), sadtalker_size=a.size, size=a.size,
                            seed=a.seed, sadtalker_preprocess=a.preprocess)
    from host_pipeline.errors import LgmtscError

    cwd_before = set(os.listdir("."))
    try:
        t1 = time.perf_counter()
        anim = SadTalkerAnimator(cfg)
        t_load = time.perf_counter() - t1
        t2 = time.perf_counter()
        frames = list(anim.render(profile, speech))
        t_first = time.perf_counter() - t2
        t3 = time.perf_counter()
        again = list(anim.render(profile, speech))  # the profile's crop and 3DMM come from the cache
        t_second = time.perf_counter() - t3
    except LgmtscError as e:  # the wrapper's one-line error is the result
        (a.out / "report.json").write_text(json.dumps({"error": e.message, "load_average": os.getloadavg()[0]}))
        print(f"error: {e.message}", file=sys.stderr)
        return 1
    stray = sorted(set(os.listdir(".")) - cwd_before)
    arr = np.stack(frames)
    report = {
        "frames": len(frames), "expected_frames": anim.frame_count(speech), "shape": list(arr.shape[1:]),
        "device": anim.device, "mean": round(float(arr.mean()), 2), "std": round(float(arr.std()), 2),
        "frame_to_frame_mean_abs_diff": round(float(np.abs(np.diff(arr.astype(np.int16), axis=0)).mean()), 2)
        if len(frames) > 1 else 0.0,
        "same_frames_on_second_call": bool(np.array_equal(arr, np.stack(again))),
        "files_left_in_working_dir": stray, "build_s": round(t_build, 1), "load_s": round(t_load, 1),
        "render_first_s": round(t_first, 1), "render_second_s": round(t_second, 1),
        "speech_s": round(speech.duration_s, 2), "load_average": os.getloadavg()[0],
    }
    cv2.imwrite(str(a.out / "first_frame.png"), cv2.cvtColor(frames[0], cv2.COLOR_RGB2BGR))
    (a.out / "report.json").write_text(json.dumps(report, indent=1))
    anim.close()
    print(json.dumps(report, indent=1))
    ok = report["frames"] == report["expected_frames"] and not stray
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
