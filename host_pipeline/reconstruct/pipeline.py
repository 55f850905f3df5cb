"""The receiver's last room: text + an enrolled user -> speech in their matched voice + talking-face frames.

``Reconstructor.stream`` does it phrase by phrase for live use: the text is cut at punctuation (and after at most
``phrase_max_words`` words, the first phrase after ``phrase_first_words``), a thread synthesises the phrases in
order while the consumer takes the frames of the ones already spoken, and each phrase comes out as its audio
(exactly its frames' duration) and a frame iterator rendered as it is consumed. Joins are made inaudible and
invisible: each phrase's audio is faded in and out over a few milliseconds and its silent edges trimmed to a
natural pause (a sentence end keeps more than a comma, a cut inside a clause almost none), and the first
``phrase_join_frames`` frames of a phrase are blended from the previous phrase's last frame, so the head does not
jump when the animator starts the next phrase.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, InputError
from ..publickb.config import PublicKbConfig
from ..publickb.store import Profile, PublicKb
from .animator import FaceAnimator, frame_count
from .config import ReconstructConfig
from .phonemes import PhonemeTiming
from .sadtalker import load_animator
from .tts import Speech, TtsBackend, Voice, load_tts
from .voicematch import match_voice

log = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"[.!?;:…。！？；：]['\"”’)\]]*$")
_CLAUSE_END = re.compile(r"[,，、—–]['\"”’)\]]*$")
# silence kept at a phrase's edge when it is joined to the next: after a sentence, after a comma, inside a clause
_PAUSE_S = {"sentence": 0.25, "clause": 0.12, "cut": 0.03}
_FADE_S = 0.006


def split_phrases(text: str, first_words: int = 6, max_words: int = 14) -> list[tuple[str, str]]:
    """``text`` cut into (phrase, how it ends) pairs, in order; the end is "sentence", "clause", "cut" (a cut inside a
    clause at the word limit) or "final". Cuts: after sentence punctuation; after a comma once the phrase has
    three words; after ``first_words`` words for the first phrase and ``max_words`` for the others, except that a cut
    that would leave one or two words alone at the end of a clause is not made (the phrase takes them)."""
    words = text.split()
    out: list[tuple[str, str]] = []
    cur: list[str] = []
    for i, w in enumerate(words):
        cur.append(w)
        limit = first_words if not out else max_words
        rest = words[i + 1:]
        clause_rest = next((k for k, r in enumerate(rest, 1) if _SENTENCE_END.search(r) or _CLAUSE_END.search(r)),
                           len(rest))
        if not rest:
            break
        if _SENTENCE_END.search(w) and (len(cur) >= 2 or out):
            out.append((" ".join(cur), "sentence"))
        elif _CLAUSE_END.search(w) and len(cur) >= 3:
            out.append((" ".join(cur), "clause"))
        elif len(cur) >= max(1, limit) and clause_rest > 2:
            out.append((" ".join(cur), "cut"))
        else:
            continue
        cur = []
    if cur:
        out.append((" ".join(cur), "final"))
    return out


@dataclass
class Phrase:
    """One phrase of a streamed utterance: ``audio`` lasts exactly ``n_frames`` frame periods; ``frames`` renders
    them as it is consumed (take them all before asking the stream for the next phrase)."""

    index: int
    text: str
    speech: Speech  # trimmed, faded and padded as joined: audio and phoneme timings of this phrase
    n_frames: int
    frames: Iterator[np.ndarray]
    ready_s: float  # from the start of ``stream`` to this phrase's audio being ready
    last: bool

    @property
    def audio(self) -> np.ndarray:
        return self.speech.audio

    @property
    def sample_rate(self) -> int:
        return self.speech.sample_rate

    @property
    def synthesis_s(self) -> float:  # wall time the TTS spent on this phrase
        return self.speech.synthesis_s


def _edges(audio: np.ndarray, sr: int) -> tuple[int, int]:
    """First and one-past-last sample of the sound in ``audio`` (5-ms frames above 2 % of the peak)."""
    hop = max(1, sr // 200)
    n = audio.size // hop
    if n == 0:
        return 0, audio.size
    rms = np.sqrt((audio[: n * hop].reshape(n, hop) ** 2).mean(1))
    loud = np.flatnonzero(rms > 0.02 * (rms.max() + 1e-9))
    if loud.size == 0:
        return 0, audio.size
    return int(loud[0] * hop), int(min(audio.size, (loud[-1] + 1) * hop))


def joinable(speech: Speech, lead_s: float | None, tail_s: float | None) -> Speech:
    """``speech`` with its leading/trailing silence trimmed to at most ``lead_s``/``tail_s`` (None: kept as is) and
    short fades at both ends, the phoneme timings moved with the audio."""
    sr, a = speech.sample_rate, speech.audio.astype(np.float32)
    on, off = _edges(a, sr)
    start = max(0, on - int(lead_s * sr)) if lead_s is not None else 0
    stop = min(a.size, off + int(tail_s * sr)) if tail_s is not None else a.size
    a = a[start:stop].copy()
    k = min(int(_FADE_S * sr), a.size // 2)
    if k > 0:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, k, dtype=np.float32))
        a[:k] *= ramp
        a[-k:] *= ramp[::-1]
    shift = start / sr
    timings = [PhonemeTiming(p.symbol, p.start - shift, p.end - shift, p.opening, p.rounding)
               for p in speech.phoneme_timings if p.end - shift > 0 and p.start - shift < a.size / sr]
    return Speech(a, sr, timings, speech.text, speech.synthesis_s)


def frame_aligned(speech: Speech, fps: int) -> Speech:
    """``speech`` zero-padded to a whole number of frame periods (the animator then renders exactly that many)."""
    n = frame_count(speech.duration_s, fps)
    total = int(np.floor(n * speech.sample_rate / fps))
    a = np.pad(speech.audio[:total], (0, max(0, total - speech.audio.size))).astype(np.float32)
    return Speech(a, speech.sample_rate, speech.phoneme_timings, speech.text, speech.synthesis_s)


class Reconstructor:
    """Models (TTS, animator, KB) are loaded once; ``speak`` and ``to_mp4`` serve many utterances."""

    def __init__(self, cfg: ReconstructConfig | None = None, kb_cfg: PublicKbConfig | None = None,
                 kb: PublicKb | None = None):
        self.cfg = cfg or ReconstructConfig()
        if self.cfg.fps <= 0 or self.cfg.size < 64 or self.cfg.size % 2:
            raise ConfigError("reconstruct.fps must be positive and reconstruct.size an even number >= 64")
        if self.cfg.phrase_first_words < 1 or self.cfg.phrase_max_words < 1 or self.cfg.phrase_join_frames < 0:
            raise ConfigError("reconstruct.phrase_first_words and phrase_max_words must be at least 1 and "
                              "phrase_join_frames at least 0")
        self.kb = kb or PublicKb(kb_cfg)
        self.tts: TtsBackend = load_tts(self.cfg)
        self.animator: FaceAnimator = load_animator(self.cfg)
        self._voices: dict[tuple, tuple[Voice, dict]] = {}

    def voice_for(self, profile: Profile) -> tuple[Voice, dict]:
        if self.cfg.voice != "auto":
            return Voice.parse(self.cfg.voice), {"method": "configured"}
        if profile.tts_style is not None and self.tts.name == "kokoro" and \
                profile.tts_voice.get("language", "en")[:2] == self.cfg.language[:2]:  # matched at enrollment, signed
            return profile.stored_voice(), {"method": "matched at enrollment (signed profile)", **profile.tts_voice}
        from .voicematch import load_table, policy_key

        table = load_table() if self.tts.name == "kokoro" else []
        # kept in this process only: a cache in the shared database would be unsigned, so anyone able to write
        # it could choose a user's voice; matching is a few vector products
        key = (profile.user_id, json.dumps(profile.voice.to_dict(), sort_keys=True), self.tts.name,
               ",".join(self.tts.voices()), policy_key(self.cfg, table))
        if key not in self._voices:
            self._voices[key] = match_voice(self.tts, profile.voice, table, self.cfg)
        return self._voices[key]

    def speak(self, user_id: str, text: str) -> tuple[Profile, Speech, Iterator[np.ndarray]]:
        """The profile, the synthesised speech, and a frame iterator (frames are rendered as it is consumed)."""
        profile = self.kb.get(user_id)
        voice, _ = self.voice_for(profile)
        speech = self.tts.synthesize(text, voice)
        return profile, speech, self.animator.render(profile, speech)

    def warm(self, user_id: str) -> None:
        """Do once what the first utterance of ``user_id`` would otherwise wait for: the voice match, the TTS's first
        run and the animator's per-profile set-up (one frame of silence)."""
        profile = self.kb.get(user_id)
        voice, _ = self.voice_for(profile)
        speech = frame_aligned(joinable(self.tts.synthesize("Hello.", voice), None, None), self.cfg.fps)
        next(iter(self._joined(self.animator.render(profile, speech), [], 0)), None)

    def begin(self, user_id: str, text: str, start: bool = True) -> PhraseStream:
        """The utterance's phrase stream, synthesising from now on (a receiver calls this as soon as a message is
        decoded, so its first phrase is ready when the previous message's frames are done); iterate it for the
        phrases. ``start=False``: the profile and voice are looked up now (in this thread), synthesis starts at
        ``PhraseStream.start`` or the first iteration."""
        cfg = self.cfg
        profile = self.kb.get(user_id)
        voice, _ = self.voice_for(profile)
        phrases = split_phrases(text, cfg.phrase_first_words, cfg.phrase_max_words)
        if not phrases:
            raise InputError(f"nothing to say: {text!r} has no words")
        return PhraseStream(self, profile, voice, text, phrases, start)

    def stream(self, user_id: str, text: str) -> Iterator[Phrase]:
        """The utterance phrase by phrase (see the module's docstring): the first phrase is rendered while the rest
        is synthesised. Frames and audio of consecutive phrases join without jumps or clicks."""
        return iter(self.begin(user_id, text))

    @staticmethod
    def _joined(frames: Iterator[np.ndarray], last: list[np.ndarray], k: int) -> Iterator[np.ndarray]:
        """``frames`` with the first ``k`` blended from ``last[0]`` (the previous phrase's last frame); the last
        frame seen is kept in ``last`` for the next phrase."""
        prev = last[0].astype(np.float32) if last and k > 0 else None
        for j, f in enumerate(frames):
            if prev is not None and j < k:
                w = (j + 1) / (k + 1)
                f = np.clip(w * f.astype(np.float32) + (1 - w) * prev + 0.5, 0, 255).astype(np.uint8)
            last[:] = [f]
            yield f

    def to_mp4(self, user_id: str, text: str, out: str | Path,
               on_frame: Callable[[int, np.ndarray], None] | None = None) -> tuple[Speech, int]:
        """The utterance, streamed phrase by phrase, into one mp4; (the joined speech, frames written)."""
        from .output import Mp4Writer

        writer, parts, timings, offset, synth = None, [], [], 0.0, 0.0
        try:
            for ph in self.stream(user_id, text):
                if writer is None:
                    writer = Mp4Writer(out, ph.sample_rate, self.cfg.fps)
                writer.add(ph.audio, ph.frames, on_frame)
                parts.append(ph.audio)
                timings += [PhonemeTiming(p.symbol, p.start + offset, p.end + offset, p.opening, p.rounding)
                            for p in ph.speech.phoneme_timings]
                synth += ph.synthesis_s
                offset += ph.audio.size / ph.sample_rate
            n = writer.n_frames
            writer.close()
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        audio = np.concatenate(parts)
        return Speech(audio, writer.sample_rate, timings, text, synth), n


class PhraseStream:
    """One utterance being spoken: a thread synthesises its phrases in order from construction on, at most two
    ahead of the consumer; iterating gives the ``Phrase``s (trimmed, faded, frame-aligned, their frames joined to
    the previous phrase's). ``close`` (or the end of iteration) stops the thread. Iterate once."""

    AHEAD = 2

    def __init__(self, recon: Reconstructor, profile: Profile, voice: Voice, text: str,
                 phrases: list[tuple[str, str]], start: bool = True):
        self.recon, self.profile, self.voice, self.text, self.phrases = recon, profile, voice, text, phrases
        self.t_created = time.perf_counter()
        self.t0: float | None = None  # when synthesis started
        self._ready: queue.Queue = queue.Queue(maxsize=self.AHEAD)
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._synthesise, name="tts-phrases", daemon=True)
        if start:
            self.start()

    def start(self) -> None:
        """Start synthesising (once)."""
        if self.t0 is None:
            self.t0 = time.perf_counter()
            self._worker.start()

    def _synthesise(self) -> None:
        try:
            for i, (phrase, _) in enumerate(self.phrases):
                if self._stop.is_set():
                    return
                try:
                    speech = self.recon.tts.synthesize(phrase, self.voice)
                except InputError:  # a phrase of punctuation only: nothing to say, the rest goes on
                    speech = None
                self._ready.put((i, speech, time.perf_counter() - self.t0))
            self._ready.put(None)
        except BaseException as e:  # handed to the consumer, which raises it
            self._ready.put(e)

    def __iter__(self) -> Iterator[Phrase]:
        self.start()
        cfg, phrases = self.recon.cfg, self.phrases
        last_frame: list[np.ndarray] = []
        spoken = 0
        try:
            while True:
                item = self._ready.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                i, speech, ready_s = item
                if speech is None:
                    continue
                before = phrases[i - 1][1] if i > 0 else None
                lead = None if before is None else _PAUSE_S[before] / 2
                tail = None if phrases[i][1] == "final" else _PAUSE_S[phrases[i][1]] / 2
                speech = frame_aligned(joinable(speech, lead, tail), cfg.fps)
                n = frame_count(speech.duration_s, cfg.fps)
                frames = self.recon._joined(self.recon.animator.render(self.profile, speech), last_frame,
                                            cfg.phrase_join_frames)
                yield Phrase(spoken, phrases[i][0], speech, n, frames, ready_s, i == len(phrases) - 1)
                spoken += 1
        finally:
            self.close()
        if spoken == 0:
            raise InputError(f"nothing to say: {self.text!r} has no speakable words")

    def close(self) -> None:
        """Stop synthesising; returns once the thread has finished the phrase it was on."""
        self._stop.set()
        while self.t0 is not None and self._worker.is_alive():  # unblock a worker waiting on the full queue
            try:
                self._ready.get(timeout=0.05)
            except queue.Empty:
                pass
