"""The streamed reconstruction with the real TTS and face animator: phrase by phrase, the first one early, joined
without jumps or clicks, and the same clip as one mp4."""

from __future__ import annotations

import time

import numpy as np
import pytest

TEXT = ("Not at this particular case, Tom, apologized Whittemore. For the twentieth time that evening the two men "
        "shook hands. The fire was burning low.")


@pytest.fixture(scope="module")
def streamed(reconstructor):
    t0 = time.perf_counter()  # not later than the stream's own start (its body runs at the first next())
    out = []
    for ph in reconstructor.stream("speaker", TEXT):
        received = time.perf_counter() - t0
        out.append((ph, list(ph.frames), received))
    return out


def test_phrases_come_in_order_each_with_its_frames(streamed, reconstructor):
    fps = reconstructor.cfg.fps
    assert len(streamed) >= 4
    assert " ".join(ph.text for ph, _, _ in streamed) == " ".join(TEXT.split())
    for k, (ph, frames, _) in enumerate(streamed):
        assert ph.index == k and ph.last == (k == len(streamed) - 1)
        assert len(frames) == ph.n_frames >= 1
        assert ph.audio.size == int(ph.n_frames * ph.sample_rate / fps)  # audio lasts exactly its frames
        assert frames[0].shape == (reconstructor.cfg.size, reconstructor.cfg.size, 3)
    # the first phrase was handed on before the last one was synthesised (synthesis runs at most two phrases ahead)
    assert streamed[-1][0].ready_s > streamed[0][2]


def test_no_frame_jumps_at_the_joins(streamed):
    diffs, joins = [], []
    prev = None
    for _ph, frames, _ in streamed:
        for j, f in enumerate(frames):
            if prev is not None:
                d = float(np.abs(f.astype(np.float32) - prev).mean())
                (joins if j == 0 else diffs).append(d)
            prev = f.astype(np.float32)
    assert joins, "no joins to check"
    # a join changes the picture no more than the largest change between two frames inside a phrase
    assert max(joins) <= np.percentile(diffs, 99) + 0.5, (joins, np.percentile(diffs, 99))


def test_no_clicks_at_the_audio_joins(streamed):
    audio = np.concatenate([ph.audio for ph, _, _ in streamed])
    step = np.abs(np.diff(audio))
    edges = np.cumsum([ph.audio.size for ph, _, _ in streamed])[:-1]
    at_joins = max(float(step[e - 3:e + 3].max()) for e in edges)
    assert at_joins <= np.percentile(step, 99), (at_joins, np.percentile(step, 99))


def test_to_mp4_streams_into_one_clip_with_equal_audio_and_video(reconstructor, tmp_path):
    from host_pipeline.reconstruct.output import stream_durations

    seen = []
    speech, n = reconstructor.to_mp4("speaker", TEXT, tmp_path / "u.mp4", on_frame=lambda i, f: seen.append(i))
    assert seen == list(range(n))
    v, a = stream_durations(tmp_path / "u.mp4")
    assert v == pytest.approx(n / reconstructor.cfg.fps, abs=1e-3)
    assert abs(a - v) < 0.05
    assert speech.duration_s == pytest.approx(n / reconstructor.cfg.fps, abs=1e-3)
    assert speech.phoneme_timings and speech.phoneme_timings[-1].end <= speech.duration_s + 1e-6
    assert not list(tmp_path.glob(".*part*"))  # no partial file left
