"""Measures of ``lgmtsc eval gsr`` on signals whose answer is known: spread, closure, lip-sync offset, streaks,
and the comparison strip."""

from __future__ import annotations

import numpy as np
import pytest

from host_pipeline.reconstruct import metrics as M
from host_pipeline.reconstruct.phonemes import PhonemeTiming, viseme


def test_articulation_spread_is_the_5_to_95_percentile_range():
    x = np.linspace(0, 1, 101)
    assert M.articulation_spread(x) == pytest.approx(0.9)
    assert M.articulation_spread(np.full(50, 0.3)) == 0


def test_closure_ratio_reads_the_middle_of_bilabials():
    tim = [PhonemeTiming("a", 0.0, 0.2, *viseme("a")), PhonemeTiming("m", 0.2, 0.28, *viseme("m")),
           PhonemeTiming("a", 0.28, 0.48, *viseme("a"))]
    op = np.full(13, 0.4)
    op[6] = 0.02  # frame 6 (0.24-0.28 s) holds the middle of /m/ (0.24 s)
    r, n = M.closure_ratio(op, tim, 25)
    assert n == 1 and r == pytest.approx(0.05)
    op[6] = 0.2
    assert M.closure_ratio(op, tim, 25)[0] == pytest.approx(0.5)
    assert np.isnan(M.closure_ratio(op, tim[:1], 25)[0])  # no bilabial: nothing to judge


def test_closure_is_read_where_the_sound_stops_not_at_the_timing():
    """With the audio, the bilabial's moment is its dip (within 20 ms of the timing), not the timing's middle."""
    sr = 16000
    rng = np.random.default_rng(1)
    audio = (0.3 * rng.standard_normal(int(0.5 * sr))).astype(np.float32)
    audio[int(0.25 * sr):int(0.29 * sr)] *= 0.01  # the lips shut at 0.25-0.29 s, later than the timing's middle
    tim = [PhonemeTiming("a", 0.0, 0.16, *viseme("a")), PhonemeTiming("m", 0.16, 0.28, *viseme("m")),
           PhonemeTiming("a", 0.28, 0.48, *viseme("a"))]
    (t,) = M.closure_times(tim, audio, sr)
    assert 0.26 <= t <= 0.28
    assert M.closure_times(tim) == [pytest.approx(0.22)]  # no audio: the middle of the timing
    op = np.full(13, 0.4)
    op[5] = 0.02  # shut at 0.20-0.24 s only: open again when the sound is silent
    assert M.closure_ratio(op, tim, 25)[0] == pytest.approx(0.05)
    assert M.closure_ratio(op, tim, 25, audio, sr)[0] == pytest.approx(1.0)
    t = np.arange(int(0.5 * sr)) / sr
    fading = (np.sin(2 * np.pi * 1000 * t) * np.exp(-4 * t)).astype(np.float32)  # falls on through the window
    assert M.closure_times(tim, fading, sr)[0] == pytest.approx(0.22)  # no dip: the middle


@pytest.mark.parametrize("lag_ms", [-80, 0, 40, 100])
def test_sync_offset_finds_a_known_lag(lag_ms):
    sr, fps = 16000, 25
    rng = np.random.default_rng(0)
    t = np.arange(int(4.0 * sr)) / sr
    syll = (np.sin(2 * np.pi * 3.1 * t) > 0.2) * (t > 0.5) * (t < 3.5)  # syllables at ~3 Hz
    audio = (syll * rng.standard_normal(t.size) * 0.3).astype(np.float32)
    ft = (np.arange(100) + 0.5) / fps
    mouth = np.interp(ft - lag_ms / 1000, t, np.convolve(syll, np.ones(400) / 400, mode="same"))
    assert M.sync_offset_ms(mouth, audio, sr, fps) == pytest.approx(lag_ms, abs=12)


def test_border_streaks_catch_replicated_edges_only():
    import cv2

    rng = np.random.default_rng(0)
    img = (rng.random((120, 160, 3)) * 255).astype(np.uint8)
    assert M.border_streaks(img) == 0
    rep = cv2.copyMakeBorder(img[:100], 0, 20, 0, 0, cv2.BORDER_REPLICATE)
    assert M.border_streaks(rep) == 20
    side = cv2.copyMakeBorder(img[:, 10:], 0, 0, 10, 0, cv2.BORDER_REPLICATE)
    assert M.border_streaks(side) == 10
    # a smooth natural gradient and a plain wall are no streaks
    grad = np.tile(np.linspace(60, 200, 160)[None, :, None], (120, 1, 3)) + rng.normal(0, 1.5, (120, 160, 3))
    assert M.border_streaks(np.clip(grad, 0, 255).astype(np.uint8)) == 0
    assert M.border_streaks(np.full((50, 50, 3), 90, np.uint8)) == 0


def test_strip_puts_real_over_reconstructed():
    from host_pipeline.evaluation.gsr import strip

    real = [np.full((288, 360, 3), 10, np.uint8)] * 20
    rec = [np.full((512, 512, 3), 200, np.uint8)] * 30
    s = strip(real, rec, n=4, height=96)
    assert s.shape == (96 * 2 + 4, 4 * 120, 3)
    assert s[:96].max() == 10 and s[100:, :4 * 96].min() == 200


def test_face_row_offset_undetermined_is_not_met():
    """A clip whose real (or reconstructed) lip-sync offset is undetermined is not counted as met or missed."""
    from host_pipeline.evaluation.gsr import FaceRow

    nan = float("nan")
    row = FaceRow("x", "t", 75, 65, 0.2, 0.22, 1.1, 0.05, 1, nan, 5.0, nan, 0.2, 0.1, 0, 200.0, 50.0, "")
    assert row.offset_status == "undetermined" and not row.passes()["offset"]
    row.offset_real_ms, row.offset_diff_ms = 20.0, -15.0
    assert row.offset_status == "met" and row.passes()["offset"]
    row.offset_diff_ms = -45.0
    assert row.offset_status == "missed"
