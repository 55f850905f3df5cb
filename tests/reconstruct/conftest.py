"""Fixtures of the reconstructor tests: models loaded once per session, a throw-away public KB."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def enroller():
    from host_pipeline.publickb.enroll import Enroller

    return Enroller()


@pytest.fixture(scope="session")
def kb(tmp_path_factory):
    from host_pipeline.publickb.config import PublicKbConfig
    from host_pipeline.publickb.store import PublicKb

    return PublicKb(PublicKbConfig(db_path=str(tmp_path_factory.mktemp("kb") / "publickb.sqlite")))


@pytest.fixture(scope="session")
def obama(enroller, kb, real_data):
    p = enroller.enroll("obama", image=real_data / "faces" / "face_recognition_obama.jpg",
                        audio=real_data / "speech" / "cmu_arctic_us_aew_a0001.wav")
    kb.put(p)
    return kb.get("obama")


@pytest.fixture(scope="session")
def kokoro():
    from host_pipeline.reconstruct.tts import KokoroTts

    return KokoroTts()


@pytest.fixture(scope="session")
def speech(kokoro):
    from host_pipeline.reconstruct.tts import Voice

    return kokoro.synthesize("For the twentieth time that evening the two men shook hands.", Voice({"jm_kumo": 1.0}))


@pytest.fixture(scope="session")
def frames(obama, speech):
    from host_pipeline.reconstruct.animator import EmbeddedAnimator

    return list(EmbeddedAnimator().render(obama, speech))


def rng():
    return np.random.default_rng(0)
