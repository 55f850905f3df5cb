"""Embedded animator and mp4 output: frame count, identity, lip motion, no seams, exact sync; SadTalker errors."""

from __future__ import annotations

import numpy as np
import pytest

from host_pipeline.errors import ConfigError, ModelError
from host_pipeline.reconstruct.animator import EmbeddedAnimator, frame_count
from host_pipeline.reconstruct.config import ReconstructConfig


def test_one_frame_per_period(frames, speech):
    assert len(frames) == frame_count(speech.duration_s, 25) == int(np.ceil(speech.duration_s * 25 - 1e-6))
    assert all(f.shape == (256, 256, 3) and f.dtype == np.uint8 for f in frames)


def test_frames_stream_lazily(obama, speech):
    it = EmbeddedAnimator().render(obama, speech)
    first = next(it)
    assert first.shape == (256, 256, 3)


@pytest.mark.slow
def test_identity_preserved_on_every_frame(obama, frames):
    from host_pipeline.reconstruct.metrics import IdentityMeter

    m = IdentityMeter()
    ref = m.descriptor(obama.image)
    d = np.array([m.distance(ref, f) for f in frames[::2]])
    assert np.isfinite(d).all(), "a rendered frame lost the face"
    assert d.max() <= 0.35, f"identity distance up to {d.max():.3f}"


def test_mouth_follows_the_audio(frames, speech):
    from host_pipeline.publickb.face import FaceAnalyzer
    from host_pipeline.reconstruct.metrics import lip_sync

    ls = lip_sync(frames, speech.audio, speech.sample_rate, 25, FaceAnalyzer(max_faces=1))
    assert ls.correlation > 0.4, ls
    assert abs(ls.offset_ms) <= 40
    assert ls.opening.max() - ls.opening.min() > 0.05  # visibly opens and closes (gap/width)


def test_no_seams_far_from_the_face(obama, speech):
    """With head motion off, pixels away from the face are P's own pixels (the warp fades to zero)."""
    import cv2

    an = EmbeddedAnimator(ReconstructConfig(head_motion=0.0))
    rig = an.rig(obama)
    f = an.frame(rig, 0.3 * rig.width, 2.0, 1.0, np.zeros(3))
    diff = np.abs(f.astype(int) - rig.source.astype(int)).max(2)
    lm = obama.landmarks[:, :2] * 256 / 512
    h = lm[:, 1].max() - lm[:, 1].min()
    x0, y0 = lm.min(0) - 0.15 * h
    x1, y1 = lm.max(0) + [0.15 * h, 0.5 * h]  # the jaw may pull the neck a little
    outside = np.ones_like(diff, bool)
    outside[int(y0):int(y1), int(x0):int(x1)] = False
    assert diff[outside].max() <= 4  # invisible (out of 255)
    assert diff[~outside].max() > 30  # and the face did move
    # smooth: no step edges in the displacement field
    grad = np.abs(np.diff(rig.bases, axis=1)).max()
    assert grad < 1.0
    del cv2


def test_mp4_has_equal_audio_and_video(tmp_path, frames, speech):
    from host_pipeline.reconstruct.output import stream_durations, write_mp4

    seen = []
    n = write_mp4(tmp_path / "o.mp4", iter(frames), speech, 25, on_frame=lambda i, f: seen.append(i))
    assert n == len(frames) and seen == list(range(n))
    v, a = stream_durations(tmp_path / "o.mp4")
    assert v == pytest.approx(n / 25, abs=1e-6)
    assert abs(a - v) <= 1 / 25
    import av

    with av.open(str(tmp_path / "o.mp4")) as c:
        assert c.streams.video[0].codec_context.name == "h264" and c.streams.audio[0].codec_context.name == "aac"


def test_sadtalker_without_checkpoints_names_them(tmp_path):
    from host_pipeline.reconstruct.sadtalker import SadTalkerAnimator

    with pytest.raises(ConfigError, match="sadtalker_dir"):
        SadTalkerAnimator(ReconstructConfig(face_backend="sadtalker"))
    with pytest.raises(ModelError, match="SadTalker_V0.0.2_256.safetensors"):  # a checkout that is not there
        SadTalkerAnimator(ReconstructConfig(face_backend="sadtalker", sadtalker_dir=str(tmp_path / "nowhere")))
    (tmp_path / "src" / "config").mkdir(parents=True)
    with pytest.raises(ModelError) as e:
        SadTalkerAnimator(ReconstructConfig(face_backend="sadtalker", sadtalker_dir=str(tmp_path)))
    assert "SadTalker_V0.0.2_256.safetensors" in e.value.message and "download_models.sh" in e.value.hint


def test_voice_match_prefers_the_closest_intelligible_candidate(obama, kokoro):
    from host_pipeline.reconstruct.voicematch import match_voice

    v = obama.voice
    near = {"embedding": list(v.vector), "f0_median_hz": v.f0_median_hz, "rate_syllables_s": v.rate_syllables_s}
    table = [{"weights": {"jf_alpha": 1.0}, "pitch": 1.0, "embedding": list(-v.vector), "f0_median_hz": 250,
              "rate_syllables_s": 4.0, "harvard_wer": 0.0},
             {"weights": {"jm_kumo": 1.0}, "pitch": 0.95, **near, "harvard_wer": 0.01},
             # closer still, but unintelligible, or pitch-shifted too far, or never measured for intelligibility
             {"weights": {"jf_gongitsune": 1.0}, "pitch": 1.0, **near, "harvard_wer": 0.12},
             {"weights": {"jm_kumo": 1.0}, "pitch": 0.8, **near, "harvard_wer": 0.0},
             {"weights": {"jf_nezumi": 1.0}, "pitch": 1.0, **near}]
    table[1]["rate_syllables_s"] = v.rate_syllables_s / 2  # the user speaks twice as fast: clipped rate
    voice, report = match_voice(kokoro, v, table)
    assert voice.weights == {"jm_kumo": 1.0} and voice.pitch == 0.95 and voice.speed == pytest.approx(1.1)
    assert report["predicted_similarity"] == pytest.approx(1.0, abs=1e-4) and report["excluded"] == 3
    # when no candidate reaches the WER limit, the most intelligible ones remain eligible
    voice, _ = match_voice(kokoro, v, [dict(table[0], harvard_wer=0.2), dict(table[2], harvard_wer=0.1)])
    assert voice.weights == {"jf_gongitsune": 1.0}
    # a table without intelligibility measures falls back to the default voice
    voice, report = match_voice(kokoro, v, [table[4]])
    assert voice.weights == kokoro.default_voice().weights and "default" in report["method"]
