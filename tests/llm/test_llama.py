"""The llama.cpp backend with the tiny SmolLM2 GGUF (code path only: loading once, determinism, deadlines,
context overflow). Quality is tested with Qwen in tests/kb/test_quality.py."""

from __future__ import annotations

import time

import numpy as np
import pytest

from host_pipeline.llm import LlmConfig, LlmError, LlmTimeout, load_llm

pytestmark = pytest.mark.slow
CFG = LlmConfig(model="smollm2-135m", threads=1, n_ctx=512, max_tokens=96, timeout_s=60)
MSG = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(scope="module")
def llm():
    return load_llm(CFG)


def test_loaded_once_per_process(llm):
    assert load_llm(LlmConfig(**vars(CFG))) is llm
    assert llm.llama is load_llm(CFG).llama


def test_chat_is_deterministic(llm):
    a = llm.chat(MSG)
    b = llm.chat(MSG)
    llm.chat([{"role": "user", "content": "Name a colour."}])
    c = llm.chat(MSG)  # the same answer whatever was asked before (no KV-cache carry-over)
    assert isinstance(a, str) and a.strip() and a == b == c
    stop = dict(max_tokens=48, stop=["\n", "."])
    assert llm.complete("The capital of France is", **stop) == llm.complete("The capital of France is", **stop)


def test_a_reply_cut_at_the_token_limit_is_an_error(llm):
    with pytest.raises(LlmError, match=r"stopped at the token limit \(3 tokens\)"):
        llm.chat([{"role": "user", "content": "Count from one to twenty in words."}], max_tokens=3)
    with pytest.raises(LlmError, match="token limit"):
        llm.complete("One, two, three, four, five,", max_tokens=2)
    assert llm.chat(MSG).strip()  # usable again afterwards


def test_deadline(llm):
    t = time.monotonic()
    with pytest.raises(LlmTimeout):
        llm.chat([{"role": "user", "content": "Count from one to one hundred in words."}], max_tokens=400,
                 timeout_s=0.3)
    assert time.monotonic() - t < 2.0
    assert llm.chat(MSG).strip()  # usable again afterwards


def test_context_overflow_is_an_llm_error(llm):
    with pytest.raises(LlmError, match="n_ctx|context"):
        llm.chat([{"role": "user", "content": "word " * 2000}], timeout_s=60)


def test_unknown_model_is_a_clear_error():
    from host_pipeline.errors import ModelError

    with pytest.raises(ModelError, match="neither a known model nor a GGUF"):
        load_llm(LlmConfig(model="/nonexistent/model.gguf"))


def test_score_continuations(llm):
    msgs = [{"role": "user", "content": "What is the capital of France?"}]
    conts = [" Paris.", " a banana sandwich."]
    a = llm.score_continuations(msgs, "The capital of France is", conts)
    assert a.shape == (2,) and np.all(a < 0) and a[0] > a[1] + 1.0
    llm.chat(MSG)  # scoring and generation do not disturb each other
    np.testing.assert_array_equal(llm.score_continuations(msgs, "The capital of France is", conts), a)
    assert llm.can_score
    with pytest.raises(ValueError):
        llm.score_continuations(msgs, "x", [" "])
