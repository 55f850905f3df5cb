"""Corpus split and the digital baseline (the PHY's digital payload coding over the shared channel)."""

import pytest
import torch

from host_pipeline.codec.corpus import is_held_out, load_corpus


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def test_split_is_disjoint_stable_and_real(corpus):
    assert len(corpus.train) > 10_000 and len(corpus.test) > 1_000
    assert not set(t.lower() for t in corpus.train) & set(t.lower() for t in corpus.test)
    assert all(is_held_out(t) for t in corpus.test[:200])
    assert load_corpus().sha256 == corpus.sha256


def test_compression_is_lossless(corpus):
    from host_pipeline.codec.baseline import TextCompressor

    comp = TextCompressor.from_texts(corpus.train)
    texts = corpus.test[:300]
    assert all(comp.decompress(comp.compress(t)) == t for t in texts)
    assert sum(len(comp.compress(t)) for t in texts) < 0.8 * sum(len(t.encode()) for t in texts)


def test_digital_baseline_delivers_at_high_snr_and_loses_below_its_cliff(corpus):
    from host_pipeline.codec.baseline import DigitalBaseline, TextCompressor

    base = DigitalBaseline(TextCompressor.from_texts(corpus.train))
    gen = torch.Generator().manual_seed(0)
    texts = [t for t in corpus.test if 20 < len(t) < 120][:20]
    def budget(t):
        return 16 * max(4, len(t) // 4)  # about 16 uses per WordPiece token

    high = [base.transmit(t, budget(t), 20.0, "awgn", gen) for t in texts]
    assert all(r.ok and r.text == t for r, t in zip(high, texts))
    low = [base.transmit(t, budget(t), -5.0, "awgn", gen) for t in texts]
    assert sum(r.ok for r in low) <= 2
    assert all(r.text == "" for r in low if not r.ok)
    assert base.transmit(texts[0], 8, 20.0, "awgn", gen).ok is False  # budget too small for any mode
