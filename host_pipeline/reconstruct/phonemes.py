"""Text -> phonemes (espeak-ng IPA mapped to Kokoro's symbol set), visemes, and phoneme timing estimates.

Kokoro's English symbols follow misaki (diphthongs as single letters: A=eɪ, I=aɪ, W=aʊ, Y=ɔɪ, O=oʊ;
ʤ, ʧ, ᵊ). espeak-ng's IPA (``--ipa=1 --tie=^``) is mapped onto them; symbols outside the vocabulary
are dropped. Clause punctuation is kept (espeak drops it) because Kokoro uses it for prosody.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import BackendError, ConfigError, InputError

_E2K = [  # longest first
    ("ʔˌn̩", "tᵊn"), ("ʔn̩", "tᵊn"), ("ʔn", "tᵊn"), ("a^ɪ", "I"), ("a^ʊ", "W"), ("d^ʒ", "ʤ"), ("e^ɪ", "A"),
    ("t^ʃ", "ʧ"), ("ɔ^ɪ", "Y"), ("o^ʊ", "O"), ("ə^ʊ", "O"), ("ə^l", "ᵊl"), ("ɜːɹ", "ɜɹ"), ("ɜː", "ɜɹ"),
    ("ɪə", "iə"), ("ɚɹ", "əɹ"), ("ʔ", "t"), ("e", "A"), ("r", "ɹ"), ("x", "k"), ("ç", "k"), ("ɐ", "ə"), ("ɚ", "əɹ"), ("ɬ", "l"),
    ("ʲ", ""), ("\u0303", ""), ("ː", ""), ("^", ""),
]
_SYLLABIC = re.compile("(.)\u0329")
CLAUSE = re.compile(r"([^,;:.!?…]+)([,;:.!?…]*)")


@lru_cache(maxsize=1)
def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if not exe:
        raise ConfigError("espeak-ng is not installed (the TTS needs it to turn English text into phonemes)",
                          hint="sudo apt-get install espeak-ng")
    return exe


def espeak_ipa(text: str, voice: str = "en-us") -> str:
    try:  # "--": text that starts with "-" ("-5 degrees") is text, not an option
        out = subprocess.run([_espeak(), "-q", "--ipa=1", "--tie=^", "-v", voice, "--", text], capture_output=True,
                             text=True, timeout=30)
    except subprocess.TimeoutExpired:
        raise BackendError(f"espeak-ng took over 30 s to phonemise {text[:40]!r}") from None
    if out.returncode != 0:
        raise BackendError(f"espeak-ng failed on {text[:40]!r}: {out.stderr.strip()[:200]}")
    return " ".join(out.stdout.split())


def ipa_to_kokoro(ipa: str) -> str:
    s = _SYLLABIC.sub(r"ᵊ\1", ipa)
    for a, b in _E2K:
        s = s.replace(a, b)
    return s


def phonemize(text: str, language: str = "en") -> str:
    """Kokoro phoneme string of ``text`` (clauses phonemised separately, their punctuation kept)."""
    if language not in ("en", "en-us", "en-gb"):
        raise ConfigError(f"reconstruct.language = {language!r} has no working phonemiser here",
                          hint="espeak-ng's Mandarin (cmn) voice on this system reads Chinese as digits; use 'en', "
                               "or the bert_vits2 backend for Mandarin")
    text = " ".join(text.replace("\u2019", "'").split())
    if not text:
        raise InputError("nothing to say: the text is empty")
    voice = "en-gb" if language == "en-gb" else "en-us"
    parts = []
    for words, punct in CLAUSE.findall(text):
        if words.strip():
            ph = ipa_to_kokoro(espeak_ipa(words, voice))
            parts.append(ph + (punct[:1] if punct else ""))
    return " ".join(p for p in parts if p).strip()


# Visemes: mouth opening (0 closed .. 1 wide open) and lip rounding (0 spread .. 1 rounded) per symbol.
_OPEN = {**{c: 1.0 for c in "aɑæAIWɐ"}, **{c: 0.75 for c in "ɛʌɔɒYɜ"}, **{c: 0.55 for c in "əᵊeOoɚ"},
         **{c: 0.4 for c in "ɪʊiuQ"}, **{c: 0.0 for c in "mbp"}, **{c: 0.15 for c in "fv"},
         **{c: 0.3 for c in "θðtdnlszʃʒʧʤkɡŋhjɹwɾ"}}
_ROUND = {**{c: 1.0 for c in "uwʊoOQ"}, **{c: 0.6 for c in "ɔʃʒʧʤɹWY"}, **{c: 0.0 for c in "iAIeɪæ"}}
VOWELS = set("aɑæAIWɐɛʌɔɒYɜəᵊeOoɚɪʊiuQ")
PAUSE_S = {",": 0.18, ";": 0.25, ":": 0.25, ".": 0.35, "!": 0.35, "?": 0.35, "…": 0.4, " ": 0.0}


@dataclass
class PhonemeTiming:
    symbol: str
    start: float  # seconds
    end: float
    opening: float  # viseme targets
    rounding: float


def viseme(symbol: str) -> tuple[float, float]:
    return _OPEN.get(symbol, 0.3 if symbol not in PAUSE_S else 0.0), _ROUND.get(symbol, 0.2)


def _nominal(symbol: str) -> float:
    if symbol in PAUSE_S:
        return PAUSE_S[symbol]
    return 0.095 if symbol in VOWELS else 0.065


def estimate_timings(phonemes: str, audio: np.ndarray, sr: int) -> list[PhonemeTiming]:
    """Phoneme start/end times for audio whose synthesiser gives none.

    Nominal durations (vowels longer, pauses at punctuation) are fitted to the voiced stretches of the audio:
    pauses are matched to the longest silences in order, and the phonemes between two pauses fill the
    speech between the matching silences proportionally.
    """
    syms = [c for c in phonemes if c not in "ˈˌ"]
    if not syms:
        return []
    hop = 0.01
    from ..publickb.voice import envelope

    env = envelope(audio, sr, hop)
    thr = max(1e-4, 0.08 * np.percentile(env, 95)) if env.size else 1.0
    active = env > thr
    if not active.any():
        return [PhonemeTiming(s, 0.0, 0.0, *viseme(s)) for s in syms]
    first, last = np.argmax(active), len(active) - np.argmax(active[::-1])
    # silences inside the speech, longest first
    runs, i = [], first
    while i < last:
        if not active[i]:
            j = i
            while j < last and not active[j]:
                j += 1
            if j - i >= 8:
                runs.append((i, j))
            i = j
        else:
            i += 1
    pause_idx = [k for k, s in enumerate(syms) if s in PAUSE_S and PAUSE_S[s] > 0 and k < len(syms) - 1]
    n = min(len(pause_idx), len(runs))
    chosen_runs = sorted(sorted(runs, key=lambda r: r[0] - r[1])[:n])
    chosen_pauses = sorted(sorted(pause_idx, key=lambda k: -PAUSE_S[syms[k]])[:n])
    anchors = [(0, first * hop)]  # (symbol index, time)
    for k, (a, b) in zip(chosen_pauses, chosen_runs):
        anchors += [(k, a * hop), (k + 1, b * hop)]
    anchors.append((len(syms), last * hop))
    nominal = np.array([_nominal(s) for s in syms])
    start = np.zeros(len(syms))
    end = np.zeros(len(syms))
    for (k0, t0), (k1, t1) in zip(anchors[:-1], anchors[1:]):
        if k1 <= k0:
            continue
        d = nominal[k0:k1]
        d = d * (max(t1 - t0, 1e-3) / max(d.sum(), 1e-6))
        c = t0 + np.concatenate([[0.0], np.cumsum(d)])
        start[k0:k1], end[k0:k1] = c[:-1], c[1:]
    return [PhonemeTiming(s, float(a), float(b), *viseme(s)) for s, a, b in zip(syms, start, end)]
