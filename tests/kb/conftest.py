"""Shared KB fixtures: the sentence encoder (loaded once) and a scripted fake LLM."""

from __future__ import annotations

import time

import pytest

from host_pipeline.llm import LlmConfig, LlmTimeout
from host_pipeline.llm.backends import LlmBackend


@pytest.fixture(scope="session")
def embedder():
    from host_pipeline.kb.embed import load_embedder

    return load_embedder("minilm-l6")


class ScriptedLlm(LlmBackend):
    """Replies from a list (or a function of the messages); records every call; may sleep or fail."""

    def __init__(self, replies=None, delay_s: float = 0.0, fail: Exception | None = None, scores=None):
        super().__init__(LlmConfig(timeout_s=5.0))
        self.replies = list(replies or [])
        self.scores = list(scores) if scores is not None else None  # per score call: list of floats
        self.delay_s, self.fail, self.calls, self.scored = delay_s, fail, [], []

    @property
    def name(self) -> str:
        return "scripted"

    @property
    def can_score(self) -> bool:
        return self.scores is not None

    def _chat(self, messages, max_tokens, stop, deadline, cancel):
        self.calls.append(messages)
        if self.delay_s:
            end = time.monotonic() + self.delay_s
            while time.monotonic() < end:
                if cancel.is_set():
                    raise LlmTimeout("cancelled")
                time.sleep(0.01)
        if self.fail:
            raise self.fail
        r = self.replies.pop(0) if self.replies else ""
        return r(messages) if callable(r) else r

    def _score(self, messages, reply_prefix, continuations, deadline, cancel):
        if self.scores is None:  # like a backend without logprobs
            return super()._score(messages, reply_prefix, continuations, deadline, cancel)
        self.scored.append((messages, reply_prefix, continuations))
        return self.scores.pop(0)

    def _complete(self, prompt, max_tokens, stop, deadline, cancel):
        return self._chat([{"role": "user", "content": prompt}], max_tokens, stop, deadline, cancel)


@pytest.fixture
def make_kb(tmp_path, embedder):
    """A KB over a fresh DB with a scripted LLM: ``make_kb(llm, **kb_config_overrides)``."""
    from host_pipeline.kb.anfis import Anfis
    from host_pipeline.kb.config import KbConfig
    from host_pipeline.kb.private_kb import PrivateKnowledgeBase
    from host_pipeline.kb.store import FactStore

    def make(llm, **overrides):
        cfg = KbConfig(db_path=str(tmp_path / "kb.sqlite"), **overrides)
        return PrivateKnowledgeBase(cfg, llm, FactStore(cfg.db_path, embedder), embedder, Anfis.initial())

    return make
