"""One LLM interface for the project: ``load_llm(LlmConfig()).chat(messages)`` / ``.complete(prompt)``.

Backends: ``llama_cpp`` (a GGUF run in-process; the embedded default Qwen2.5-Coder-1.5B-Instruct Q4_K_M) and
``openai`` (any OpenAI-compatible HTTP endpoint, standard library only). Decoding is greedy with a fixed seed;
every call has a deadline. ``LlamaCppBackend.llama`` is the loaded ``llama_cpp.Llama`` for callers that need
token-level access (e.g. arithmetic coding of text); it is the same object for the whole process.
"""

from __future__ import annotations

from .config import LlmConfig
from .errors import LlmError, LlmRejected, LlmTimeout

__all__ = ["LlmBackend", "LlmConfig", "LlmError", "LlmRejected", "LlmTimeout", "LlamaCppBackend", "OpenAIBackend",
           "load_llm", "load_llama"]


def __getattr__(name: str):
    if name in ("LlmBackend", "LlamaCppBackend", "OpenAIBackend", "load_llm", "load_llama"):
        from . import backends

        return getattr(backends, name)
    raise AttributeError(name)
