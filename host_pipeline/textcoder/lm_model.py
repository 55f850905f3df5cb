"""Next-token frequencies from a GGUF language model (llama.cpp), reproducible bit for bit at both ends.

Determinism rules (measured by ``benchmarks/textcoder_determinism.py``):
- every token is evaluated alone (batch of one), at the encoder too: llama.cpp's batched prompt evaluation gives
  logits up to 0.6 apart from token-by-token evaluation, so the encoder must not batch what the decoder cannot;
- a fixed prefix (``<|endoftext|>``) is evaluated the same way before each message, and the context restarts from
  it every ``window`` tokens;
- a conversation context (the tokens of earlier messages, ``start(context)``) is evaluated token by token after the
  prefix too; the KV cache is reused only for the longest common prefix of what it holds and the sequence wanted
  (cells are filled in position order and the tail is dropped, so the cache then holds exactly what a fresh
  evaluation of that sequence would), and the last position is always evaluated again for its logits;
- float logits become integers by exact IEEE operations only (float64 multiply, floor, shifts of a table of
  integer powers of 2**(-1/16)), never by exp/log, whose last bits differ between numpy builds and CPUs;
- the fingerprint covers the GGUF's SHA-256, the llama.cpp build and the CPU features it uses; logits were
  measured identical for 1 and 2 threads, so the thread count is not part of it.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .arith import cumulative
from .config import TextCoderConfig

STEPS = 16  # quantisation steps per octave (probability ratios resolved to 2**(1/16), 4.4 %)
_STEPS_PER_NAT = 23.083120654223414  # STEPS / ln 2, a fixed literal (no libm call)
_MAX_OCTAVES = 32  # weights below 2**-32 of the best token become the floor frequency
_FRAC = np.array([4294967296, 4112874773, 3938502376, 3771522796, 3611622603, 3458501653, 3311872529, 3171459999,
                  3037000500, 2908241642, 2784941738, 2666869345, 2553802834, 2445529972, 2341847524, 2242560872],
                 dtype=np.int64)  # round(2**32 * 2**(-j/16))
LM_TOTAL = 1 << 28  # scale of the quantised distribution before the +1 floor (totals < 2**28 + n_vocab)


def logits_to_cum(logits: np.ndarray) -> np.ndarray:
    """Integer cumulative frequencies from float logits, by exact arithmetic only (see module docstring).

    Token weights are 2**(-d/16) of the best token's (d: quantised log-probability gap, as an integer), from
    an integer table and shifts; tokens more than ``_MAX_OCTAVES`` octaves below the best get the floor of 1."""
    q = np.floor(logits.astype(np.float64) * _STEPS_PER_NAT)
    top = q.max()
    near = np.flatnonzero(q > top - STEPS * _MAX_OCTAVES)
    d = (top - q[near]).astype(np.int64)
    weights = _FRAC[d % STEPS] >> (d // STEPS)
    freq = np.ones(len(logits), dtype=np.int64)
    freq[near] += weights * LM_TOTAL // int(weights.sum())
    return cumulative(freq)


@lru_cache(maxsize=8)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def model_sha256(name_or_path: str, path: Path) -> str:
    """A registry model's pinned SHA-256 (verified at install), else the file's own hash."""
    from ..models import MODELS

    if name_or_path in MODELS:
        return MODELS[name_or_path].files[0].sha256
    st = os.stat(path)
    return _file_sha256(str(path), st.st_size, st.st_mtime_ns)


class LmTokenModel:
    """The coder's LLM: tokenizer plus reproducible next-token frequency tables. One per process per setting."""

    def __init__(self, cfg: TextCoderConfig):
        import llama_cpp

        from ..llm.backends import llama_lock, load_llama, resolve_gguf

        path = resolve_gguf(cfg.lm_model)
        self.llama = load_llama(str(path), cfg.lm_n_ctx, max(1, cfg.lm_threads), 0)
        self._ctx = self.llama._ctx.ctx
        self._get_logits = llama_cpp.llama_get_logits_ith
        self.n_vocab = self.llama.n_vocab()
        self.prefix = self.llama.tokenize(cfg.lm_prefix.encode("utf-8"), add_bos=False, special=True)
        if not self.prefix:
            raise ModelError("textcoder.lm_prefix must not be empty", hint="use the default <|endoftext|>")
        self.window = cfg.lm_window or cfg.lm_n_ctx - len(self.prefix) - 1
        if not 1 <= self.window <= cfg.lm_n_ctx - len(self.prefix) - 1:
            raise ModelError(f"textcoder.lm_window {self.window} does not fit lm_n_ctx {cfg.lm_n_ctx}")
        self.separator = self.llama.tokenize(b"\n", add_bos=False, special=False)  # between context messages
        eos = int(self.llama.token_eos())
        self.eos = eos if 0 <= eos < self.n_vocab else self.prefix[-1]  # the link format's end symbol
        self.lock = llama_lock(self.llama)  # one per llama.cpp context, shared with the KB's LLM if it is the same
        self._first_cum: np.ndarray | None = None
        self._used = 0
        system = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
        ident = "|".join(["lgmtsc-textcoder-lm/1", model_sha256(cfg.lm_model, path), llama_cpp.__version__,
                          " ".join(system.split()), repr(self.prefix), f"window={self.window}", str(STEPS),
                          str(LM_TOTAL)])
        self.fingerprint = hashlib.sha256(ident.encode("utf-8")).hexdigest()
        self.name = f"{cfg.lm_model} (llama.cpp {llama_cpp.__version__})"

    # -- tokens
    def tokenize(self, text: str) -> list[int] | None:
        """The tokens of ``text``, or None if they would not give back exactly its bytes."""
        data = text.encode("utf-8")
        tokens = self.llama.tokenize(data, add_bos=False, special=False) if data else []
        return tokens if self.detokenize(tokens) == data else None

    def detokenize(self, tokens: list[int]) -> bytes:
        return self.llama.detokenize(tokens, special=False) if tokens else b""

    # -- probabilities (call with ``lock`` held)
    def _eval(self, token: int) -> np.ndarray:
        self.llama.eval([token])
        logits = np.ctypeslib.as_array(self._get_logits(self._ctx, -1), shape=(self.n_vocab,))
        return logits_to_cum(logits)

    def restart(self) -> np.ndarray:
        """Back to the state right after the prefix; the frequency table of the first token."""
        n = len(self.prefix)
        cached = self._first_cum is not None and self.llama.n_tokens >= n \
            and list(self.llama.input_ids[:n]) == self.prefix
        if cached:
            self.llama.n_tokens = n  # the next eval drops the KV cells after the prefix
            return self._first_cum
        self.llama.reset()
        for t in self.prefix:
            cum = self._eval(t)
        self._first_cum = cum
        return cum

    def start(self, context: list[int] | None = None) -> np.ndarray:
        """Begin a message (after the tokens ``context`` of earlier messages): the frequency table of its first
        token. The context counts towards the window."""
        if not context:
            self._used = 0
            return self.restart()
        if len(context) >= self.window:
            raise ModelError(f"text-coder context of {len(context)} tokens does not fit the window {self.window}")
        self._used = len(context)
        return self._goto(self.prefix + list(context))

    def _goto(self, seq: list[int]) -> np.ndarray:
        """Evaluate ``seq`` (token by token, reusing the KV cache for the longest common prefix but never its last
        position); the frequency table of the token after it."""
        n = min(self.llama.n_tokens, len(seq) - 1)
        have = np.asarray(self.llama.input_ids[:n])
        diff = np.flatnonzero(have != np.asarray(seq[:n], dtype=have.dtype))
        common = int(diff[0]) if diff.size else n
        if common == 0:
            self.llama.reset()
        self.llama.n_tokens = common  # the next eval drops the KV cells from here on
        for t in seq[common:]:
            cum = self._eval(t)
        return cum

    def after(self, token: int) -> np.ndarray:
        """The frequency table of the token following ``token`` (restarting at the window's end)."""
        self._used += 1
        if self._used >= self.window:
            self._used = 0
            return self.restart()
        return self._eval(token)
