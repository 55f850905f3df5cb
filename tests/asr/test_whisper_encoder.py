"""Whisper's encoder runs once per short utterance, even when the language is detected (live latency, issue 16):
detection and decoding share the encoded 30-s window, and the text is the one a forced language gives."""

from __future__ import annotations

import pytest

from host_pipeline.asr.backends import _one_encode_whisper, load_asr
from host_pipeline.asr.config import AsrConfig
from host_pipeline.media import read_audio


@pytest.fixture(scope="module")
def whisper():
    return load_asr(AsrConfig())


def test_language_detection_reuses_the_encoder_output(whisper, real_data, monkeypatch):
    base = _one_encode_whisper().__mro__[1]  # faster-whisper's WhisperModel
    calls = []
    real_encode = base.encode
    monkeypatch.setattr(base, "encode", lambda self, f: calls.append(f.shape) or real_encode(self, f))
    detected, forced = [], []
    for name in ("LJ001-0003.wav", "LJ001-0005.wav"):  # two utterances: the second must not reuse the first
        audio = read_audio(real_data / "speech" / name)
        calls.clear()
        detected.append(whisper.recognize(audio, [], None))
        assert len(calls) == 1, f"{name}: the encoder ran {len(calls)} times for one window"
        forced.append(whisper.recognize(audio, [], "en"))
    assert [r.language for r in detected] == ["en", "en"]
    assert [r.text for r in detected] == [r.text for r in forced]
    assert detected[0].text != detected[1].text
