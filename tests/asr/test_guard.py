"""The final-text checks of the extractor (host_pipeline/asr/guard.py): loops are caught, real sentences pass."""

from __future__ import annotations

import csv

import pytest

from host_pipeline.asr.guard import compression_ratio, repetition_loop, strip_non_speech, text_problem, tokens


def _problem(text: str) -> str | None:
    return text_problem(text, max_compression_ratio=2.4, max_repeats=4)


@pytest.mark.parametrize("text, unit", [
    ("the " * 75, "'the' x75"),  # the broadcast clip: one token 75 times
    ("I think so. " + "Thank you. " * 6, "'thank you' x6"),
    ("we are going home we are going home we are going home", "'we are going home' x3"),
    ("Jin-wong-jian-" + "wong-jian-" * 5 + "ki", "'wong jian' x6"),  # hyphens separate tokens
    ("殲王" * 6, "'殲 王' x6"),  # CJK characters are tokens
    ("4-4-4-4-4-4", "'4' x6"),
])
def test_loops_are_caught(text, unit):
    assert repetition_loop(text, 4) == unit
    assert _problem(text).startswith("repetition loop")


def test_text_compressing_like_a_loop_is_caught():
    """A loop with variations (no exact run) still compresses far better than speech does."""
    text = " ".join(f"and the {w} and the {w} and then the" for w in ["cat", "dog", "cat", "dog"] * 3)
    assert repetition_loop(text, 4) is None
    assert compression_ratio(text) > 2.4 and "zlib compression ratio" in _problem(text)


def test_real_sentences_pass(real_data):
    """None of the 39 real transcripts nor the 10 GRID sentences trips a check (no false alarms on real speech)."""
    refs = [r["transcript"] for r in csv.DictReader(open(real_data / "speech" / "transcripts.tsv"), delimiter="\t")]
    refs += [r["transcript"] for r in csv.DictReader(open(real_data / "video" / "grid" / "transcripts.tsv"),
                                                     delimiter="\t")]
    assert len(refs) == 49
    for text in refs + [" ".join(refs[:8])]:
        assert _problem(text) is None, text
    for text in ["no no no no", "very very good", "谢谢谢谢", "我们今天去看看电影吧", "bye bye, bye bye"]:
        assert _problem(text) is None, text


def test_sound_annotations_are_not_words():
    assert strip_non_speech("[Music] ♪ ♪ (applause)") == ""
    assert strip_non_speech("*cough* ...") == ""
    assert strip_non_speech("(laughs) Thank you. [MUSIC]") == "Thank you."
    assert tokens("I'm Jin-wong, 今天 don’t K7") == ["im", "jin", "wong", "今", "天", "dont", "k7"]
