"""Word counting, length bands, chunking and the extractive compressor."""

from __future__ import annotations

import pytest

from host_pipeline.kb.text import band_counts, chunks, extractive_compress, in_band, n_words


def test_words_ignore_punctuation():
    assert n_words("A young child, with a beaming smile - eagerly slides !") == 9
    assert n_words("   ") == 0


@pytest.mark.parametrize("n, band, want", [(10, (0.7, 0.8), (7, 8)), (12, (0.7, 0.8), (9, 9)),
                                           (20, (0.8, 0.9), (16, 18)), (3, (0.7, 0.8), (2, 2)),
                                           (1, (0.7, 0.8), (1, 1)), (7, (1.0, 1.0), (7, 7))])
def test_band_counts(n, band, want):
    assert band_counts(n, band) == want


def test_in_band():
    assert in_band(10, 7, (0.7, 0.8)) and in_band(10, 8, (0.7, 0.8))
    assert not in_band(10, 9, (0.7, 0.8)) and not in_band(10, 6, (0.7, 0.8))


def test_chunks_are_sentence_aligned_and_bounded():
    text = " ".join(f"Sentence number {i} has exactly six words." for i in range(30))
    parts = chunks(text, 20)
    assert all(n_words(p) <= 20 for p in parts)
    assert " ".join(parts) == text
    assert all(p.endswith(".") for p in parts)
    long_sentence = " ".join(["word"] * 130)
    parts = chunks(long_sentence, 50)
    assert [n_words(p) for p in parts] == [50, 50, 30]
    assert chunks("  \n ", 10) == []


def test_extractive_compress_hits_the_target_and_keeps_content(embedder):
    s = "A young child, with a beaming smile, eagerly slides down the slide."
    out = extractive_compress(s, 8, embedder)
    assert n_words(out) == 8
    assert "child" in out and "slide" in out
    assert embedder.similarity(out, s) > 0.8
    assert extractive_compress(s, 50, embedder) == s
