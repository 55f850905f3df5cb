"""Phrase cutting and joining for the streamed reconstruction (no models)."""

from __future__ import annotations

import numpy as np
import pytest

from host_pipeline.reconstruct.phonemes import PhonemeTiming
from host_pipeline.reconstruct.pipeline import frame_aligned, joinable, split_phrases
from host_pipeline.reconstruct.tts import Speech


def test_phrases_cut_at_sentences_commas_and_the_word_limits():
    text = ("Not at this particular case, Tom, apologized Whittemore. For the twentieth time that evening the two men "
            "shook hands and then they walked slowly down the long road towards the old town square.")
    got = split_phrases(text, first_words=6, max_words=8)
    assert " ".join(p for p, _ in got) == " ".join(text.split())  # nothing lost or reordered
    assert got[0] == ("Not at this particular case,", "clause")  # a comma after 3+ words
    assert ("Tom, apologized Whittemore.", "sentence") in got  # "Tom," alone is too short for a phrase
    assert got[-1][1] == "final"
    assert all(len(p.split()) <= 8 + 2 for p, _ in got)  # at most two past the limit, never a lone word
    assert any(kind == "cut" for _, kind in got)  # the long sentence is cut at the word limit


def test_the_first_phrase_is_short_and_no_word_is_left_alone():
    got = split_phrases("one two three four five six seven eight", first_words=3, max_words=10)
    assert [p for p, _ in got] == ["one two three", "four five six seven eight"]
    # a cut that would strand the last one or two words of a clause is not made
    assert split_phrases("one two three four", first_words=3) == [("one two three four", "final")]
    assert split_phrases("  ") == []
    assert split_phrases("Yes.") == [("Yes.", "final")]


def _speech(sr=24000):
    t = np.arange(int(0.5 * sr)) / sr
    tone = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    audio = np.concatenate([np.zeros(int(0.3 * sr), np.float32), tone, np.zeros(int(0.4 * sr), np.float32)])
    return Speech(audio, sr, [PhonemeTiming("a", 0.3, 0.8, 0.8, 0.1)], "a")


def test_joinable_trims_the_silence_moves_the_timings_and_fades_the_edges():
    sp = _speech()
    j = joinable(sp, 0.05, 0.1)
    assert j.duration_s == pytest.approx(0.05 + 0.5 + 0.1, abs=0.011)
    assert j.phoneme_timings[0].start == pytest.approx(0.05, abs=0.006)  # moved with the audio
    assert abs(j.audio[0]) < 1e-6 and abs(j.audio[-1]) < 1e-6  # faded: no step at the join
    kept = joinable(sp, None, None)
    assert kept.audio.size == sp.audio.size


def test_frame_aligned_audio_renders_a_whole_number_of_frames():
    from host_pipeline.reconstruct.animator import frame_count

    for n in (1000, 24001, 37123):
        sp = frame_aligned(Speech(np.ones(n, np.float32), 24000, []), 25)
        frames = frame_count(sp.duration_s, 25)
        assert sp.audio.size == frames * 960  # exactly that many frame periods
        assert sp.audio.size >= n
