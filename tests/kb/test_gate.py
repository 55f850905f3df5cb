"""The receiver's edit gate: the LLM may change only words the semantic decoder was unsure of, and never a
protected word (facts, hotwords). Reproduces the demo's damage: the bursts delivered "whittemore" correctly and
the LLM "corrected" it to "with white more"."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from host_pipeline.kb.gate import align_confidences, gate_edits, protected_set

from .conftest import ScriptedLlm

DEMO = "Not at this particular case, Tom, apologized Whittemore."  # samples/demo, utterance 2
RECEIVED = "not at this particular case, tom, apologized whittemore."  # what the bursts delivered at 12 dB
DAMAGED = "not at this particular case, tom, apologized with white more."  # what Qwen 1.5B made of it


@pytest.fixture(scope="module")
def codec():
    from host_pipeline.codec import SemanticCodec
    from host_pipeline.codec.config import CodecConfig

    return SemanticCodec.load(CodecConfig())


def _received(codec, text, esn0_db, seed):
    from host_pipeline.codec import channel

    msg = codec.encode(text)
    out = channel.transmit(torch.as_tensor(msg.symbols), esn0_db, "awgn", generator=torch.Generator().manual_seed(seed))
    sym, nv = out.symbols.numpy(), out.noise_var.numpy()
    return codec.decode(sym, nv, msg.n_tokens), codec.decode_with_confidence(sym, nv, msg.n_tokens)


def test_decode_with_confidence_matches_decode_and_spells_the_text(codec):
    for esn0, seed in ((12, 0), (0, 1)):
        plain, (text, words) = _received(codec, DEMO, esn0, seed)
        assert text == plain
        conf = align_confidences(text, words)
        assert conf is not None and conf.shape == (len(text.split()),)
        assert np.all((conf >= 0) & (conf <= 1))
    # at 12 dB every word arrives right and confidently; at 0 dB some words are unsure
    _, (text12, words12) = _received(codec, DEMO, 12, 0)
    assert text12 == RECEIVED and min(c for _, c in words12) >= 0.9
    _, (_, words0) = _received(codec, DEMO, 0, 1)
    assert min(c for _, c in words0) < 0.9


def test_demo_whittemore_survives_a_damaging_correction(make_kb, codec):
    """Scripted LLM replaying the demo's damaging reply; the decoder's confidences keep the right name."""
    _, (text, words) = _received(codec, DEMO, 12, 0)
    llm = ScriptedLlm([DAMAGED])
    res = make_kb(llm).receive("u", text, length_class="high", word_confidences=words)
    assert "whittemore" in res.text and "white" not in res.text
    assert llm.calls == []  # every word was confident: the LLM is not even asked
    assert res.steps[0].source == "skipped"


def test_low_confidence_words_are_corrected_confident_ones_kept(make_kb):
    text = "the appointment with doctor patel is on tuesday mourning."
    conf = [0.99] * 8 + [0.6]  # only "mourning." was unsure
    reply = "The appointment with Doctor Pattel is on Tuesday morning."  # fixes the unsure word, breaks a name
    res = make_kb(ScriptedLlm([reply])).receive("u", text, length_class="high", word_confidences=conf)
    assert res.text.lower() == "the appointment with doctor patel is on tuesday morning."
    assert res.steps[0].source == "llm+gated"


@pytest.mark.parametrize("how", ["hotword", "fact", "config"])
def test_protected_word_is_never_replaced_even_without_confidences(make_kb, how):
    kb = make_kb(ScriptedLlm([DAMAGED]), protected_words=["Whittemore"] if how == "config" else [])
    if how == "fact":
        kb.store.add("u", "The user's colleague is called Whittemore; he apologizes a lot.")
    res = kb.receive("u", RECEIVED, length_class="high", hotwords=["Whittemore"] if how == "hotword" else ())
    assert res.text.lower() == RECEIVED


def test_without_confidences_or_protection_the_edit_goes_through(make_kb):
    """The gate is what saves the name: with nothing to go on, the LLM's edit is accepted (guards pass it)."""
    res = make_kb(ScriptedLlm([DAMAGED])).receive("u", RECEIVED, length_class="high")
    assert "with white more" in res.text


def test_gate_edits_units():
    src = "we met at the statoin with whittemore"
    conf = np.array([0.99, 0.99, 0.99, 0.99, 0.6, 0.99, 0.99])
    out, rev = gate_edits(src, "we met at the station with white more today", conf, frozenset(), 0.9)
    assert out == "we met at the station with whittemore" and rev == ["whittemore -> white more today"]
    out, rev = gate_edits(src, "so we met at the station with whittemore", conf, frozenset(), 0.9)
    assert out == "we met at the station with whittemore" and rev == ["^ -> so"]  # insertion by confident words
    out, rev = gate_edits(src, "we met at the station with white more", None, protected_set(["Whittemore"]), 0.9)
    assert out == "we met at the station with whittemore"
    assert protected_set(["The user has a child."]) == {"user", "child"}
    assert align_confidences("didn't he?", [("didn", 0.9), ("'", 1.0), ("t", 0.4), ("he", 0.8), ("?", 1.0)]).tolist() \
        == [0.4, 0.8]
    assert align_confidences("a b", [("a", 0.9)]) is None and align_confidences("a b", [0.5]) is None


def test_long_text_is_chunked_with_its_confidences(make_kb):
    sentences = ["we met at the station with whittemore.", "the appointment is on tuesday mourning.",
                 "then we went home."]
    text = " ".join(sentences)
    conf = [0.99] * 12 + [0.6] + [0.99] * 4  # only "mourning." is unsure (the 13th of 17 tokens)
    llm = ScriptedLlm(["the appointment is on tuesday morning."])
    res = make_kb(llm, max_words_per_chunk=7).receive("u", text, length_class="high", word_confidences=conf)
    assert res.text == ("we met at the station with whittemore. the appointment is on tuesday morning. "
                        "then we went home.")
    assert len(llm.calls) == 1  # the first and last chunks were confident throughout: no LLM call


@pytest.mark.parametrize("conf", [[0.9] * 3, [("we", 0.9), ("met", 0.9)], [float("nan")] * 7])
def test_confidences_that_do_not_match_the_text_are_refused(make_kb, conf):
    from host_pipeline.errors import InputError

    with pytest.raises(InputError, match="word_confidences"):
        make_kb(ScriptedLlm()).receive("u", "we met at the station with whittemore", length_class="high",
                                       word_confidences=conf)


def test_restoration_may_add_words_but_not_replace_a_protected_one(make_kb):
    llm = ScriptedLlm(["Then Tom apologized with white more near the station."])
    res = make_kb(llm, correct=False).receive("u", "tom apologized whittemore station.", length_class="low",
                                              hotwords=["Whittemore"])
    # the insertion "Then" is kept; the replacement of the name (with the words diffed into the same span) is not
    assert res.text == "Then Tom apologized whittemore station."
    assert res.steps[1].source == "llm+gated"


def test_a_sign_or_currency_change_on_a_locked_word_is_reverted():
    from host_pipeline.kb.gate import gate_edits

    src = "it is -5 degrees and costs $50 today"
    out, reverted = gate_edits(src, "It is 5 degrees, and costs 50 today.", np.ones(8), frozenset(), 0.9)
    assert out.split()[2] == "-5" and "$50" in out.split()
    out, _ = gate_edits(src, "it is 5 degrees and costs $50 today", np.zeros(8), frozenset(), 0.9)
    assert out.split()[2] == "5"  # an unsure word may change
