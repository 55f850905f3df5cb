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

    def __init__(self, replies=None, delay_s: float = 0.0, fail: Exception | None = None):
        super().__init__(LlmConfig(timeout_s=5.0))
        self.replies = list(replies or [])
        self.delay_s, self.fail, self.calls = delay_s, fail, []

    @property
    def name(self) -> str:
        return "scripted"

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
