"""Disambiguation by candidate readings (scripted LLM): the LLM lists the readings of the ambiguous word, the facts
choose one by log-probability (with facts minus without), and the reading replaces the word."""

from __future__ import annotations

import pytest

from host_pipeline.kb import prompts

from .conftest import ScriptedLlm

BEAR = "I can't bear children; they seldom listen to me."


@pytest.mark.parametrize("reply, want", [
    ("bear: tolerate; give birth to; carry", ("bear", ["tolerate", "give birth to", "carry"])),
    ("`Bear: tolerate | give birth to`", ("bear", ["tolerate", "give birth to"])),
    ("I can't bear children -> bear: tolerate; give birth to", ("bear", ["tolerate", "give birth to"])),
    ("none", None), ("", None), ("bank: river bank; money bank", None),  # word not in the sentence
    ("bear: bear; tolerate", None), ("bear: tolerate", None),  # fewer than two usable readings
])
def test_parse_readings(reply, want):
    assert prompts.parse_readings(reply, BEAR) == want


def _kb(make_kb, llm):
    kb = make_kb(llm, disambiguation="readings")
    kb.store.add("ann", "The user has a young child.")
    return kb


def test_facts_choose_the_reading_by_pointwise_mutual_information(make_kb):
    # with facts "give birth to" still scores higher (the model's prior), but the facts raise "tolerate" more
    llm = ScriptedLlm(["bear: tolerate; give birth to"], scores=[[-4.0, -3.5], [-6.0, -3.0]])
    res = _kb(make_kb, llm).transmit("ann", BEAR, length_class="high")
    assert res.text == "I can't tolerate children; they seldom listen to me."
    assert res.steps[0].source == "llm" and "tolerate" in res.steps[0].reason
    (with_facts, prefix, conts), (without, _, _) = llm.scored
    assert "young child" in with_facts[1]["content"] and "young child" not in without[1]["content"]
    assert prefix.endswith('"bear" means') and conts == [" tolerate", " give birth to"]


def test_nothing_ambiguous_keeps_the_text(make_kb):
    llm = ScriptedLlm(["none"], scores=[])
    res = _kb(make_kb, llm).transmit("ann", "I can't stand loud music.", length_class="high")
    assert res.text == "I can't stand loud music." and llm.scored == []


def test_hotword_is_never_disambiguated(make_kb):
    llm = ScriptedLlm(["bear: tolerate; give birth to"], scores=[[0.0, -5.0], [-5.0, 0.0]])
    res = _kb(make_kb, llm).transmit("ann", BEAR, length_class="high", hotwords=["Bear"])
    assert res.text == BEAR and "protected" in res.steps[0].reason


def test_backend_without_scores_falls_back_to_rewriting(make_kb):
    llm = ScriptedLlm(["I can't stand children; they seldom listen to me."])
    res = _kb(make_kb, llm).transmit("ann", BEAR, length_class="high")
    assert res.text == "I can't stand children; they seldom listen to me." and len(llm.calls) == 1
    assert "Task: if a word" in llm.calls[0][-1]["content"]  # the rewriting prompt


def test_failing_scores_fall_back_to_the_input(make_kb):
    llm = ScriptedLlm(["bear: tolerate; give birth to"], scores=[[float("nan"), 0.0]])
    res = _kb(make_kb, llm).transmit("ann", BEAR, length_class="high")
    assert res.text == BEAR and res.steps[0].source == "fallback:input"
