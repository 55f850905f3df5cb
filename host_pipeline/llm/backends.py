"""LLM backends behind one interface: ``chat(messages) -> str`` and ``complete(prompt) -> str``.

Decoding is deterministic everywhere: temperature 0 (greedy) and a fixed seed. Every call has a deadline:
llama.cpp generation is streamed and abandoned when the deadline passes; HTTP requests use socket timeouts
and bounded retries. Failures raise ``LlmError``/``LlmTimeout`` (user-facing ``BackendError``s).
"""

from __future__ import annotations

import abc
import functools
import http.client
import json
import logging
import os
import re
import socket
import threading
import time
import typing
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import ConfigError, LgmtscError
from .config import LlmConfig
from .errors import LlmError, LlmRejected, LlmTimeout

if typing.TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

Message = dict  # {"role": "system" | "user" | "assistant", "content": str}


STRAGGLER_GRACE_S = 2.0  # how long a call waits for an earlier, timed-out call to wind down


class LlmBackend(abc.ABC):
    """One loaded LLM. Thread-safe: calls are serialised per backend."""

    def __init__(self, config: LlmConfig):
        self.config = config
        self._lock = threading.Lock()
        self._straggler: threading.Thread | None = None  # a worker whose caller timed out, still running

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """Human-readable identity of the model (for logs and benchmark tables)."""

    def chat(self, messages: Sequence[Message], *, max_tokens: int | None = None,
             stop: list[str] | None = None, timeout_s: float | None = None) -> str:
        """Greedy chat completion: the assistant's reply text, within ``timeout_s`` (default llm.timeout_s)."""
        _check_messages(messages)
        return self._bounded(lambda deadline, cancel: self._chat(list(messages), max_tokens or self.config.max_tokens,
                                                                 stop or [], deadline, cancel), timeout_s)

    def complete(self, prompt: str, *, max_tokens: int | None = None, stop: list[str] | None = None,
                 timeout_s: float | None = None) -> str:
        """Greedy raw text completion of ``prompt`` (no chat template), within ``timeout_s``."""
        if not isinstance(prompt, str):
            raise TypeError("prompt must be a string")
        return self._bounded(lambda deadline, cancel: self._complete(prompt, max_tokens or self.config.max_tokens,
                                                                     stop or [], deadline, cancel), timeout_s)

    can_score = False  # whether score_continuations works (it needs the model's logits)

    def score_continuations(self, messages: Sequence[Message], reply_prefix: str, continuations: Sequence[str], *,
                            timeout_s: float | None = None) -> np.ndarray:
        """Mean log-probability per token of each continuation of the assistant's reply ``reply_prefix`` to
        ``messages`` (one prompt evaluation shared by all continuations; no generation, nothing to parse)."""
        import numpy as np

        _check_messages(messages)
        if not continuations or any(not isinstance(c, str) or not c.strip() for c in continuations):
            raise ValueError("need non-empty continuations")
        raw = self._bounded(lambda deadline, cancel: self._score(list(messages), reply_prefix, list(continuations),
                                                                 deadline, cancel), timeout_s)
        raw = np.asarray(raw, dtype=float)
        if raw.shape != (len(continuations),) or not np.isfinite(raw).all():
            raise LlmError(f"{self.name} gave no usable scores for {list(continuations)}")
        return raw

    def _score(self, messages: list[Message], reply_prefix: str, continuations: list[str], deadline: float,
               cancel: threading.Event) -> list[float]:
        raise LlmError(f"{self.name} cannot score continuations", hint="the llama_cpp backend can")

    def _bounded(self, work, timeout_s: float | None) -> str:
        """Run ``work(deadline, cancel)`` in a worker thread and return within ``timeout_s`` whatever happens.

        On timeout the caller gets ``LlmTimeout`` at once; the worker is told to stop at its next token (a
        llama.cpp prompt evaluation already under way finishes first). The next call waits for such a straggler
        at most ``STRAGGLER_GRACE_S``, then fails at once instead of spending its whole timeout queued behind it."""
        timeout_s = self.config.timeout_s if timeout_s is None else timeout_s
        if self._straggler is not None and self._straggler.is_alive():
            # a cancelled generation stops at its next token; a prompt evaluation cannot be stopped. Give it a
            # moment, then fail rather than queue behind it: every later step would wait its whole timeout
            grace = min(STRAGGLER_GRACE_S, timeout_s / 4)
            self._straggler.join(grace)
            if self._straggler.is_alive():
                raise LlmTimeout(f"{self.name} is still finishing a call that timed out",
                                 hint="raise llm.timeout_s, use a smaller model or a faster endpoint")
            timeout_s -= grace
        if timeout_s < 0.2:
            raise LlmTimeout(f"no time left for {self.name} ({timeout_s:.2f} s)")
        deadline = time.monotonic() + timeout_s
        cancel = threading.Event()
        box: dict = {}

        def run():
            with self._lock:
                if cancel.is_set():
                    return
                try:
                    box["value"] = work(deadline, cancel)
                except BaseException as e:  # handed to the caller
                    box["error"] = e

        worker = threading.Thread(target=run, name=f"llm-{self.name}", daemon=True)
        worker.start()
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            cancel.set()
            self._straggler = worker
            raise LlmTimeout(f"{self.name} did not answer within {timeout_s:.1f} s",
                             hint="raise llm.timeout_s, use a smaller model or a faster endpoint")
        if "error" in box:
            e = box["error"]
            if isinstance(e, LgmtscError) or not isinstance(e, Exception):
                raise e
            raise LlmError(f"{self.name} failed: {type(e).__name__}: {str(e)[:200]}") from e
        return box["value"]

    @abc.abstractmethod
    def _chat(self, messages: list[Message], max_tokens: int, stop: list[str], deadline: float,
              cancel: threading.Event) -> str: ...

    @abc.abstractmethod
    def _complete(self, prompt: str, max_tokens: int, stop: list[str], deadline: float,
                  cancel: threading.Event) -> str: ...


def _check_messages(messages: Sequence[Message]) -> None:
    if not messages:
        raise ValueError("messages must not be empty")
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant") \
                or not isinstance(m.get("content"), str):
            raise ValueError(f"bad chat message {m!r}: need {{'role': system|user|assistant, 'content': str}}")


# ------------------------------------------------------------------------------------------------- llama.cpp
_LLAMA_LOCKS: dict[int, threading.Lock] = {}
_LLAMA_LOCKS_GUARD = threading.Lock()


def llama_lock(llama) -> threading.Lock:
    """The one lock of a loaded llama.cpp model: the KB's LLM and the text coder may share the same context."""
    with _LLAMA_LOCKS_GUARD:
        return _LLAMA_LOCKS.setdefault(id(llama), threading.Lock())


@functools.lru_cache(maxsize=4)
def load_llama(model_path: str, n_ctx: int, threads: int, seed: int):
    """The ``llama_cpp.Llama`` for a GGUF file, loaded once per process per setting."""
    try:
        from llama_cpp import Llama
    except ImportError as e:
        raise LlmError("llama-cpp-python is not installed", hint="run `make setup`") from e
    try:
        return Llama(model_path=model_path, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, seed=seed,
                     verbose=False)
    except (ValueError, RuntimeError, OSError) as e:
        from ..errors import ModelError

        raise ModelError(f"llama.cpp could not load {model_path}: {e}",
                         hint="check that the file is a GGUF model (`lgmtsc models list --verify`)") from e


def resolve_gguf(name_or_path: str) -> Path:
    """A registry name (e.g. qwen2.5-coder-1.5b) -> its verified GGUF in the model cache; a .gguf path -> itself."""
    from ..errors import ModelError
    from ..models import MODELS, ModelCache

    if name_or_path in MODELS:
        return ModelCache().file(name_or_path, "model.gguf")
    p = Path(name_or_path).expanduser()
    if p.is_file():
        return p
    raise ModelError(f"LLM model {name_or_path!r} is neither a known model nor a GGUF file",
                     hint="set llm.model to qwen2.5-coder-1.5b, smollm2-135m or a .gguf path")


class LlamaCppBackend(LlmBackend):
    """A GGUF model run in-process by llama.cpp (the embedded default: Qwen2.5-Coder-1.5B-Instruct Q4_K_M)."""

    can_score = True

    def __init__(self, config: LlmConfig):
        super().__init__(config)
        self.model_path = resolve_gguf(config.model)
        self.llama = load_llama(str(self.model_path), config.n_ctx, max(1, config.threads), config.seed)
        self._lock = llama_lock(self.llama)

    @property
    def name(self) -> str:
        return f"llama.cpp:{self.config.model}"

    def _sampling(self, max_tokens: int, stop: list[str]) -> dict:
        return dict(temperature=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0, seed=self.config.seed,
                    max_tokens=max_tokens, stop=stop, stream=True)

    def _chat(self, messages, max_tokens, stop, deadline, cancel):
        stream = self._call(lambda: self.llama.create_chat_completion(messages=messages,
                                                                      **self._sampling(max_tokens, stop)))
        return self._drain(stream, lambda c: c["choices"][0].get("delta", {}).get("content"), deadline, cancel,
                           max_tokens)

    def _complete(self, prompt, max_tokens, stop, deadline, cancel):
        stream = self._call(lambda: self.llama.create_completion(prompt=prompt, **self._sampling(max_tokens, stop)))
        return self._drain(stream, lambda c: c["choices"][0].get("text"), deadline, cancel, max_tokens)

    def _score(self, messages, reply_prefix, continuations, deadline, cancel):
        import numpy as np

        llama = self.llama

        def last_logprobs() -> np.ndarray:  # with logits_all off, llama.cpp keeps the last position's logits
            lg = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),)).astype(float)
            return lg - (lg.max() + np.log(np.exp(lg - lg.max()).sum()))

        prompt = self._chat_prompt(messages) + reply_prefix
        tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        conts = [llama.tokenize(c.encode("utf-8"), add_bos=False, special=False) for c in continuations]
        if len(tokens) + max(map(len, conts)) >= self.config.n_ctx:
            raise LlmError(f"the prompt has {len(tokens)} tokens, too many for llm.n_ctx = {self.config.n_ctx}",
                           hint="shorten the input or raise llm.n_ctx")
        llama.reset()
        llama.eval(tokens)
        base, first = llama.n_tokens, last_logprobs()
        scores = []
        for ids in conts:
            llama.n_tokens = base  # rewind to the end of the prompt (eval drops the KV cache past n_tokens)
            total = first[ids[0]]
            for prev, nxt in zip(ids, ids[1:]):
                if cancel.is_set() or time.monotonic() > deadline:
                    raise LlmTimeout(f"{self.name} did not finish in time", hint="raise llm.timeout_s")
                llama.eval([prev])
                total += last_logprobs()[nxt]
            scores.append(float(total / len(ids)))
        return scores

    def _chat_prompt(self, messages: list[Message]) -> str:
        """The model's own chat template (GGUF metadata) applied to ``messages``, ready for the reply."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self.llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise LlmError(f"{self.config.model} has no chat template in its GGUF metadata")
        text = lambda i: self.llama._model.token_get_text(i) if i != -1 else ""  # noqa: E731
        fmt = Jinja2ChatFormatter(template=template, eos_token=text(self.llama.token_eos()),
                                  bos_token=text(self.llama.token_bos()), add_generation_prompt=True)
        return fmt(messages=messages).prompt

    def _call(self, start):
        # Re-evaluate the whole prompt every call: reusing llama.cpp's KV cache re-runs a fully cached prompt's
        # last token alone, whose logits differ slightly from the batched ones, so greedy outputs would depend
        # on the previous call. Determinism costs one prompt evaluation per call.
        self.llama.reset()
        try:
            return start()
        except ValueError as e:  # e.g. "Requested tokens (…) exceed context window"
            raise LlmError(f"llama.cpp refused the request: {e}",
                           hint="shorten the input or raise llm.n_ctx") from e

    def _drain(self, stream: Iterable[dict], piece, deadline: float, cancel: threading.Event,
               max_tokens: int) -> str:
        """The streamed reply; one that llama.cpp stopped at ``max_tokens`` (``finish_reason: "length"``, on the
        last chunk) is an ``LlmError``, as for the HTTP backend, not a complete answer."""
        out: list[str] = []
        reason = None
        try:
            for chunk in stream:  # the prompt is evaluated before the first chunk
                text = piece(chunk)
                if text:
                    out.append(text)
                reason = chunk["choices"][0].get("finish_reason") or reason
                if cancel.is_set() or time.monotonic() > deadline:
                    raise LlmTimeout(f"{self.name} did not finish in time",
                                     hint="raise llm.timeout_s or use a smaller model")
        except ValueError as e:
            raise LlmError(f"llama.cpp failed: {e}", hint="shorten the input or raise llm.n_ctx") from e
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()
        if reason == "length":
            raise LlmError(f"{self.name} stopped at the token limit ({max_tokens} tokens): the reply is cut off "
                           f"({_one_line(''.join(out), 60)!r})",
                           hint="raise the call's max_tokens (llm.max_tokens for calls without one)")
        return "".join(out)


# ------------------------------------------------------------------------------------------------- HTTP
_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class OpenAIBackend(LlmBackend):
    """Any OpenAI-compatible chat-completions endpoint (llama.cpp server, vLLM, Ollama, hosted Qwen/GPT).

    Standard library only (urllib). ``retries`` extra attempts follow a connection error, a timeout, HTTP
    408/429/5xx or a malformed reply, with a short exponential back-off, all within the call's deadline.
    A reply cut off at the token limit (``finish_reason: "length"``) is an ``LlmError``, not an answer. With
    ``llm.llama_cpp_fields`` the request also carries llama.cpp's ``cache_prompt: false`` (its server otherwise
    reuses the previous request's KV cache, and a warm cache changes greedy replies) and ``repeat_penalty: 1``
    (llama-cpp-python's server defaults to 1.1); a server that rejects them with HTTP 400/422 is asked again
    without them, and is never sent them again.
    """

    def __init__(self, config: LlmConfig):
        super().__init__(config)
        base = config.endpoint.rstrip("/")
        for suffix in ("/chat/completions", "/completions"):
            if base.endswith(suffix):
                base = base[: -len(suffix)]
        if not base.startswith(("http://", "https://")):
            raise ConfigError(f"llm.endpoint {config.endpoint!r} is not an http(s) URL",
                              hint="e.g. http://127.0.0.1:8080/v1 (llama.cpp server) or https://api.openai.com/v1")
        self.base_url = base
        self.send_llama_cpp_fields = config.llama_cpp_fields  # turned off once a server rejects them
        self.api_key = None
        if config.api_key_env:
            self.api_key = os.environ.get(config.api_key_env)
            if not self.api_key:
                raise ConfigError(f"environment variable {config.api_key_env} (llm.api_key_env) is not set",
                                  hint=f"export {config.api_key_env}=<your API key>")

    @property
    def name(self) -> str:
        return f"openai:{self.config.model}@{self.base_url}"

    def _body(self, max_tokens: int, stop: list[str]) -> dict:
        cfg = self.config
        body = {"model": cfg.model, "seed": cfg.seed, cfg.token_limit_field: max_tokens + max(0, cfg.reasoning_tokens),
                "stream": False}
        if cfg.send_temperature:
            body["temperature"] = 0
        if cfg.reasoning_effort:
            body["reasoning_effort"] = cfg.reasoning_effort
        if stop:
            body["stop"] = stop
        return body

    def _chat(self, messages, max_tokens, stop, deadline, cancel):
        body = {**self._body(max_tokens, stop), "messages": messages}
        reply = self._send("/chat/completions", body, deadline, cancel)
        self._check_finish(reply, body, lambda r: r["choices"][0]["message"]["content"])
        return _field(reply, lambda r: r["choices"][0]["message"]["content"], self.name)

    def _complete(self, prompt, max_tokens, stop, deadline, cancel):
        body = {**self._body(max_tokens, stop), "prompt": prompt}
        reply = self._send("/completions", body, deadline, cancel)
        self._check_finish(reply, body, lambda r: r["choices"][0]["text"])
        return _field(reply, lambda r: r["choices"][0]["text"], self.name)

    def _check_finish(self, reply: dict, body: dict, get) -> None:
        """A reply the server stopped at the token limit (or withheld) is an error, not a complete answer."""
        try:
            reason = reply["choices"][0].get("finish_reason")
        except (KeyError, IndexError, TypeError, AttributeError):
            return  # a malformed reply: _field says so
        if reason == "length":
            limit = body[self.config.token_limit_field]
            try:
                text = get(reply) or ""
            except (KeyError, IndexError, TypeError):
                text = ""
            if self.config.reasoning_tokens or not text.strip():
                hint = ("a reasoning model spends tokens before it answers: raise llm.reasoning_tokens "
                        "(or set llm.reasoning_effort)")
            else:
                hint = "raise the call's max_tokens (llm.max_tokens for calls without one)"
            raise LlmError(f"{self.name} stopped at the token limit ({limit} tokens): the reply is cut off "
                           f"({_one_line(text, 60)!r})", hint=hint)
        if reason == "content_filter":
            raise LlmError(f"{self.name} withheld the reply (finish_reason content_filter)",
                           hint="the hosted API's content filter refused this text")

    def _send(self, path: str, body: dict, deadline: float, cancel: threading.Event) -> dict:
        """``_post`` with llama.cpp's own fields while the server takes them; a server that rejects the request
        with them (HTTP 400/422) is asked once more without them, and if that succeeds never gets them again."""
        if not self.send_llama_cpp_fields:
            return self._post(path, body, deadline, cancel)
        try:
            return self._post(path, {**body, **LLAMA_CPP_FIELDS}, deadline, cancel)
        except LlmRejected as first:
            if first.status not in (400, 422):
                raise
            try:
                reply = self._post(path, body, deadline, cancel)
            except LlmRejected as second:
                raise second from None
            except LlmError:
                raise first from None
            self.send_llama_cpp_fields = False
            log.info("%s rejected %s (%s); sending them no more", self.name, ", ".join(LLAMA_CPP_FIELDS),
                     first.message)
            return reply

    def _post(self, path: str, body: dict, deadline: float, cancel: threading.Event) -> dict:
        url = self.base_url + path
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode("utf-8")
        attempts = 1 + max(0, self.config.retries)
        last: LlmError | None = None
        for i in range(attempts):
            if i:
                time.sleep(min(2.0, 0.25 * 2 ** (i - 1)))
            timeout_s = min(self.config.timeout_s, deadline - time.monotonic())
            if cancel.is_set() or timeout_s <= 0.05:
                break
            req = urllib.request.Request(url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=timeout_s) as resp:
                    raw = resp.read()
            except urllib.error.HTTPError as e:
                try:
                    detail = _error_detail(e.read(4096))
                except (OSError, http.client.HTTPException):
                    detail = ""
                if e.code not in _RETRY_STATUS:
                    raise self._rejected(url, e.code, detail, body) from None
                last = LlmError(f"{url} answered HTTP {e.code}: {detail or e.reason}",
                                hint="the server is busy or failing: try again later or raise llm.retries")
                continue
            except TimeoutError as e:
                last = LlmTimeout(f"{url} did not answer within {timeout_s:.1f} s ({e})",
                                  hint="raise llm.timeout_s or check the server load")
                continue
            except urllib.error.URLError as e:
                if isinstance(e.reason, (socket.timeout, TimeoutError)):
                    last = LlmTimeout(f"{url} did not answer within {timeout_s:.1f} s",
                                      hint="raise llm.timeout_s or check the server load")
                else:
                    last = LlmError(f"cannot reach {url}: {e.reason}",
                                    hint="start the server or fix llm.endpoint (lgmtsc --set llm.endpoint=...)")
                continue
            except (ConnectionError, OSError, http.client.HTTPException) as e:  # also a reply cut off or not HTTP
                last = LlmError(f"connection to {url} failed: {type(e).__name__}: {e}",
                                hint="check that the server is running and that llm.endpoint is its HTTP address")
                continue
            try:
                reply = json.loads(raw.decode("utf-8"))
                if not isinstance(reply, dict):
                    raise ValueError("not a JSON object")
                return reply
            except (ValueError, UnicodeDecodeError) as e:
                last = LlmError(f"{url} replied with malformed JSON ({e}): {raw[:120]!r}",
                                hint="is llm.endpoint an OpenAI-compatible API?")
        raise last or LlmTimeout(f"{url}: no time left for another attempt")

    def _rejected(self, url: str, status: int, detail: str, body: dict) -> LlmRejected:
        """The error for a 4xx reply, naming the setting to change when the server's message points at one."""
        cfg, low = self.config, detail.lower()
        refused = lambda field: field in low and any(w in low for w in _REFUSAL_WORDS)  # noqa: E731
        fix = None
        if status in (401, 403):
            hint = (f"check the API key in ${cfg.api_key_env}" if cfg.api_key_env else
                    "the server wants an API key: set llm.api_key_env to the variable holding it")
        elif status == 404:
            hint = "check llm.endpoint (the base URL ending in /v1) and llm.model"
        elif cfg.token_limit_field == "max_tokens" and refused("max_tokens"):
            fix = "llm.token_limit_field=max_completion_tokens"
        elif cfg.token_limit_field == "max_completion_tokens" and refused("max_completion_tokens"):
            fix = "llm.token_limit_field=max_tokens"
        elif "temperature" in body and refused("temperature"):
            fix = "llm.send_temperature=false"
        elif "reasoning_effort" in body and refused("reasoning"):
            hint = "this model takes no reasoning_effort (or not this value): change or unset llm.reasoning_effort"
        elif "context" in low or "too long" in low or "too many tokens" in low:
            hint = "shorten the input or use a server with a larger context window"
        elif "model" in low:
            hint = "check llm.model: the model name the server serves"
        else:
            hint = "check llm.model, llm.endpoint and the other llm.* request settings (docs/kb.md)"
        if fix:
            setting, value = fix.split("=", 1)
            return LlmRejected(f"{url} rejected the request (HTTP {status}: {detail}); set {setting} = {value}",
                               status=status, hint=f"lgmtsc --set {fix} ... (or [llm] in the config file)")
        return LlmRejected(f"{url} rejected the request (HTTP {status}: {detail or 'no detail'})", status=status,
                           hint=hint)


LLAMA_CPP_FIELDS = {"cache_prompt": False, "repeat_penalty": 1.0}
_REFUSAL_WORDS = ("unsupported", "not supported", "does not support", "unrecognized", "unknown", "not allowed",
                  "not permitted", "extra", "invalid", "use 'max_completion_tokens'")


def _one_line(text: str, limit: int) -> str:
    """``text`` on one line (whitespace runs collapsed), cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_detail(raw: bytes) -> str:
    """The message of an error reply (OpenAI's ``{"error": {"message": ...}}``, FastAPI's ``{"detail": ...}``,
    or the text itself), on one line."""
    text = raw.decode("utf-8", "replace")
    try:
        obj = json.loads(text)
    except ValueError:
        return _one_line(re.sub(r"<[^>]+>", " ", text), 240)
    if isinstance(obj, dict):
        err = obj.get("error", obj.get("detail", obj.get("message", obj)))
        if isinstance(err, dict):
            err = err.get("message", err)
        obj = err
    return _one_line(obj if isinstance(obj, str) else json.dumps(obj), 240)


def _field(reply: dict, get, name: str, kind: type = str):
    """``get(reply)`` if present and of type ``kind``, else LlmError (a malformed reply)."""
    try:
        value = get(reply)
    except (KeyError, IndexError, TypeError):
        err = reply.get("error") if isinstance(reply, dict) else None
        what = "choices[0] text" if kind is str else "choices[0] logprobs"
        raise LlmError(f"{name} replied without {what}: {str(err or reply)[:200]}",
                       hint="is llm.endpoint an OpenAI-compatible API (with logprobs for choices)?") from None
    if not isinstance(value, kind):
        raise LlmError(f"{name} replied with a malformed {'message' if kind is str else 'logprobs list'}: "
                       f"{value!r:.200}")
    return value


# ------------------------------------------------------------------------------------------------- loading
_BACKENDS = {"llama_cpp": LlamaCppBackend, "openai": OpenAIBackend}
_CACHE: dict[tuple, LlmBackend] = {}
_CACHE_LOCK = threading.Lock()


def load_llm(config: LlmConfig | None = None) -> LlmBackend:
    """The backend for ``config``, created once per process per distinct setting (the GGUF is loaded once)."""
    config = config or LlmConfig()
    if config.backend not in _BACKENDS:
        raise ConfigError(f"unknown llm.backend {config.backend!r}", hint=f"use one of {', '.join(_BACKENDS)}")
    key = tuple(sorted(vars(config).items()))
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _BACKENDS[config.backend](config)
        return _CACHE[key]
