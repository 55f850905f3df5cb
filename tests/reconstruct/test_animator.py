"""Embedded animator and mp4 output: frame count, identity, lip motion, no seams, exact sync; SadTalker errors.

Articulation, framing and bad enrollment faces: ``test_animator_articulation.py``."""

from __future__ import annotations

import numpy as np
import pytest

from host_pipeline.errors import ConfigError, ModelError
from host_pipeline.reconstruct.animator import EmbeddedAnimator, frame_count
from host_pipeline.reconstruct.config import ReconstructConfig


def test_one_frame_per_period(frames, speech):
    assert len(frames) == frame_count(speech.duration_s, 25) == int(np.ceil(speech.duration_s * 25 - 1e-6))
    assert all(f.shape == (512, 512, 3) and f.dtype == np.uint8 for f in frames)


def test_frames_stream_lazily(obama, speech):
    it = EmbeddedAnimator().render(obama, speech)
    first = next(it)
    assert first.shape == (512, 512, 3)


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


def test_no_seams_far_from_the_face(obama):
    """With head motion off, pixels away from the head are P's own pixels, and the warp has no tears or folds."""
    from host_pipeline.reconstruct.face_mesh_warp import BASES

    an = EmbeddedAnimator(ReconstructConfig(head_motion=0.0))
    rig = an.rig(obama)
    m = rig.mesh
    c = np.zeros(len(BASES))
    c[BASES.index("jaw")], c[BASES.index("gap")], c[BASES.index("round")] = 1.0, 1.0, 0.5
    f = an.frame(rig, c, np.zeros(3), jaw=1.0)
    diff = np.abs(f.astype(int) - rig.source.astype(int)).max(2)
    x0, y0, x1, y1 = m.roi
    outside = np.ones_like(diff, bool)
    outside[y0:y1, x0:x1] = False
    assert diff[outside].max() == 0  # untouched outside the head's box
    lm = obama.landmarks[:, :2] * m.size / obama.image.shape[0]
    h = lm[:, 1].max() - lm[:, 1].min()
    far = np.ones_like(diff, bool)
    fx0, fy0 = (lm.min(0) - [0.5 * h, 0.6 * h]).astype(int)  # the outer ring of the mesh: the motion ends there
    fx1, fy1 = (lm.max(0) + [0.5 * h, 0.9 * h]).astype(int)
    far[max(fy0, 0):fy1, max(fx0, 0):fx1] = False
    assert diff[far].max() <= 4  # the warp fades out before the background
    assert diff[~far].max() > 30  # and the face did move
    # continuous: neighbouring output pixels sample neighbouring picture pixels (no tear, no fold), except
    # across the lips, where the picture's own open mouth is shut for the rest pose
    from host_pipeline.publickb import face as F

    q = m.vertices(c, np.zeros(3))
    mx, my = m.map(q)
    jump = np.zeros(mx.shape, bool)
    jump[:, 1:] |= np.abs(np.diff(mx, axis=1)) > 4
    jump[1:] |= np.abs(np.diff(my, axis=0)) > 4
    lips = q[[*F.LIPS_OUTER_UP, *F.LIPS_OUTER_LOW]] - [x0, y0]
    (lx0, ly0), (lx1, ly1) = lips.min(0).astype(int) - 2, lips.max(0).astype(int) + 3
    jump[ly0:ly1, lx0:lx1] = False
    assert not jump.any(), np.argwhere(jump)[:5]


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
