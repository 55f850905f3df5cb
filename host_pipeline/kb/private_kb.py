"""The private knowledge base: transmitter (disambiguate, compress) and receiver (correct, restore).

``PrivateKnowledgeBase.load(KbConfig(), LlmConfig())`` gives ``transmit(user, text, snr_db)`` and
``receive(user, text, snr_db | length_class)``. Every LLM output passes the guards (guards.py) or the step
falls back (to the input, or to the extractive compressor for length), so a slow, dead or misbehaving LLM
never stalls the link nor changes what is sent beyond the allowed edit.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import BackendError, ConfigError, InputError
from ..llm import LlmConfig, LlmError, LlmTimeout
from . import prompts
from .anfis import CLASSES, Anfis, resolve_params_path
from .config import KbConfig
from .gate import WordConfidences, align_confidences, gate_edits, protected_set
from .guards import Verdict, check_output
from .store import FactStore
from .text import band_counts, chunks, extractive_compress, n_words

log = logging.getLogger(__name__)
MAX_INPUT_CHARS = 100_000
# source tag of an adjusted reply
_ADJUSTED = {"compress": "trim", "correct": "gated", "disambiguate": "gated", "restore": "gated"}
SAME_LENGTH = (0.75, 1.34)  # disambiguation/correction: output word count relative to input


@dataclass
class StepResult:
    """One KB step on one chunk: what went in, what came out, and how it was decided."""

    step: str  # disambiguate | compress | correct | restore
    input: str
    output: str
    source: str  # llm | llm+trim | llm+gated | fallback:input | fallback:extractive | skipped
    reason: str = ""
    attempts: int = 0
    seconds: float = 0.0
    similarity: float | None = None


@dataclass
class KbResult:
    """The text after the KB (to send, or restored) and the record of every step."""

    text: str
    length_class: str
    band: tuple[float, float]
    facts: list[str] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    input_text: str = ""

    @property
    def ratio(self) -> float:
        """Output words / input words (1.0 for empty input)."""
        n_in = n_words(self.input_text)
        return n_words(self.text) / n_in if n_in else 1.0

    def to_dict(self) -> dict:
        return asdict(self) | {"ratio": self.ratio}


class PromptCodec:
    """The prompt encoder/decoder: SNR -> length class (fitted ANFIS) -> word-ratio band (Table I)."""

    def __init__(self, anfis: Anfis, config: KbConfig):
        self.anfis = anfis
        self.bands = {"low": tuple(config.band_low), "medium": tuple(config.band_medium),
                      "high": tuple(config.band_high)}
        for name, (lo, hi) in self.bands.items():
            if not 0 < lo <= hi <= 1.0:
                raise ConfigError(f"kb.band_{name} = {[lo, hi]} must satisfy 0 < low <= high <= 1")

    def length_class(self, snr_db: float) -> str:
        if not math.isfinite(snr_db):
            raise InputError(f"SNR must be a finite number of dB, got {snr_db}")
        return self.anfis.classify(snr_db)


class PrivateKnowledgeBase:
    def __init__(self, config: KbConfig, llm, store: FactStore | None, embedder, anfis: Anfis):
        self.config = config
        self.llm = llm  # an LlmBackend, or None: every step falls back (no-LLM mode)
        self.store = store
        self.embedder = embedder
        self.prompt_codec = PromptCodec(anfis, config)

    @classmethod
    def load(cls, config: KbConfig | None = None, llm_config: LlmConfig | None = None,
             with_llm: bool = True) -> PrivateKnowledgeBase:
        from ..llm import load_llm
        from .embed import load_embedder

        config = config or KbConfig()
        embedder = load_embedder(config.embedder)
        store = FactStore(config.db_path, embedder)
        anfis = Anfis.load(resolve_params_path(config.anfis_params))
        return cls(config, load_llm(llm_config or LlmConfig()) if with_llm else None, store, embedder, anfis)

    # ------------------------------------------------------------------------------------------ public API
    def transmit(self, user: str | None, text: str, snr_db: float | None = None,
                 length_class: str | None = None, *, hotwords: Sequence[str] = ()) -> KbResult:
        """Disambiguate with the user's facts, then compress to the band of the SNR's length class.
        ``hotwords`` (e.g. the ASR's) and the facts' content words are never replaced by disambiguation."""
        cls_, band = self._class(snr_db, length_class)
        res = KbResult("", cls_, band, input_text=text)
        out = []
        for piece in chunks(_check_text(text), self.config.max_words_per_chunk):
            facts = self._facts(user, piece, res)
            if self.config.disambiguate and facts:
                step = self.disambiguate(piece, facts, hotwords=hotwords)
            else:
                step = StepResult("disambiguate", piece, piece, "skipped",
                                  "no relevant facts" if self.config.disambiguate else "disabled")
            res.steps.append(step)
            n = n_words(piece)
            if n_words(step.output) < band_counts(n, band)[0]:  # the rewrite got too short to meet the band
                step.output, step.source, step.reason = piece, "fallback:input", "shorter than the length band"
            step = self.compress(step.output, band, n_ref=n)
            res.steps.append(step)
            out.append(step.output)
        res.text = " ".join(out)
        return res

    def receive(self, user: str | None, text: str, snr_db: float | None = None,
                length_class: str | None = None, *, word_confidences: WordConfidences | None = None,
                hotwords: Sequence[str] = ()) -> KbResult:
        """Correct channel errors with context and facts, then restore the compressed length.

        ``word_confidences``: the decoder's per-word posteriors (``SemanticCodec.decode_with_confidence``'s
        pairs, or one float per whitespace token of ``text``); then only words below ``kb.confident_word_prob``
        may be corrected. ``hotwords`` and the facts' content words are never replaced."""
        cls_, band = self._class(snr_db, length_class)
        res = KbResult("", cls_, band, input_text=text)
        text = _check_text(text)
        conf = None
        if word_confidences is not None:
            conf = align_confidences(" ".join(text.split()), word_confidences)
            if conf is None:
                raise InputError("word_confidences do not match the received text (need the decoder's (word, "
                                 "confidence) pairs for this text, or one float per whitespace token)",
                                 hint="pass SemanticCodec.decode_with_confidence's output unchanged")
        out, done = [], 0
        for piece in chunks(text, self.config.max_words_per_chunk):
            facts = self._facts(user, piece, res)
            n_tok = len(piece.split())
            piece_conf = None if conf is None else conf[done:done + n_tok]
            done += n_tok
            step = (self.correct(piece, facts, confidences=piece_conf, hotwords=hotwords) if self.config.correct
                    else StepResult("correct", piece, piece, "skipped", "disabled"))
            res.steps.append(step)
            step = self.restore(step.output, band, facts, hotwords=hotwords)
            res.steps.append(step)
            out.append(step.output)
        res.text = " ".join(out)
        return res

    # ------------------------------------------------------------------------------------------ steps
    def disambiguate(self, text: str, facts: list[str], hotwords: Sequence[str] = ()) -> StepResult:
        """Resolve an ambiguous word with the facts. ``kb.disambiguation = "readings"``: the LLM lists the word's
        readings, each is scored by its log-probability as the answer to "what does <word> mean?" with the facts
        minus without them (pointwise mutual information with the facts: the model's prior for the common sense
        cancels), and the best replaces the word. "rewrite", or a backend that cannot score: free rewriting."""
        if self.config.disambiguation == "readings" and self.llm is not None and self.llm.can_score:
            return self._disambiguate_by_readings(text, facts, hotwords)
        n = n_words(text)
        return self._llm_step("disambiguate", text, prompts.disambiguate(text, facts), fallback=lambda: (text, "input"),
                              adjust=self._gate(text, None, [], hotwords),
                              check=lambda out: self._same_length_check(out, text, facts, n))

    def _same_length_check(self, out: str, text: str, facts: list[str], n: int) -> Verdict:
        return check_output(out, text, self.embedder, min_similarity=self.config.min_similarity,
                            counts=band_counts(n, SAME_LENGTH), max_novel=self.config.max_novel_fraction,
                            known_texts=tuple(facts))

    def _disambiguate_by_readings(self, text: str, facts: list[str], hotwords: Sequence[str]) -> StepResult:
        """The "readings" disambiguation (the backend can score continuations)."""
        t0 = time.monotonic()
        deadline = t0 + self.config.step_timeout_s
        attempts = 0

        def result(out: str, source: str, reason: str, sim: float | None = None) -> StepResult:
            return StepResult("disambiguate", text, out, source, reason, attempts, time.monotonic() - t0, sim)

        try:
            attempts += 1
            reply = self.llm.chat(prompts.readings(text), max_tokens=48, timeout_s=deadline - time.monotonic())
            found = prompts.parse_readings(reply, text)
            if found is None:
                return result(text, "llm", "no ambiguous word found")
            word, readings = found
            if word.lower() in protected_set([*hotwords, *self.config.protected_words]):
                return result(text, "llm", f"{word!r} is a protected word")
            score = {}
            for with_facts in (True, False):
                attempts += 1
                messages, prefix = prompts.reading_question(text, word, facts if with_facts else None)
                score[with_facts] = self.llm.score_continuations(messages, prefix, [" " + r for r in readings],
                                                                 timeout_s=deadline - time.monotonic())
        except LlmError as e:
            reason = f"LLM {'timeout' if isinstance(e, LlmTimeout) else 'failed'}: {e.message}"
            log.warning("disambiguate: %s", reason)
            return result(text, "fallback:input", reason, 1.0)
        pmi = score[True] - score[False]
        best = readings[int(np.argmax(pmi))]
        out = _substitute(text, word, best)
        why = f"{word!r} -> {best!r} (" + ", ".join(f"{r}: {v:+.2f}" for r, v in zip(readings, pmi)) + ")"
        verdict = self._same_length_check(out, text, [*facts, *readings], n_words(text))
        if not verdict.ok:
            return result(text, "fallback:input", f"rejected: {verdict.reason}; {why}", 1.0)
        return result(out, "llm", why, verdict.similarity)

    def compress(self, text: str, band: tuple[float, float], n_ref: int | None = None) -> StepResult:
        """Compress ``text`` to ``band`` x ``n_ref`` words (``n_ref``: the transcript's length before
        disambiguation; default the length of ``text``)."""
        n = n_ref or n_words(text)
        if band[0] >= 1.0 or n == 0:
            return StepResult("compress", text, text, "skipped", "high SNR: sent uncompressed" if n else "empty")
        kmin, kmax = band_counts(n, band)
        target = min(kmax, max(kmin, int(math.floor((band[0] + band[1]) / 2 * n + 0.5))))
        if n_words(text) <= kmax and kmin <= n_words(text):
            return StepResult("compress", text, text, "skipped", "already inside the band")

        def trim(out: str) -> tuple[str, bool]:  # the LLM often deletes too little: finish extractively
            if n_words(out) > kmax and self.embedder.similarity(out, text) >= self.config.min_similarity:
                return extractive_compress(out, kmax, self.embedder), True
            return out, False

        return self._llm_step(
            "compress", text, prompts.compress(text, n_words(text), kmin, kmax), adjust=trim,
            fallback=lambda: (extractive_compress(text, target, self.embedder), "extractive"),
            check=lambda out: check_output(out, text, self.embedder, min_similarity=self.config.min_similarity,
                                           counts=(kmin, kmax), max_novel=self.config.max_novel_fraction),
            retry=lambda out: prompts.length_feedback(n_words(out), kmin, kmax),
            retries=self.config.length_retries)

    def correct(self, text: str, facts: list[str], confidences=None, hotwords: Sequence[str] = ()) -> StepResult:
        """LLM correction of ``text``, gated: words with decoder ``confidences`` (one per whitespace token) at or
        above ``kb.confident_word_prob``, the facts' content words and ``hotwords`` are never edited."""
        n = n_words(text)
        if confidences is not None and not (np.asarray(confidences) < self.config.confident_word_prob).any():
            return StepResult("correct", text, text, "skipped", "every word was received confidently")
        return self._llm_step("correct", text, prompts.correct(text, facts), fallback=lambda: (text, "input"),
                              adjust=self._gate(text, confidences, facts, hotwords),
                              check=lambda out: check_output(out, text, self.embedder,
                                                             min_similarity=self.config.correction_min_similarity,
                                                             counts=band_counts(n, SAME_LENGTH),
                                                             max_novel=max(0.5, self.config.max_novel_fraction),
                                                             known_texts=tuple(facts)))

    def restore(self, text: str, band: tuple[float, float], facts: list[str],
                hotwords: Sequence[str] = ()) -> StepResult:
        """Restore the words compression dropped; words may be added, but protected words never replaced."""
        n = n_words(text)
        if band[0] >= 1.0 or n == 0:
            return StepResult("restore", text, text, "skipped", "high SNR: nothing was compressed" if n else "empty")
        target = max(n, int(round(n / ((band[0] + band[1]) / 2))))
        counts = (n, max(n, math.ceil(n / band[0])) + 1)
        return self._llm_step("restore", text, prompts.restore(text, n, target, facts),
                              fallback=lambda: (text, "input"), adjust=self._gate(text, None, facts, hotwords, True),
                              check=lambda out: check_output(out, text, self.embedder,
                                                             min_similarity=self.config.correction_min_similarity,
                                                             counts=counts))

    # ------------------------------------------------------------------------------------------ machinery
    def _gate(self, source: str, confidences, facts: list[str], hotwords: Sequence[str], insertions: bool = False):
        """An ``adjust`` for _llm_step reverting edits of confident or protected words (see gate.py)."""
        protected = protected_set([*facts, *hotwords, *self.config.protected_words])

        def adjust(out: str) -> tuple[str, bool]:
            gated, reverted = gate_edits(source, out, confidences, protected, self.config.confident_word_prob,
                                         insertions)
            if reverted:
                log.info("edit gate reverted: %s", "; ".join(reverted))
            return gated, bool(reverted)

        return adjust

    def _llm_step(self, name: str, text: str, messages: list[dict], *, fallback: Callable[[], tuple[str, str]],
                  check: Callable[[str], Verdict], retry: Callable[[str], dict] | None = None,
                  retries: int = 0, adjust: Callable[[str], tuple[str, bool]] | None = None) -> StepResult:
        """Ask the LLM (with length retries) until its output, after the optional ``adjust``, passes ``check``;
        else fall back. Never raises on LLM failure; LLM time is bounded by ``kb.step_timeout_s``."""
        t0 = time.monotonic()
        deadline = t0 + self.config.step_timeout_s
        reason, attempts = "no LLM configured", 0
        if self.llm is not None:
            for _attempt in range(1 + max(0, retries)):
                left = deadline - time.monotonic()
                if left < 0.2:
                    reason = f"step timeout ({self.config.step_timeout_s:.0f} s)"
                    break
                attempts += 1
                try:
                    reply = self.llm.chat(messages, max_tokens=_max_tokens(text, name), timeout_s=left)
                except LlmError as e:
                    reason = f"LLM {'timeout' if isinstance(e, LlmTimeout) else 'failed'}: {e.message}"
                    log.warning("%s: %s", name, reason)
                    break
                raw = out = prompts.parse_reply(reply)
                adjusted = False
                if adjust is not None:
                    out, adjusted = adjust(out)
                verdict = check(out)
                if verdict.ok:
                    return StepResult(name, text, out, f"llm+{_ADJUSTED.get(name, 'trim')}" if adjusted else "llm",
                                      "ok", attempts,
                                      time.monotonic() - t0, verdict.similarity)
                reason = f"rejected: {verdict.reason}"
                log.info("%s attempt %d rejected (%s): %r", name, attempts, verdict.reason, out[:200])
                if retry is None or not verdict.reason.startswith("length"):
                    break
                messages = [*messages, {"role": "assistant", "content": raw}, retry(raw)]
        out, kind = fallback()
        sim = self.embedder.similarity(out, text) if out != text else 1.0
        return StepResult(name, text, out, f"fallback:{kind}", reason, attempts, time.monotonic() - t0, sim)

    def _class(self, snr_db: float | None, length_class: str | None) -> tuple[str, tuple[float, float]]:
        if length_class is None:
            if snr_db is None:
                raise InputError("give the SNR (dB) or the length class", hint="e.g. --snr 6 or --class medium")
            length_class = self.prompt_codec.length_class(float(snr_db))
        if length_class not in CLASSES:
            raise InputError(f"unknown length class {length_class!r}", hint=f"one of {', '.join(CLASSES)}")
        return length_class, self.prompt_codec.bands[length_class]

    def _facts(self, user: str | None, text: str, res: KbResult) -> list[str]:
        if not user or self.store is None:
            return []
        try:
            found = [f.text for f, _ in self.store.relevant(user, text, self.config.top_k, self.config.fact_threshold)]
        except BackendError as e:  # the facts only help: go on without them, and say so
            log.warning("%s; continuing without the user's facts", e.message)
            return []
        res.facts += [f for f in found if f not in res.facts]
        return found


def _substitute(text: str, word: str, reading: str) -> str:
    """``text`` with the first whole-word ``word`` replaced by ``reading`` (capitalised if the word was)."""
    import re

    if word[:1].isupper():
        reading = reading[:1].upper() + reading[1:]
    return re.sub(r"\b" + re.escape(word) + r"\b", lambda _: reading, text, count=1)


def _check_text(text: str) -> str:
    if not isinstance(text, str):
        raise InputError(f"the transcript must be text, got {type(text).__name__}")
    if len(text) > MAX_INPUT_CHARS:
        raise InputError(f"the transcript has {len(text)} characters; the KB accepts at most {MAX_INPUT_CHARS}",
                         hint="split the input into utterances first")
    return text


def _max_tokens(text: str, step: str) -> int:
    """Generation budget: about 2 tokens per input word (restoration up to 3), plus slack."""
    return int(16 + (3.0 if step == "restore" else 2.0) * n_words(text))
