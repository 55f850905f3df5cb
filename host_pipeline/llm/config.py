"""Typed settings of the LLM backend (section ``[llm]``). Light module: no heavy imports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class LlmConfig:
    """Large language model used by the private knowledge base (llama.cpp GGUF or an OpenAI-compatible endpoint)."""

    backend: Literal["llama_cpp", "openai"] = "llama_cpp"
    model: str = "qwen2.5-coder-1.5b"  # llama_cpp: a registry name or a .gguf path; openai: the served model name
    endpoint: str = "http://127.0.0.1:8080/v1"  # openai backend: base URL (…/v1) or the full …/chat/completions URL
    api_key_env: str | None = None  # openai backend: name of the environment variable holding the API key
    timeout_s: float = 30.0  # one call (all its attempts) is abandoned after this long; the caller gets LlmTimeout
    retries: int = 1  # extra attempts after a network error, a 5xx/429 reply or a malformed reply (openai)
    seed: int = 0  # fixed sampling seed; decoding is greedy (temperature 0) anyway
    threads: int = 2  # llama.cpp CPU threads
    n_ctx: int = 2048  # llama.cpp context window in tokens
    max_tokens: int = 256  # upper bound on generated tokens per call
    # openai backend, for servers and hosted models that differ from the OpenAI defaults (docs/kb.md):
    token_limit_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"  # reasoning models (OpenAI
    # o-series, gpt-5) take only max_completion_tokens; llama-cpp-python's server takes only max_tokens
    send_temperature: bool = True  # send temperature 0 (greedy); false for models that accept only their default
    llama_cpp_fields: bool = True  # also send cache_prompt false and repeat_penalty 1 (llama.cpp servers: the
    # reply must not depend on earlier requests); a server that rejects them (HTTP 400/422) is asked without them
    reasoning_tokens: int = 0  # added to every call's token limit: a reasoning model's hidden reasoning counts
    reasoning_effort: str | None = None  # sent as reasoning_effort when set (e.g. "minimal", "low")
