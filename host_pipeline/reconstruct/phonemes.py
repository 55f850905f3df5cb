"""Text -> phonemes (espeak-ng IPA mapped to Kokoro's symbol set), visemes, and phoneme timings (from a
synthesiser's own durations, or estimated from the audio for synthesisers that give none).

Kokoro's English symbols follow misaki (diphthongs as single letters: A=eɪ, I=aɪ, W=aʊ, Y=ɔɪ, O=oʊ;
ʤ, ʧ, ᵊ). espeak-ng's IPA (``--ipa=1 --tie=^``) is mapped onto them; symbols outside the vocabulary
are dropped. Clause punctuation is kept (espeak drops it) because Kokoro uses it for prosody.

Mandarin (``language="zh"``) follows the convention Kokoro v1.0's Mandarin voices were trained with: per word
(pypinyin's maximum-matching segmentation), each syllable's pinyin as IPA with the tone as an arrow right after
the nucleus (1 →, 2 ↗, 3 ↓, 4 ↘, neutral none), affricates as single letters (ʦ ʨ ꭧ), no tone sandhi beyond
what the pinyin dictionary carries. Pinyin comes from pypinyin's phrase dictionary; a polyphonic character that
stands alone (no phrase decides it) takes g2pM's neural prediction in its sentence.
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
    ("ɪə", "iə"), ("ɚɹ", "əɹ"), ("ʔ", "t"), ("e", "A"), ("r", "ɹ"), ("x", "k"), ("ç", "k"), ("ɐ", "ə"), ("ɚ", "əɹ"),
    ("ɬ", "l"),
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
    if language == "zh":
        return phonemize_zh(text)
    if language not in ("en", "en-us", "en-gb"):
        raise ConfigError(f"reconstruct.language = {language!r} has no phonemiser here", hint="use 'en' or 'zh'")
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


# ------------------------------------------------------------------------------------------------- Mandarin
_ZH_INITIAL = {"b": "p", "p": "pʰ", "m": "m", "f": "f", "d": "t", "t": "tʰ", "n": "n", "l": "l", "g": "k",
               "k": "kʰ", "h": "x", "j": "ʨ", "q": "ʨʰ", "x": "ɕ", "zh": "ꭧ", "ch": "ꭧʰ", "sh": "ʂ", "r": "ɻ",
               "z": "ʦ", "c": "ʦʰ", "s": "s"}
# final -> (before the tone mark, after it): the tone follows the nucleus, a nasal coda comes after the tone
_ZH_FINAL = {"a": ("a", ""), "ai": ("ai", ""), "an": ("a", "n"), "ang": ("a", "ŋ"), "ao": ("au", ""),
             "e": ("ɤ", ""), "ei": ("ei", ""), "en": ("ə", "n"), "eng": ("ə", "ŋ"), "er": ("ɚ", ""),
             "i": ("i", ""), "ia": ("ja", ""), "ian": ("jɛ", "n"), "iang": ("ja", "ŋ"), "iao": ("jau", ""),
             "ie": ("je", ""), "in": ("i", "n"), "iou": ("jou", ""), "ing": ("i", "ŋ"), "iong": ("jʊ", "ŋ"),
             "ong": ("ʊ", "ŋ"), "ou": ("ou", ""), "u": ("u", ""), "uei": ("wei", ""), "ua": ("wa", ""),
             "uai": ("wai", ""), "uan": ("wa", "n"), "uen": ("wə", "n"), "uang": ("wa", "ŋ"), "ueng": ("wə", "ŋ"),
             "uo": ("wo", ""), "o": ("wo", ""), "ü": ("y", ""), "üe": ("ɥe", ""), "üan": ("ɥɛ", "n"),
             "ün": ("y", "n"), "ê": ("ɛ", "")}
_ZH_SYLLABIC = {"m": "m", "n": "n", "ng": "ŋ", "hm": "hm", "hng": "hŋ"}
_ZH_TONE = {"1": "→", "2": "↗", "3": "↓", "4": "↘", "5": ""}
_ZH_PUNCT = {"，": ",", "、": ",", "。": ".", "．": ".", "！": "!", "？": "?", "：": ":", "；": ";", "…": "…",
             ",": ",", ".": ".", "!": "!", "?": "?", ":": ":", ";": ";"}
_HAN = re.compile(r"[\u4e00-\u9fff]+")
_DIGITS = "零一二三四五六七八九"


def _zh_number(m: re.Match) -> str:
    """Arabic numerals as Chinese numerals (integers up to 10^12 read as numbers, decimals digit by digit)."""
    whole, _, frac = m.group(0).partition(".")
    n = int(whole)
    if n >= 10**12:
        out = "".join(_DIGITS[int(d)] for d in whole)
    elif n == 0:
        out = "零"
    else:
        def below_10k(k: int) -> str:
            s, zero = "", False
            for unit, p in (("千", 1000), ("百", 100), ("十", 10), ("", 1)):
                d = k // p % 10
                if d:
                    s += ("零" if zero and s else "") + _DIGITS[d] + unit
                    zero = False
                else:
                    zero = True
            return s
        out, zero = "", False
        for unit, p in (("亿", 10**8), ("万", 10**4), ("", 1)):
            k = n // p % 10**4
            if k:
                out += ("零" if (zero or k < 1000) and out else "") + below_10k(k) + unit
            zero = not k
        if out.startswith("一十"):
            out = out[1:]
    if frac:
        out += "点" + "".join(_DIGITS[int(d)] for d in frac)
    return out


def pinyin_to_kokoro(syllable: str) -> str:
    """One pinyin syllable with a tone number (``zhong1``, ``lü4``, ``lv4``, ``de5``) -> Kokoro zh phonemes."""
    from pypinyin.contrib.tone_convert import to_finals, to_initials

    syl = syllable.strip().lower().replace("u:", "ü").replace("v", "ü")
    tone = syl[-1] if syl[-1:] in _ZH_TONE else "5"
    base = syl.rstrip("012345")
    mark = _ZH_TONE[tone]
    if base in _ZH_SYLLABIC:
        return _ZH_SYLLABIC[base] + mark
    if base in ("er", "ê", "o"):
        return {"er": "ɚ", "ê": "ɛ", "o": "ɔ"}[base] + mark
    ini = to_initials(base, strict=True)
    fin = to_finals(base, strict=True, v_to_u=True)
    if fin not in _ZH_FINAL or (ini and ini not in _ZH_INITIAL):
        raise InputError(f"{syllable!r} is not a pinyin syllable")
    nucleus, coda = _ZH_FINAL[fin]
    if fin == "i" and ini in ("zh", "ch", "sh", "r", "z", "c", "s"):
        nucleus = "ɨ"  # the apical vowel of zhi chi shi ri zi ci si
    return _ZH_INITIAL.get(ini, "") + nucleus + mark + coda


@lru_cache(maxsize=1)
def _g2pm():
    from g2pM import G2pM

    return G2pM()


def zh_pinyin(text: str, context: str | None = None, offset: int = 0) -> list[list[str]]:
    """Words of a run of Chinese characters, each a list of tone-numbered syllables (pypinyin + g2pM).

    ``context`` is the whole sentence the run starts at ``offset`` of (g2pM reads the sentence)."""
    from pypinyin import Style, lazy_pinyin, pinyin
    from pypinyin.seg.mmseg import seg

    context = context if context is not None else text
    words = list(seg.cut(text))
    neural = None
    out, pos = [], offset
    for w in words:
        syl = lazy_pinyin(w, style=Style.TONE3, neutral_tone_with_five=True)
        readings = pinyin(w, style=Style.TONE3, heteronym=True, neutral_tone_with_five=True)[0]
        if len(w) == 1 and len(readings) > 1:
            if neural is None:  # g2pM keeps one item per character when every non-Chinese one is a Chinese comma
                neural = _g2pm()(re.sub(r"[^\u4e00-\u9fff]", "，", context), tone=True, char_split=False)
            guess = neural[pos].replace("u:", "ü") if len(neural) == len(context) else ""
            if guess in readings:
                syl = [guess]
        out.append(syl)
        pos += len(w)
    return out


def phonemize_zh(text: str) -> str:
    """Kokoro phoneme string of Mandarin ``text``: words separated by spaces, punctuation kept."""
    text = re.sub(r"\d+(?:\.\d+)?", _zh_number, " ".join(text.split()))
    if not text:
        raise InputError("nothing to say: the text is empty")
    parts: list[str] = []
    for m in re.finditer(r"[\u4e00-\u9fff]+|[A-Za-z][A-Za-z' -]*|.", text):
        piece = m.group(0)
        if _HAN.fullmatch(piece):
            parts += ["".join(pinyin_to_kokoro(s) for s in word) for word in zh_pinyin(piece, text, m.start())]
        elif piece[0].isascii() and piece[0].isalpha():  # Latin words inside Chinese text: English phonemes
            parts.append(ipa_to_kokoro(espeak_ipa(piece.strip())))
        elif piece in _ZH_PUNCT:
            if parts:
                parts[-1] += _ZH_PUNCT[piece]
    out = " ".join(p for p in parts if p).strip()
    if not out:
        raise InputError(f"nothing to say: {text[:40]!r} has no speakable Chinese")
    return out


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


STRESS = "ˈˌ"
TONES = "→↗↓↘"  # Kokoro's Mandarin tone marks, written after the syllable's nucleus


def timings_from_durations(symbols: str | list[str], frames: np.ndarray, frame_s: float,
                           lead_s: float = 0.0) -> list[PhonemeTiming]:
    """Phoneme timings from a synthesiser's own per-token durations (Kokoro's duration predictor, the frame counts
    its decoder was fed): ``symbols`` are the tokens between the two pad tokens, ``frames`` the durations of the
    pads and the tokens (``len(symbols) + 2``), ``frame_s`` the seconds per frame, and ``lead_s`` how much earlier
    than its frames the synthesiser's sound comes (its measured decoder lead; the edges are moved by it).

    A stress mark is not a sound: its frames go to the symbol after it (the stressed vowel: espeak puts the mark
    just before it); a Mandarin tone mark's go to the nucleus before it. A space between two words gives half its
    frames to each neighbour and stays as a zero-length entry at the boundary; next to punctuation it joins the
    pause. Symbols are those :func:`estimate_timings` gives (stress marks dropped, spaces and punctuation kept;
    tone marks dropped here)."""
    syms = list(symbols)
    f = np.asarray(frames, np.float64).reshape(-1)
    if f.size != len(syms) + 2:
        raise ValueError(f"{f.size} durations for {len(syms)} symbols and two pads")
    total = f.sum() * frame_s
    edges = np.clip(np.concatenate([[0.0], np.cumsum(f)]) * frame_s - lead_s, 0.0, total)
    start, end = edges[1:-2].copy(), edges[2:-1].copy()  # token k (0-based in ``syms``) spans start[k]..end[k]
    out_idx: list[int] = []
    carry = None
    for k, c in enumerate(syms):
        if c in STRESS:
            carry = start[k] if carry is None else carry
            continue
        if c in TONES and out_idx and syms[out_idx[-1]] not in PAUSE_S:  # Mandarin: the tone is its nucleus's
            end[out_idx[-1]] = end[k]
            continue
        if carry is not None:
            start[k], carry = carry, None
        out_idx.append(k)
    keep = out_idx
    for j, k in enumerate(keep):
        if syms[k] != " ":
            continue
        prev_k, next_k = (keep[j - 1] if j > 0 else None), (keep[j + 1] if j + 1 < len(keep) else None)
        pause = lambda i: i is not None and syms[i] in PAUSE_S and syms[i] != " "  # noqa: E731
        if pause(prev_k):
            end[prev_k], start[k] = end[k], end[k]
        elif pause(next_k):
            start[next_k], end[k] = start[k], start[k]
        else:
            mid = 0.5 * (start[k] + end[k])
            if prev_k is not None:
                end[prev_k] = mid
            if next_k is not None:
                start[next_k] = mid
            start[k] = end[k] = mid
    return [PhonemeTiming(syms[k], float(start[k]), float(end[k]), *viseme(syms[k])) for k in keep]


def end_at_silence(timings: list[PhonemeTiming], audio: np.ndarray, sr: int, rel: float = 0.05,
                   min_s: float = 0.04) -> list[PhonemeTiming]:
    """``timings`` with each sound that comes before a pause (punctuation) or at the end ended where the audio
    falls silent (its 25 ms RMS below ``rel`` x the 95th percentile) if that is earlier, at least ``min_s`` after
    its start; the pause starts there. Kokoro's last token before a pause holds frames the decoder fades out in
    (the sound ends well before the final punctuation's frames, about 0.3 s in an exploratory look)."""
    from ..publickb.voice import envelope

    out = [PhonemeTiming(p.symbol, p.start, p.end, p.opening, p.rounding) for p in timings]
    hop = 0.01
    env = envelope(np.asarray(audio, np.float32), sr, hop)
    if not env.size or not out:
        return out
    loud = env > rel * np.percentile(env, 95)
    te = np.arange(env.size) * hop + 0.0125
    is_pause = [p.symbol in PAUSE_S and p.symbol != " " for p in out]
    for k, p in enumerate(out):
        if is_pause[k] or p.symbol == " ":
            continue
        nxt = next((j for j in range(k + 1, len(out)) if out[j].symbol != " "), None)
        if nxt is not None and not is_pause[nxt]:
            continue
        w = np.flatnonzero((te >= p.start) & (te <= p.end) & loud)
        stop = max(float(te[w[-1]]) + 0.0125 if w.size else p.start, p.start + min_s)
        if stop < p.end:
            p.end = stop
            for q in out[k + 1:len(out) if nxt is None else nxt]:  # the spaces in between
                q.start = q.end = stop
            if nxt is not None:
                out[nxt].start = stop
    return out


def estimate_timings(phonemes: str, audio: np.ndarray, sr: int) -> list[PhonemeTiming]:
    """Phoneme start/end times for audio whose synthesiser gives none: the fallback for the backends without an
    alignment of their own: BERT-VITS2's HTTP API, and Kokoro when the ``onnx`` package is missing (its duration
    output cannot be exposed then). Kokoro's timings come from its own duration predictor
    (:func:`timings_from_durations`); festival reports its segments; SadTalker is driven by the audio and reads
    no timings. Off by up to ~0.1 s inside a sentence (docs/reconstruct.md).

    Nominal durations (vowels longer, pauses at punctuation) are fitted to the voiced stretches of the audio:
    pauses are matched to the longest silences in order, and the phonemes between two pauses fill the
    speech between the matching silences proportionally.
    """
    syms = [c for c in phonemes if c not in STRESS]
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
