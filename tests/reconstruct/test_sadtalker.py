"""SadTalker wrapper parts that run without SadTalker (not on PyPI): settings, checkpoints, audio, blinks, pose.
The end-to-end run on SadTalker's own networks is scripts/sadtalker_random_weights.py (docs/models.md)."""

from __future__ import annotations

import numpy as np
import pytest

from host_pipeline.errors import ConfigError, ModelError
from host_pipeline.reconstruct.config import ReconstructConfig
from host_pipeline.reconstruct.sadtalker import (
    SadTalkerAnimator,
    _sadtalker_audio,
    _scale_pose,
    blinks,
    check_config,
    missing_checkpoints,
)
from host_pipeline.reconstruct.tts import Speech


@pytest.mark.parametrize("kw,match", [
    ({"sadtalker_preprocess": "zoom"}, "crop, extcrop, resize, full, extfull"),
    ({"sadtalker_size": 384}, "256 or 512"),
    ({"sadtalker_enhancer": "codeformer"}, "gfpgan, RestoreFormer"),
    ({"sadtalker_pose_style": 46}, "0 to 45"),
    ({"sadtalker_device": "tpu"}, "auto, cpu or cuda"),
    ({"sadtalker_ref_pose": "/nonexistent.mp4"}, "no such video"),
    ({"head_motion": -1.0}, "must not be negative"),
])
def test_settings_are_checked(kw, match):
    with pytest.raises(ConfigError, match=match):
        check_config(ReconstructConfig(face_backend="sadtalker", **kw))


def test_checkpoints_follow_size_and_preprocess(tmp_path):
    miss = missing_checkpoints(tmp_path, tmp_path / "checkpoints", 512, "full")
    assert any("SadTalker_V0.0.2_512.safetensors" in m for m in miss)
    assert any("mapping_00109-model.pth.tar" in m for m in miss)  # its init_path: full uses the still mapping
    assert any("detection_Resnet50_Final.pth" in m for m in miss)
    with pytest.raises(ModelError, match="SadTalker_V0.0.2_512.safetensors"):
        SadTalkerAnimator(ReconstructConfig(face_backend="sadtalker", sadtalker_dir=str(tmp_path), sadtalker_size=512))


def test_audio_is_16k_and_never_21_frames():
    sr = 22050
    s = Speech(np.zeros(int(0.85 * sr), np.float32), sr, [])  # 0.85 s = 21.25 frames of 40 ms
    a = _sadtalker_audio(s)
    assert a.size // 640 == 22
    s2 = Speech(np.ones(32000, np.float32), 16000, [])
    assert np.array_equal(_sadtalker_audio(s2), s2.audio)


def test_blinks_follow_the_rate_and_seed():
    b = blinks(25 * 60, 0.25, seed=3)
    starts = np.flatnonzero(np.diff((b[:, 0] > 0).astype(int)) == 1)
    assert 10 <= starts.size <= 20  # about 15 blinks in a minute at 0.25 Hz
    assert b.max() == 1.0 and np.array_equal(b, blinks(25 * 60, 0.25, seed=3))
    assert not np.array_equal(b, blinks(25 * 60, 0.25, seed=4))
    assert not blinks(25 * 60, 0.0, 0).any() and blinks(21, 0.25, 0).shape == (21, 1)


def test_head_motion_scales_the_pose_around_the_source(tmp_path):
    from scipy.io import loadmat, savemat

    rng = np.random.default_rng(0)
    src = rng.normal(size=(1, 73))
    pred = np.concatenate([rng.normal(size=(30, 64)), src[:, 64:70] + rng.normal(size=(30, 6))], 1)
    savemat(tmp_path / "src.mat", {"coeff_3dmm": src})
    savemat(tmp_path / "pred.mat", {"coeff_3dmm": pred})
    _scale_pose(str(tmp_path / "pred.mat"), str(tmp_path / "src.mat"), 0.5)
    out = loadmat(tmp_path / "pred.mat")["coeff_3dmm"]
    np.testing.assert_allclose(out[:, 64:70] - src[:, 64:70], 0.5 * (pred[:, 64:70] - src[:, 64:70]))
    np.testing.assert_array_equal(out[:, :64], pred[:, :64])  # the expression is untouched


def test_heatmap_points_inside_and_on_the_last_pixel():
    from host_pipeline.reconstruct.sadtalker import _heatmap_points

    h = np.zeros((1, 3, 64, 64))
    h[0, 0, 10, 20], h[0, 0, 10, 21], h[0, 0, 9, 20] = 1.0, 0.5, 0.2  # right and upper neighbours higher
    h[0, 1, 63, 63] = 1.0  # its calculate_points indexed past the heatmap here
    h[0, 2, 0, 0] = 1.0
    p = _heatmap_points(h)[0]
    np.testing.assert_allclose(p[0], [20 + 0.25 + 0.5, 10 - 0.25 + 0.5])
    assert np.all((p[1:] >= 0) & (p[1:] <= 64))
