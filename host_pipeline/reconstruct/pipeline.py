"""The receiver's last room: text + an enrolled user -> speech in their matched voice + talking-face frames."""

from __future__ import annotations

import json

import logging
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..errors import ConfigError
from ..publickb.config import PublicKbConfig
from ..publickb.store import Profile, PublicKb
from .animator import FaceAnimator
from .config import ReconstructConfig
from .sadtalker import load_animator
from .tts import Speech, TtsBackend, Voice, load_tts
from .voicematch import match_voice

log = logging.getLogger(__name__)


class Reconstructor:
    """Models (TTS, animator, KB) are loaded once; ``speak`` and ``to_mp4`` serve many utterances."""

    def __init__(self, cfg: ReconstructConfig | None = None, kb_cfg: PublicKbConfig | None = None,
                 kb: PublicKb | None = None):
        self.cfg = cfg or ReconstructConfig()
        if self.cfg.fps <= 0 or self.cfg.size < 64 or self.cfg.size % 2:
            raise ConfigError("reconstruct.fps must be positive and reconstruct.size an even number >= 64")
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

    def to_mp4(self, user_id: str, text: str, out: str | Path,
               on_frame: Callable[[int, np.ndarray], None] | None = None) -> tuple[Speech, int]:
        from .output import write_mp4

        _, speech, frames = self.speak(user_id, text)
        return speech, write_mp4(out, frames, speech, self.cfg.fps, on_frame)
