"""BERT-VITS2 HTTP client."""

from __future__ import annotations

import io
import threading
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from host_pipeline.errors import BackendError, ConfigError
from host_pipeline.reconstruct.bertvits2 import BertVits2Tts
from host_pipeline.reconstruct.config import ReconstructConfig
from host_pipeline.reconstruct.tts import Voice


class _FakeBertVits2(BaseHTTPRequestHandler):
    """Protocol/error-handling fake of the BERT-VITS2 API: a tone, NOT synthesis."""

    seen: list[dict] = []
    mode = "ok"

    def do_GET(self):  # noqa: N802
        q = parse_qs(urlparse(self.path).query)
        _FakeBertVits2.seen.append({k: v[0] for k, v in q.items()})
        if self.mode == "error":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"model not found")
            return
        if self.mode == "html":
            body, ctype = b"<html>hi</html>", "text/html"
        else:
            buf = io.BytesIO()
            with wave.open(buf, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(44100)
                t = np.arange(44100) / 44100
                w.writeframes((0.3 * np.sin(2 * np.pi * 200 * t) * 32767).astype(np.int16).tobytes())
            body, ctype = buf.getvalue(), "audio/wav"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture
def fake_server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _FakeBertVits2)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_bert_vits2_protocol(fake_server):
    _FakeBertVits2.mode, _FakeBertVits2.seen = "ok", []
    cfg = ReconstructConfig(tts_backend="bert_vits2", bert_vits2_url=f"http://127.0.0.1:{fake_server.server_port}",
                            bert_vits2_speaker="alice", bert_vits2_model_id=3)
    s = BertVits2Tts(cfg).synthesize("Hello there.", Voice({"alice": 1.0}, speed=1.25))
    q = _FakeBertVits2.seen[-1]
    assert q["text"] == "Hello there." and q["speaker_name"] == "alice" and q["model_id"] == "3"
    assert q["language"] == "EN" and float(q["length"]) == pytest.approx(0.8)
    assert s.sample_rate == 44100 and s.duration_s == pytest.approx(1.0)


@pytest.mark.parametrize("mode,match", [("error", "HTTP 500"), ("html", "not audio")])
def test_bert_vits2_bad_answers(fake_server, mode, match):
    _FakeBertVits2.mode = mode
    cfg = ReconstructConfig(tts_backend="bert_vits2", bert_vits2_url=f"http://127.0.0.1:{fake_server.server_port}")
    with pytest.raises(BackendError, match=match):
        BertVits2Tts(cfg).synthesize("Hello.")


def test_bert_vits2_unreachable_and_non_loopback():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    cfg = ReconstructConfig(bert_vits2_url=f"http://127.0.0.1:{port}", bert_vits2_timeout_s=2)
    with pytest.raises(BackendError, match="unreachable"):
        BertVits2Tts(cfg).synthesize("Hello.")
    with pytest.raises(ConfigError, match="loopback"):
        BertVits2Tts(ReconstructConfig(bert_vits2_url="http://192.0.2.1:5000"))
