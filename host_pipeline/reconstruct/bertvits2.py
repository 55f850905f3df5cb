"""BERT-VITS2 through its HTTP API server (``hiyoriUI.py`` of fishaudio/Bert-VITS2), the paper's TTS.

What the server does (read from ``hiyoriUI.py``, Bert-VITS2 master 8f7fbd8), and what this client does about it:

- ``GET /voice`` (all query parameters) and ``POST /voice`` (``text`` and ``style_text`` as form fields, the rest
  in the query; no URL length limit): 16-bit mono ``audio/wav`` at the model's sampling rate;
- a refused request is HTTP 200 with JSON ``{"status": N, "detail": ...}`` (10: model not loaded, 11: no speaker,
  12/13: unknown speaker id/name, 20: auto_translate with AUTO/MIX, 21: MIX syntax): reported with the status;
- ``language`` is ``ZH``/``JP``/``EN`` (what ``infer`` knows; anything else is an HTTP 500), or ``AUTO`` (split by
  language) or ``MIX`` (``[speaker]<ZH>text<EN>text``); upper case only: the client upper-cases it (``ja`` -> JP);
- ``GET /models/info``: the loaded models, each with ``spk2id`` (speaker discovery) and its default language;
- ``uvicorn.run(host="0.0.0.0")`` is hard-coded: the server listens on every interface and has no
  authentication, so this client only talks to a loopback URL and the docs say how to keep the port private.

Phoneme timings (for the face) are estimated from the audio with the espeak-ng phonemes of the text, for English.
"""

from __future__ import annotations

import io
import ipaddress
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import wave

import numpy as np

from ..errors import BackendError, ConfigError, InputError
from .config import ReconstructConfig
from .phonemes import estimate_timings, phonemize
from .tts import Speech, TtsBackend, Voice

LANGUAGES = {"ZH": "ZH", "EN": "EN", "JP": "JP", "JA": "JP", "AUTO": "AUTO", "MIX": "MIX"}
STATUS = {10: "the model is not loaded", 11: "no speaker given", 12: "unknown speaker id", 13: "unknown speaker name",
          20: "auto_translate cannot be used with AUTO or MIX", 21: "MIX syntax error"}
PRIVATE_HINT = ("hiyoriUI.py always listens on 0.0.0.0 (every interface) without authentication: block its port "
                "from other hosts (firewall) or run it in a container published on loopback only "
                "(docker run -p 127.0.0.1:5000:5000 ...); docs/models.md")


def bert_vits2_language(value: str) -> str:
    """The server's spelling of a language (``en`` -> ``EN``, ``ja`` -> ``JP``); empty: the model's default."""
    if not value:
        return ""
    lang = LANGUAGES.get(value.strip().upper())
    if lang is None:
        raise ConfigError(f"reconstruct.bert_vits2_language = {value!r}: BERT-VITS2 knows ZH, JP, EN, AUTO and MIX",
                          hint="e.g. reconstruct.bert_vits2_language=EN (AUTO splits mixed text by language)")
    return lang


class BertVits2Tts(TtsBackend):
    """A BERT-VITS2 HTTP API server on loopback. ``voices()`` are the speakers of ``bert_vits2_model_id`` (from
    ``/models/info``); the speaker is the voice's heaviest name, else ``bert_vits2_speaker``, else
    ``bert_vits2_speaker_id``, else the model's first speaker."""

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
                              "not loopback (the API has no authentication)",
                              hint="use http://127.0.0.1:<port> on the machine that runs hiyoriUI.py; " + PRIVATE_HINT)
        if self.cfg.bert_vits2_method not in ("post", "get"):
            raise ConfigError(f"reconstruct.bert_vits2_method = {self.cfg.bert_vits2_method!r}: post or get")
        self.language = bert_vits2_language(self.cfg.bert_vits2_language)
        self.base = self.cfg.bert_vits2_url.rstrip("/")
        self._speakers: dict[str, int] | None = None
        self._model_language = ""

    # -- speakers ---------------------------------------------------------------------------------------------
    def models_info(self) -> dict:
        """``GET /models/info``: the loaded models by id (as strings), each with ``spk2id`` and ``language``."""
        body, ctype = self._request(f"{self.base}/models/info")
        try:
            info = json.loads(body)
        except ValueError:
            raise BackendError(f"BERT-VITS2 at {self.base}: /models/info returned {ctype or 'no content type'}, "
                               "not JSON (is this hiyoriUI.py?)") from None
        if not isinstance(info, dict):
            raise BackendError(f"BERT-VITS2 at {self.base}: /models/info is not a JSON object")
        return info

    def speakers(self) -> dict[str, int]:
        """Speaker name -> id of the configured model, read once from the server."""
        if self._speakers is None:
            info = self.models_info()
            model = info.get(str(self.cfg.bert_vits2_model_id))
            if not isinstance(model, dict):
                loaded = ", ".join(sorted(info)) or "none"
                raise BackendError(f"BERT-VITS2 at {self.base} has no model {self.cfg.bert_vits2_model_id} loaded "
                                   f"(loaded: {loaded})", hint="set reconstruct.bert_vits2_model_id to a loaded one")
            spk = model.get("spk2id") or {}
            self._speakers = {str(k): int(v) for k, v in sorted(spk.items(), key=lambda kv: kv[1])}
            self._model_language = str(model.get("language") or "")
        return self._speakers

    def voices(self) -> list[str]:
        """The model's speakers, the configured one first; only it when the server cannot be asked."""
        first = [self.cfg.bert_vits2_speaker] if self.cfg.bert_vits2_speaker else []
        try:
            names = list(self.speakers())
        except BackendError:
            if first:
                return first
            raise
        if not first and self.cfg.bert_vits2_speaker_id is not None:
            first = [n for n, i in names_ids(self._speakers) if i == self.cfg.bert_vits2_speaker_id]
        return first + [n for n in names if n not in first]

    def _speaker(self, voice: Voice) -> dict[str, str]:
        if voice.weights:
            name = max(voice.weights, key=voice.weights.get)
        elif self.cfg.bert_vits2_speaker:
            name = self.cfg.bert_vits2_speaker
        elif self.cfg.bert_vits2_speaker_id is not None:
            return {"speaker_id": str(self.cfg.bert_vits2_speaker_id)}
        else:
            names = list(self.speakers())
            if not names:
                raise BackendError(f"BERT-VITS2 model {self.cfg.bert_vits2_model_id} at {self.base} has no speakers")
            name = names[0]
        return {"speaker_name": name}

    # -- synthesis --------------------------------------------------------------------------------------------
    def synthesize(self, text: str, voice: Voice | None = None) -> Speech:
        t0 = time.perf_counter()
        if not text.strip():
            raise InputError("nothing to say: the text is empty")
        voice = voice or Voice()
        cfg = self.cfg
        q = {"model_id": str(cfg.bert_vits2_model_id), **self._speaker(voice), "sdp_ratio": cfg.bert_vits2_sdp_ratio,
             "noise": cfg.bert_vits2_noise, "noisew": cfg.bert_vits2_noisew,
             "length": round(1.0 / (voice.speed * cfg.speed), 3), "style_weight": cfg.bert_vits2_style_weight}
        if self.language:
            q["language"] = self.language
        form = {"text": text}
        if cfg.bert_vits2_style_text:
            form["style_text"] = cfg.bert_vits2_style_text
        if cfg.bert_vits2_method == "get":
            body, ctype = self._request(f"{self.base}/voice?{urllib.parse.urlencode({**form, **q})}")
        else:
            body, ctype = self._request(f"{self.base}/voice?{urllib.parse.urlencode(q)}", form)
        if ctype.startswith("application/json") or body[:1] == b"{":
            raise self._refusal(body, q)
        if "audio" not in ctype and not body.startswith(b"RIFF"):
            raise BackendError(f"BERT-VITS2 at {self.base} returned {ctype or 'no content type'}, not audio/wav")
        audio, sr = _read_wav(body, self.base)
        lang = self.language or self._model_language
        try:
            timings = estimate_timings(phonemize(text, "en"), audio, sr) if lang == "EN" else []
        except ConfigError:
            timings = []
        return Speech(audio, sr, timings, text, time.perf_counter() - t0)

    def _refusal(self, body: bytes, query: dict) -> BackendError:
        try:
            answer = json.loads(body)
        except ValueError:
            return BackendError(f"BERT-VITS2 at {self.base} returned malformed JSON instead of audio")
        status = answer.get("status") if isinstance(answer, dict) else None
        detail = answer.get("detail", "") if isinstance(answer, dict) else answer
        what = STATUS.get(status, "refused")
        hint = "check reconstruct.bert_vits2_model_id / bert_vits2_speaker / bert_vits2_language"
        if status in (11, 12, 13):
            try:
                hint = f"speakers of model {self.cfg.bert_vits2_model_id}: {', '.join(self.speakers()) or 'none'}"
            except BackendError:
                pass
        elif status == 10:
            hint = "set reconstruct.bert_vits2_model_id to a model the server has loaded (GET /models/info)"
        return BackendError(f"BERT-VITS2 at {self.base} refused the request: status {status} ({what}: {detail}; "
                            f"speaker {query.get('speaker_name', query.get('speaker_id'))!r}, "
                            f"language {query.get('language', 'the model default')})", hint=hint)

    def _request(self, url: str, form: dict | None = None) -> tuple[bytes, str]:
        data, headers = None, {}
        if form is not None:  # multipart/form-data, as the endpoint (Form + File parameters) declares
            boundary = uuid.uuid4().hex
            parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n'
                     f"Content-Type: text/plain; charset=utf-8\r\n\r\n{v}\r\n" for k, v in form.items()]
            data = ("".join(parts) + f"--{boundary}--\r\n").encode("utf-8")
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        req = urllib.request.Request(url, data=data, headers=headers, method="POST" if form is not None else "GET")
        try:
            with urllib.request.urlopen(req, timeout=self.cfg.bert_vits2_timeout_s) as r:
                return r.read(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            detail = e.read()[:300].decode("utf-8", "replace").strip()
            why = {500: "a server error: often a language the model does not know (it speaks ZH, JP, EN)",
                   422: "the server rejected the parameters", 404: "no such endpoint (is this hiyoriUI.py?)"}
            raise BackendError(f"BERT-VITS2 at {self.base} answered HTTP {e.code}, {why.get(e.code, 'an error')} "
                               f"({detail})", hint="check model_id/speaker/language against GET /models/info") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise BackendError(f"BERT-VITS2 at {self.base} is unreachable ({reason})",
                               hint="start its API server (python hiyoriUI.py) or set "
                                    "reconstruct.tts_backend=kokoro") from None


def names_ids(speakers: dict[str, int] | None) -> list[tuple[str, int]]:
    return list((speakers or {}).items())


def _read_wav(body: bytes, base: str) -> tuple[np.ndarray, int]:
    try:
        with wave.open(io.BytesIO(body)) as w:
            sr, ch, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise BackendError(f"BERT-VITS2 at {base} returned a malformed WAV ({e})") from None
    if width != 2:
        raise BackendError(f"BERT-VITS2 returned {8 * width}-bit audio; 16-bit PCM expected")
    return np.frombuffer(raw, np.int16).astype(np.float32).reshape(-1, ch).mean(1) / 32768, sr
