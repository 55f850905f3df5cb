"""BERT-VITS2 client against a local server that answers as ``hiyoriUI.py`` (fishaudio/Bert-VITS2 master 8f7fbd8)
does, written from its code: GET/POST /voice, the HTTP-200 JSON status refusals, FastAPI's 422 on a missing
parameter, HTTP 500 from ``infer`` on a language it does not know, and /models/info. The audio is a tone (this
tests the protocol, not synthesis)."""

from __future__ import annotations

import email.parser
import email.policy
import io
import json
import socket
import threading
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from host_pipeline.errors import BackendError, ConfigError
from host_pipeline.reconstruct.bertvits2 import BertVits2Tts, bert_vits2_language
from host_pipeline.reconstruct.config import ReconstructConfig
from host_pipeline.reconstruct.tts import Voice

MODELS = {0: {"spk2id": {"alice": 0, "bob": 1}, "language": "ZH", "sr": 44100}}


class HiyoriUI(BaseHTTPRequestHandler):
    """What hiyoriUI.py answers (its ``_voice``, ``voice`` GET/POST and ``get_loaded_models_info``)."""

    seen: list[dict] = []

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, obj, code: int = 200) -> None:
        self._send(code, json.dumps(obj, ensure_ascii=False).encode(), "application/json")

    def do_GET(self):  # noqa: N802
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path == "/models/info":
            return self._json({str(i): {"config_path": "c.json", "model_path": "G.pth", "device": "cpu",
                                        "language": m["language"], "spk2id": m["spk2id"],
                                        "id2spk": {str(v): k for k, v in m["spk2id"].items()}, "version": "2.3"}
                               for i, m in MODELS.items()})
        if u.path == "/voice":
            return self._voice(q, "GET")
        self._json({"detail": "Not Found"}, 404)

    def do_POST(self):  # noqa: N802
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + body)
        if msg.is_multipart():  # Form(...) fields
            for part in msg.iter_parts():
                q[part.get_param("name", header="content-disposition")] = part.get_content()
        self._voice(q, "POST")

    def _voice(self, q: dict, method: str) -> None:
        HiyoriUI.seen.append({**q, "method": method})
        missing = [k for k in ("text", "model_id") if k not in q]
        if missing:  # FastAPI validation
            return self._json({"detail": [{"loc": ["query", k], "msg": "field required"} for k in missing]}, 422)
        model = MODELS.get(int(q["model_id"]))
        if model is None:
            return self._json({"status": 10, "detail": f"模型model_id={q['model_id']}未加载"})
        name, sid = q.get("speaker_name"), q.get("speaker_id")
        if name is None and sid is None:
            return self._json({"status": 11, "detail": "请提供speaker_name或speaker_id"})
        if name is None:
            ids = {v: k for k, v in model["spk2id"].items()}
            if int(sid) not in ids:
                return self._json({"status": 12, "detail": f"角色speaker_id={sid}不存在"})
            name = ids[int(sid)]
        if name not in model["spk2id"]:
            return self._json({"status": 13, "detail": f"角色speaker_name={name}不存在"})
        lang = q.get("language") or model["language"]
        if lang not in ("ZH", "JP", "EN", "AUTO", "MIX"):  # infer() -> clean_text() has no such language
            return self._send(500, b"Internal Server Error", "text/plain; charset=utf-8")
        if lang == "MIX" and not q["text"].startswith("["):
            return self._json({"status": 21, "detail": "MIX语法错误"})
        pieces = [t for t in q["text"].replace("\n", "").lstrip().split("||") if t]
        seconds = 0.06 * sum(len(t) for t in pieces) * float(q.get("length", 1))
        n = int(model["sr"] * seconds)
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(model["sr"])
            t = np.arange(n) / model["sr"]
            w.writeframes((0.3 * np.sin(2 * np.pi * 200 * t) * 32767).astype(np.int16).tobytes())
        self._send(200, buf.getvalue(), "audio/wav")

    def log_message(self, *a):
        pass


@pytest.fixture
def server():
    HiyoriUI.seen = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), HiyoriUI)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    srv.server_close()


def _tts(url: str, **kw) -> BertVits2Tts:
    return BertVits2Tts(ReconstructConfig(tts_backend="bert_vits2", bert_vits2_url=url, **kw))


def test_post_with_discovered_speaker_and_style_text(server):
    tts = _tts(server, bert_vits2_style_text="开心", bert_vits2_language="en")
    assert tts.voices() == ["alice", "bob"]  # from /models/info
    s = tts.synthesize("Hello there, friend.")
    q = HiyoriUI.seen[-1]
    assert q["method"] == "POST" and q["text"] == "Hello there, friend." and q["style_text"] == "开心"
    assert q["speaker_name"] == "alice" and q["language"] == "EN" and q["model_id"] == "0"
    assert s.sample_rate == 44100 and s.duration_s == pytest.approx(0.06 * 20, abs=0.01)
    assert s.phoneme_timings and s.phoneme_timings[-1].end <= s.duration_s + 1e-6


def test_get_with_speaker_id_speed_and_voice(server):
    _tts(server, bert_vits2_method="get", bert_vits2_speaker_id=1).synthesize("Hi.")
    q = HiyoriUI.seen[-1]
    assert q["method"] == "GET" and q["speaker_id"] == "1" and "speaker_name" not in q
    _tts(server, bert_vits2_method="get", bert_vits2_speaker_id=1).synthesize("Hi.", Voice({"bob": 1.0}, speed=1.25))
    q = HiyoriUI.seen[-1]
    assert q["speaker_name"] == "bob" and float(q["length"]) == pytest.approx(0.8)
    assert _tts(server, bert_vits2_speaker_id=1).voices()[0] == "bob"
    _tts(server, bert_vits2_language="").synthesize("你好")
    assert "language" not in HiyoriUI.seen[-1]  # the model's default (ZH) is used by the server


@pytest.mark.parametrize("kw,match", [
    ({"bert_vits2_speaker": "carol"}, r"(?s)status 13 \(unknown speaker name.*speakers of model 0: alice, bob"),
    ({"bert_vits2_speaker_id": 7}, r"status 12 \(unknown speaker id"),
    ({"bert_vits2_model_id": 3, "bert_vits2_speaker": "alice"}, r"status 10 \(the model is not loaded"),
    ({"bert_vits2_language": "mix"}, r"status 21 \(MIX syntax error"),
])
def test_json_status_refusals_are_reported_with_their_status(server, kw, match):
    with pytest.raises(BackendError, match=match):
        _tts(server, **kw).synthesize("Hello.")


def test_language_is_upper_cased_and_unknown_ones_refused(server):
    assert [bert_vits2_language(v) for v in ("en", "zh", "ja", "jp", "auto", "Mix", "")] == \
        ["EN", "ZH", "JP", "JP", "AUTO", "MIX", ""]
    with pytest.raises(ConfigError, match="ZH, JP, EN, AUTO and MIX"):
        _tts(server, bert_vits2_language="de")
    tts = _tts(server, bert_vits2_language="EN")
    tts.language = "DE"  # what the server does with a language infer() lacks
    with pytest.raises(BackendError, match="HTTP 500, a server error: often a language"):
        tts.synthesize("Hallo.")
    with pytest.raises(BackendError, match="no model 5 loaded .loaded: 0"):
        _tts(server, bert_vits2_model_id=5).voices()


def test_unreachable_and_non_loopback():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(BackendError, match="unreachable"):
        _tts(f"http://127.0.0.1:{port}", bert_vits2_timeout_s=2).synthesize("Hello.")
    assert _tts(f"http://127.0.0.1:{port}", bert_vits2_speaker="x", bert_vits2_timeout_s=2).voices() == ["x"]
    with pytest.raises(ConfigError, match="loopback") as e:
        _tts("http://192.0.2.1:5000")
    assert "0.0.0.0" in e.value.hint
