"""Fixtures of the reconstructor tests: the TTS and a synthesised sentence, loaded once per session (the enrolled
profile and the public KB are shared fixtures in tests/conftest.py)."""

from __future__ import annotations

import pytest


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
