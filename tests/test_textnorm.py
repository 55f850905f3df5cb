"""The WER normalisation: what it equates and what it keeps apart."""

from __future__ import annotations

import pytest

from host_pipeline.textnorm import normalize, wer, word_errors


@pytest.mark.parametrize("text, expected", [
    ("For the 20th time that evening", "for the twentieth time that evening"),
    ("1,250 men in 1455", "one thousand two hundred fifty men in fourteen fifty five"),
    ("Philip Steels, etc.", "philip steels etc"),
    ("\u201cDon't,\u201d she said -- well-known", "don't she said well known"),
    ("Tom apologised; the colour of honour", "tom apologized the color of honor"),
])
def test_normalize(text, expected):
    assert normalize(text) == expected


def test_spelling_variants_are_not_errors_but_other_words_are():
    assert word_errors("Tom, apologized Whittemore.", "Tom apologised Whittemore") == (0, 3)
    assert word_errors("Tom, apologized Whittemore.", "Tom apologised with him more") == (3, 3)
    assert wer(["a b c d"], ["a x c"]) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        wer(["a"], [])
