"""BERT-VITS2 through its HTTP API server (``hiyoriUI.py`` of fishaudio/Bert-VITS2), the paper's TTS."""

from __future__ import annotations

import io
import ipaddress
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import wave

import numpy as np

from ..errors import BackendError, ConfigError, InputError
from .config import ReconstructConfig
from .phonemes import estimate_timings, phonemize
from .tts import Speech, TtsBackend, Voice


class BertVits2Tts(TtsBackend):
    """A BERT-VITS2 HTTP API server: ``GET /voice?text=..&model_id=..&speaker_name=..&language=..`` -> audio/wav.

    The URL must point at loopback (the server has no authentication). Phoneme timings are estimated from the
    audio with the espeak-ng phonemes of the text (the API returns none).
    """

    name = "bert_vits2"

    def __init__(self, cfg: ReconstructConfig | None = None):
        self.cfg = cfg or ReconstructConfig()
        u = urllib.parse.urlparse(self.cfg.bert_vits2_url)
        if u.scheme != "http" or not u.hostname:
            raise ConfigError(f"reconstruct.bert_vits2_url = {self.cfg.bert_vits2_url!r} is not an http:// URL")
        try:
            addrs = {ai[4][0] for ai in socket.getaddrinfo(u.hostname, u.port or 80)}
        except socket.gaierror:
            raise BackendError(f"BERT-VITS2 host {u.hostname!r} does not resolve") from None
        if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs):
            raise ConfigError(f"reconstruct.bert_vits2_url points at {u.hostname} ({', '.join(sorted(addrs))}), "
                              "not loopback", hint="run hiyoriUI.py bound to 127.0.0.1 and use http://127.0.0.1:5000")
        self.base = self.cfg.bert_vits2_url.rstrip("/")

    def voices(self) -> list[str]:
        return [self.cfg.bert_vits2_speaker] if self.cfg.bert_vits2_speaker else []

    def synthesize(self, text: str, voice: Voice | None = None) -> Speech:
        t0 = time.perf_counter()
        if not text.strip():
            raise InputError("nothing to say: the text is empty")
        voice = voice or Voice()
        speaker = max(voice.weights, key=voice.weights.get) if voice.weights else self.cfg.bert_vits2_speaker
        q = {"text": text, "model_id": self.cfg.bert_vits2_model_id, "speaker_name": speaker, "sdp_ratio": 0.2,
             "noise": 0.2, "noisew": 0.9, "length": round(1.0 / (voice.speed * self.cfg.speed), 3),
             "language": self.cfg.bert_vits2_language}
        url = f"{self.base}/voice?{urllib.parse.urlencode(q)}"
        try:
            with urllib.request.urlopen(url, timeout=self.cfg.bert_vits2_timeout_s) as r:
                ctype, body = r.headers.get("Content-Type", ""), r.read()
        except urllib.error.HTTPError as e:
            detail = e.read()[:200].decode("utf-8", "replace")
            raise BackendError(f"BERT-VITS2 at {self.base} answered HTTP {e.code} ({detail.strip()})",
                               hint="check model_id/speaker_name/language against the server's models") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise BackendError(f"BERT-VITS2 at {self.base} is unreachable ({reason})",
                               hint="start its API server (python hiyoriUI.py) or set "
                                    "reconstruct.tts_backend=kokoro") from None
        if "audio" not in ctype and not body.startswith(b"RIFF"):
            raise BackendError(f"BERT-VITS2 at {self.base} returned {ctype or 'no content type'}, not audio/wav")
        try:
            with wave.open(io.BytesIO(body)) as w:
                sr, ch, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
                raw = w.readframes(w.getnframes())
        except (wave.Error, EOFError) as e:
            raise BackendError(f"BERT-VITS2 at {self.base} returned a malformed WAV ({e})") from None
        if width != 2:
            raise BackendError(f"BERT-VITS2 returned {8 * width}-bit audio; 16-bit PCM expected")
        audio = np.frombuffer(raw, np.int16).astype(np.float32).reshape(-1, ch).mean(1) / 32768
        try:
            timings = estimate_timings(phonemize(text, "en"), audio, sr) if self.cfg.bert_vits2_language == "EN" else []
        except ConfigError:
            timings = []
        return Speech(audio, sr, timings, text, time.perf_counter() - t0)
