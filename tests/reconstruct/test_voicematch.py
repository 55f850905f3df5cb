"""The discriminative voice match: with another speaker enrolled, two similar speakers no longer end on the same
Kokoro style. The search, the pitch/formant refinement and the selection are the real ``VoiceMatcher``; only the
TTS and the speaker encoder are small stand-ins (a tone per voice, and the voice's table embedding recognised
from the tone's level), so it runs in about a second."""

from __future__ import annotations

import numpy as np
import pytest

from host_pipeline.publickb.voice import VoiceFeatures
from host_pipeline.reconstruct import voicematch
from host_pipeline.reconstruct.config import ReconstructConfig
from host_pipeline.reconstruct.tts import Speech
from host_pipeline.reconstruct.voicematch import VoiceMatcher, discriminative_objective


def _unit(x) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x)


# three voices: x between the two speakers, y towards A, z towards B (A and B mirror each other)
EMB = {"am_x": _unit([1.0, 0.0, 0.0]), "am_y": _unit([0.8, 0.6, 0.0]), "bm_z": _unit([0.8, -0.6, 0.0])}
LEVEL = {"am_x": 0.05, "am_y": 0.15, "bm_z": 0.45}  # each fake voice speaks a 150 Hz tone at its own level
A = _unit([0.95, 0.30, 0.10])
B = _unit([0.95, -0.30, -0.10])


class ToneTts:
    SAMPLE_RATE = 24000
    name = "kokoro"

    def synthesize(self, text, voice):
        w = voice.weights
        level = sum(LEVEL[k] * x for k, x in w.items()) / max(1e-9, sum(w.values()))
        t = np.arange(self.SAMPLE_RATE // 2) / self.SAMPLE_RATE  # 0.5 s
        audio = sum(np.sin(2 * np.pi * 150 * h * t) / h for h in range(1, 6))
        audio = (level * audio / np.sqrt(np.mean(audio**2))).astype(np.float32)
        return Speech(audio, self.SAMPLE_RATE, [], text, 0.0)

    def style_table(self, voice):
        return np.zeros((510, 256), np.float32)


class LevelEncoder:
    """Stands in for Resemblyzer: the embedding of the voice whose level the audio has."""

    def speech_only(self, audio, sr=16000):
        return np.asarray(audio, np.float32)

    def embed(self, audio, sr=16000):
        rms = float(np.sqrt(np.mean(np.asarray(audio, np.float64) ** 2)))
        name = min(LEVEL, key=lambda k: abs(np.log(LEVEL[k] / max(rms, 1e-9))))
        return EMB[name].astype(np.float32)


class NoAsr:
    class _R:
        text = ""

    def recognize(self, *a, **k):
        return self._R()


@pytest.fixture
def table(monkeypatch):
    tab = {k: {"embedding": e.tolist(), "f0_median_hz": 150.0} for k, e in EMB.items()}
    monkeypatch.setattr(voicematch, "load_v1_table", lambda *a, **k: tab)


def _match(target, others=None, weight=1.0):
    cfg = ReconstructConfig(voice_match_top=3, voice_match_evals=0, voice_match_eq=False, voice_max_wer=1.0,
                            voice_match_discriminate=weight)
    v = VoiceFeatures(target.tolist(), 150.0, 140.0, 160.0, 1.0, 0.8, 4.0, 1.0)
    voice, report = VoiceMatcher(ToneTts(), LevelEncoder(), cfg, asr=NoAsr()).match(
        np.zeros(16000, np.float32) + 0.01, v, progress=False, others=others)
    [name] = voice.weights
    return name, report


def test_two_similar_speakers_pick_different_styles_when_the_other_is_enrolled(table):
    import torch

    threads = torch.get_num_threads()
    # alone, both speakers are closest to voice x
    assert _match(A)[0] == "am_x" and _match(B)[0] == "am_x"
    assert torch.get_num_threads() == threads  # one torch thread while matching, then as before
    # enrolled next to each other, x sounds as much like the other speaker: each takes its own side
    a, rep_a = _match(A, others=B[None])
    b, rep_b = _match(B, others=A[None])
    assert (a, b) == ("am_y", "bm_z")
    assert rep_a["other_speakers"] == 1 and rep_a["similarity_closest_other_speaker"] < rep_a["similarity_enrollment"]
    # the option off: the other speaker is ignored
    assert _match(A, others=B[None], weight=0.0)[0] == "am_x"
    # a distant enrolled speaker changes nothing
    assert _match(A, others=_unit([-1.0, 0.0, 0.0])[None])[0] == "am_x"


def test_objective_arithmetic():
    emb = np.stack([EMB["am_x"], EMB["am_y"]])
    obj, own, other = discriminative_objective(emb, A, B[None], 0.02, weight=1.0, margin=0.05)
    assert np.allclose(own, emb @ A) and np.allclose(other, emb @ B)
    # x is as close to B as to A: it pays the margin; y is far closer to A than to B: it pays nothing
    assert np.isclose(obj[0], own[0] - 0.02 - 0.05) and np.isclose(obj[1], own[1] - 0.02)
    obj0, _, other0 = discriminative_objective(emb, A, None, 0.02)
    assert np.allclose(obj0, own - 0.02) and np.all(other0 == -1)


def test_enrollment_reads_the_other_users_real_voices_from_the_public_kb(obama, kb, tmp_path):
    """What the matcher avoids at enrollment: the verified real-voice embeddings of the KB's other users."""
    from host_pipeline.publickb.config import PublicKbConfig
    from host_pipeline.publickb.enroll import Enroller

    enroller = Enroller(kb.cfg)
    others = enroller.other_voices("newcomer")
    assert others is not None and any(np.allclose(o, obama.voice.vector) for o in others)
    mine = enroller.other_voices("obama")  # re-enrolling: the user's own old profile is not an "other"
    # exactly one fewer (other tests may enroll further users from the same speech, so compare counts, not vectors)
    assert len(others) - (0 if mine is None else len(mine)) == 1
    empty = PublicKbConfig(db_path=str(tmp_path / "none" / "publickb.sqlite"))
    assert Enroller(empty).other_voices("newcomer") is None and not (tmp_path / "none").exists()
