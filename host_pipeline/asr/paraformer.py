"""FunASR Paraformer / SeACo-Paraformer, the paper's ASR, behind :class:`~.backends.AsrBackend`.

Checked against FunASR 1.4.16 (``funasr.auto.auto_model``, ``funasr.models.seaco_paraformer``):

- the model folder must hold its weights (``model.pt``, or the ``init_param`` that ModelScope's
  ``configuration.json`` names): FunASR itself only prints a line and runs with random weights when they are
  missing, and ``model.onnx`` is for FunASR's separate ONNX runtime, not for ``AutoModel``;
- hotwords (SeACo models) go to FunASR as a private ``.txt`` file, one phrase per line, so a phrase of several
  words stays one hotword (a string is split at every space) and a phrase starting with ``http`` is never fetched
  as a URL; ``asr.hotword_file`` adds phrases from a UTF-8 file, one per line;
- FunASR sets the process-wide torch thread count to ``ncpu`` when it loads and at every call: here that count
  (``asr.threads``) holds only while FunASR runs and the caller's is restored after;
- the confidence is the geometric mean of the decoder's per-token probabilities (captured from the model's own
  decoder output, the scores FunASR computes and drops), and each token or word comes with its time
  (Paraformer's CIF timestamps) and probability in :attr:`ParaformerRecognition.tokens`;
- the language of the transcript is the model's: ``zh`` for a Chinese-character vocabulary, ``en`` otherwise
  (English Paraformer models such as ``iic/speech_paraformer_asr-en-16k-vocab4199-pytorch``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError, ModelError
from ..models import resolve_model_dir
from ._quiet import quiet_logging
from .config import AsrConfig
from .guard import strip_non_speech, text_problem

if TYPE_CHECKING:
    from .backends import Recognition

PARAFORMER_HINT = (
    "the Paraformer weights do not ship in any package: download a FunASR model directory such as "
    "iic/speech_seaco_paraformer_large_asr_nat-zh-cn-16k-common-vocab8404-pytorch (SeACo: hotwords) from "
    "ModelScope on a connected machine, copy it here and set asr.model=<that directory> "
    "(and asr.punc_model=<punctuation model directory> for punctuation); docs/models.md"
)

_CJK = re.compile(r"[\u4e00-\u9fff]")
_SPECIAL = {"<s>", "</s>", "<unk>", "<OOV>", "<blank>"}
_THREADS = threading.Lock()  # torch's thread count is process-wide: one FunASR call at a time changes it


@dataclass
class TokenTime:
    """One recognised token (a character for Chinese models) or word, seconds from the utterance start, and the
    decoder's probability of it (for a word of several sub-word tokens: their product)."""

    token: str
    start: float
    end: float
    probability: float


@functools.cache
def _recognition_class():
    """:class:`~.backends.Recognition` with the per-token times (built lazily: backends imports this module)."""
    from .backends import Recognition

    @dataclass
    class ParaformerRecognition(Recognition):
        tokens: list[TokenTime] = field(default_factory=list)

    ParaformerRecognition.__module__ = __name__
    ParaformerRecognition.__qualname__ = "ParaformerRecognition"
    return ParaformerRecognition


class ParaformerAsr:
    """FunASR Paraformer / SeACo-Paraformer from a local model directory (hotwords need SeACo)."""

    name = "paraformer"

    def __init__(self, model_dir: Path, config: AsrConfig):
        self.config = config
        if config.threads < 1:
            raise ConfigError(f"asr.threads = {config.threads}: must be 1 or more")
        punc = str(resolve_model_dir(config.punc_model)) if config.punc_model else None
        self.file_hotwords = read_hotword_file(config.hotword_file) if config.hotword_file else []
        self.model = _load_paraformer(str(model_dir), punc, config.threads)
        self.language = model_language(self.model)
        if config.language and config.language != self.language:
            raise ConfigError(f"asr.language = {config.language!r}, but the Paraformer model in {model_dir} "
                              f"transcribes {self.language!r}",
                              hint=f"leave asr.language unset or set it to {self.language}, or use a model of "
                                   "that language")

    def recognize(self, audio: np.ndarray, hotwords: list[str], language: str | None) -> Recognition:
        from .backends import unintelligible

        lang = self.language
        phrases = hotword_phrases(self.file_hotwords + list(hotwords))
        with tempfile.TemporaryDirectory(prefix="lgmtsc-hotwords-") as tmp:
            hotword = None
            if phrases:  # FunASR reads a path ending in .txt as one hotword per line (checked before "http")
                hotword = str(Path(tmp) / "hotwords.txt")
                Path(hotword).write_text("\n".join(phrases) + "\n", encoding="utf-8")
            with quiet_logging(), torch_threads(self.config.threads):
                res = self.model.generate(input=np.asarray(audio, np.float32), hotword=hotword, disable_pbar=True)
                scores = _CAPTURE.__dict__.pop("scores", None)
        res = res[0] if res else {}
        text = strip_non_speech((res.get("text") or "").strip())
        problem = "no speech" if not text else text_problem(
            text, max_compression_ratio=self.config.compression_ratio_threshold, max_repeats=self.config.max_repeats)
        if problem:
            return unintelligible(lang, problem)
        tokens, probs = self._decoded(scores)
        conf = float(np.exp(np.mean(np.log(np.maximum(probs, 1e-12))))) if probs.size else 0.0
        times = token_times(tokens, probs, res.get("timestamp") or [])
        return _recognition_class()(text, lang, round(conf, 4), tokens=times)

    def _decoded(self, scores) -> tuple[list[str], np.ndarray]:
        """The tokens the decoder chose and their probabilities, from its captured log-probabilities."""
        if scores is None:
            return [], np.zeros(0)
        logp, length = scores
        best = logp[0, :length].max(-1)
        ids, lp = best.indices.cpu().numpy(), best.values.float().cpu().numpy()
        m = self.model.model
        keep = (ids != m.blank_id) & (ids != m.sos) & (ids != m.eos)
        tok = self.model.kwargs.get("tokenizer")
        names = tok.ids2tokens(ids[keep].tolist()) if tok is not None else [str(i) for i in ids[keep]]
        return list(names), np.exp(lp[keep])


def hotword_phrases(hotwords: list[str]) -> list[str]:
    """Hotword phrases with their whitespace (newlines too) collapsed, empty ones dropped, each once."""
    out = []
    for h in hotwords:
        p = " ".join(str(h).split())
        if p and p not in out:
            out.append(p)
    return out


def read_hotword_file(path: str) -> list[str]:
    """The phrases of a UTF-8 hotword file, one per line; blank lines and lines starting with ``#`` are skipped."""
    p = Path(path).expanduser()
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(f"asr.hotword_file {p} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"asr.hotword_file {p} is a directory, not a text file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"asr.hotword_file {p} is not UTF-8 text") from None
    return hotword_phrases([ln for ln in lines if not ln.lstrip().startswith("#")])


def token_times(tokens: list[str], probs: np.ndarray, stamps: list) -> list[TokenTime]:
    """FunASR's timestamps (ms, one per character or word of its post-processed text) paired with the decoded
    tokens: one each, or English sub-words (``@@`` continues a word) joined into their words. Empty when the
    counts disagree (no timestamps: a model without a timestamp predictor)."""
    pairs = [(t, float(p)) for t, p in zip(tokens, probs) if t not in _SPECIAL]
    words: list[tuple[str, float]] = []
    if len(pairs) != len(stamps):
        cur, pr = "", 1.0
        for t, p in pairs:
            cur, pr = cur + t.replace("@@", ""), pr * p
            if not t.endswith("@@"):
                words.append((cur, pr))
                cur, pr = "", 1.0
        pairs = words
    if len(pairs) != len(stamps):
        return []
    return [TokenTime(t, round(s[0] / 1000, 3), round(s[1] / 1000, 3), round(p, 4))
            for (t, p), s in zip(pairs, stamps)]


def model_language(model) -> str:
    """``zh`` when a fifth or more of the model's vocabulary are Chinese characters, else ``en``."""
    tok = model.kwargs.get("tokenizer")
    vocab = list(getattr(tok, "token_list", None) or [])
    cjk = sum(bool(_CJK.search(t)) for t in vocab)
    return "zh" if vocab and cjk >= 0.2 * len(vocab) else "en"


@contextlib.contextmanager
def torch_threads(n: int):
    """FunASR runs with ``n`` torch threads (it sets them itself); the caller's count is restored after."""
    import torch

    with _THREADS:
        before = torch.get_num_threads()
        try:
            yield
        finally:
            if torch.get_num_threads() != before:
                torch.set_num_threads(before)


_CAPTURE = threading.local()  # the last decoder log-probabilities of this thread's FunASR call


def _capture_scores(model) -> None:
    """Wrap the model's decoder step (SeACo: ``_seaco_decode_with_ASF``, Paraformer: ``cal_decoder_with_predictor``)
    so its log-probabilities and token count are kept for the confidence (FunASR discards them)."""
    name = next((n for n in ("_seaco_decode_with_ASF", "cal_decoder_with_predictor") if hasattr(model, n)), None)
    if name is None:
        return
    inner = getattr(model, name)

    def decode(*args, **kwargs):
        out = inner(*args, **kwargs)
        logp = out[0] if isinstance(out, tuple) else out
        lengths = args[3] if len(args) > 3 else kwargs.get("ys_pad_lens", kwargs.get("pre_token_length"))
        if lengths is not None and logp.dim() == 3:
            _CAPTURE.scores = (logp.detach(), int(lengths[0]))
        return out

    setattr(model, name, decode)


def check_model_dir(d: Path, what: str = "Paraformer") -> None:
    """Refuse a folder FunASR would load without its weights (it then runs with random ones, silently)."""
    config, weights = d / "config.yaml", d / "model.pt"
    cj = d / "configuration.json"
    if cj.exists():  # ModelScope's layout: it names the config and the weights
        try:
            meta = json.loads(cj.read_text(encoding="utf-8")).get("file_path_metas") or {}
        except (ValueError, OSError, AttributeError) as e:
            raise ModelError(f"{cj} is not readable JSON ({e})", hint=PARAFORMER_HINT) from None
        config, weights = d / meta.get("config", "config.yaml"), d / meta.get("init_param", "model.pt")
    if not config.is_file():
        raise ModelError(f"{d} is not a FunASR {what} model directory (no {config.name})", hint=PARAFORMER_HINT)
    if not weights.is_file():
        onnx = " (model.onnx is for FunASR's ONNX runtime, not loaded here)" if (d / "model.onnx").exists() else ""
        raise ModelError(f"{d} is not a FunASR {what} model directory with weights: {weights.name} is missing{onnx}; "
                         "FunASR would run it with random weights", hint=PARAFORMER_HINT)


@functools.lru_cache(maxsize=2)
def _load_paraformer(model_dir: str, punc_dir: str | None, threads: int):
    check_model_dir(Path(model_dir))
    if punc_dir:
        check_model_dir(Path(punc_dir), "punctuation")
    try:
        kwargs = {"punc_model": punc_dir} if punc_dir else {}
        with quiet_logging(), torch_threads(threads):
            from funasr import AutoModel

            model = AutoModel(model=model_dir, disable_update=True, device="cpu", ncpu=threads, log_level="ERROR",
                              **kwargs)
    except Exception as e:  # noqa: BLE001
        raise ModelError(f"FunASR could not load {model_dir}: {e}", hint=PARAFORMER_HINT) from None
    _capture_scores(model.model)
    return model

