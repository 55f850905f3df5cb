"""The receiver's live view: a local web page that plays the reconstructed talking face with its sound as the
receiver produces it, and lists every message with its text (word differences against what was sent, when the
transmitter's log is at hand), measured SNR, prompt class and verdict (refused and forged messages included).

Standard library only (``http.server`` in a thread). The page (``static/view.html``, ``view.js``) opens one
Server-Sent Events stream, ``/events``, carrying JSON events:

- ``hello``: ``{"fps", "messages": [...]}`` (what was received before the page connected);
- ``message``: one received message (sent again when its state changes: decoded, then rendered or refused);
- ``phrase``: ``{"key", "index", "frame0", "n_frames", "fps", "sample_rate", "text", "wav"}``, a phrase's audio
  as a base64 16-bit WAV, sent before its frames; frame ``frame0 + j`` plays ``j / fps`` after the phrase starts;
- ``frame``: ``{"key", "i", "jpeg"}``, one frame as a base64 JPEG, sent as soon as it is rendered;
- ``end``: ``{"key", "n_frames"}``, the utterance is complete.

The page schedules each phrase's audio on Web Audio right after the previous one and shows each frame at its time
on the same clock (a browser that has not allowed sound yet gets the frames on its own clock), so sound and face
stay together however bursty their arrival. Frames are encoded only while a page is connected.
"""

from __future__ import annotations

import base64
import io
import json
import queue
import threading
import time
import wave
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import BackendError, ConfigError
from .protocol import FileTail

DEFAULT_ADDR = "127.0.0.1:8765"
_STATIC = {"/": ("view.html", "text/html; charset=utf-8"), "/view.js": ("view.js", "text/javascript; charset=utf-8")}
_HISTORY = 200  # messages kept for pages that connect later


def parse_addr(addr: str | None) -> tuple[str, int]:
    """``PORT``, ``HOST:PORT`` or ``HOST`` (port 8765); 127.0.0.1 unless a host is given."""
    text = (addr or DEFAULT_ADDR).strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = (text, "8765") if not text.isdigit() else ("127.0.0.1", text)
    host = host.strip("[]") or "127.0.0.1"
    try:
        p = int(port)
        if not 0 <= p <= 65535:
            raise ValueError
    except ValueError:
        raise ConfigError(f"bad live-view address {addr!r}", hint="PORT or HOST:PORT, e.g. 127.0.0.1:8765") from None
    return host, p


def check_free(addr: str | None) -> None:
    """BackendError now if the live view's address cannot be served (before the loopback starts anything)."""
    import socket

    host, port = parse_addr(addr)
    if port == 0:
        return
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as e:
        raise BackendError(f"cannot serve the live view on {host}:{port}: {e.strerror or e}",
                           hint="another one running? choose an address with --view HOST:PORT (or port 0)") from None


def wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def jpeg_bytes(frame: np.ndarray, quality: int = 80) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(frame[..., :3])).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def word_diff_html(reference: str | None, text: str | None) -> str | None:
    from .report_html import word_diff

    return word_diff(reference, text) if text is not None else None


class ViewServer:
    """Serves the page and fans events out to every connected page. ``publish``-style methods are cheap when no
    page is connected and never block the receiver: a page that falls too far behind is dropped (it reconnects)."""

    def __init__(self, addr: str | None = None, fps: int = 25, sent_log: Path | None = None,
                 on_page: Callable[[int], None] | None = None):
        """``on_page(n)``: called when a page connects, with the number now connected."""
        host, port = parse_addr(addr)
        self.fps, self.on_page = fps, on_page
        self._clients: list[queue.Queue] = []
        self._lock = threading.Lock()
        self._messages: dict[str, dict] = {}
        self._sent_tail = FileTail(Path(sent_log)) if sent_log else None
        self._sent: dict[tuple, dict] = {}
        self.counts = {"pages": 0, "frames": 0, "phrases": 0, "messages": 0}
        handler = type("Handler", (_Handler,), {"view": self})
        try:
            self.httpd = ThreadingHTTPServer((host, port), handler)
        except OSError as e:
            raise BackendError(f"cannot serve the live view on {host}:{port}: {e.strerror or e}",
                               hint="another one running? "
                                    "choose an address with --view HOST:PORT (or port 0)") from None
        self.httpd.daemon_threads = True
        self.host, self.port = self.httpd.server_address[:2]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="live-view", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def watched(self) -> bool:
        return bool(self._clients)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        with self._lock:
            for q in self._clients:
                q.put(None)
            self._clients.clear()

    # ------------------------------------------------------------------------------------------- events
    def _publish(self, kind: str, data: dict) -> None:
        line = f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
        with self._lock:
            for q in list(self._clients):
                try:
                    q.put_nowait(line)
                except queue.Full:  # a page this far behind is dropped; EventSource reconnects it
                    self._clients.remove(q)
                    q.queue.clear()
                    q.put_nowait(None)

    def message(self, rec, stage: str) -> None:
        """A received message (an ``RxRecord``) at ``stage``: "decoded" or "done"."""
        key = f"{rec.sender_id}_{rec.seq}"
        sent = self._sent_record(rec.sender_id, rec.seq)
        sent_text = sent.get("sent_text") if sent else None
        reference = sent_text if sent_text is not None else rec.received_text
        m = {"key": key, "seq": rec.seq, "sender_id": rec.sender_id, "user": rec.user, "stage": stage,
             "status": rec.status if stage == "done" else ("decoded" if rec.status == "ok" else rec.status),
             "reason": rec.reason, "verified": rec.verified, "snr_db": rec.snr_db, "prompt_class": rec.prompt_class,
             "transcript": sent.get("transcript") if sent else None, "sent_text": sent_text,
             "received_text": rec.received_text, "restored_text": rec.restored_text,
             "received_diff": word_diff_html(sent_text, rec.received_text) if sent_text is not None else None,
             "restored_diff": word_diff_html(reference, rec.restored_text), "latency_s": self._latency(rec, sent),
             "video": rec.video, "t": time.time()}
        with self._lock:
            self._messages[key] = m
            while len(self._messages) > _HISTORY:
                self._messages.pop(next(iter(self._messages)))
        self.counts["messages"] += stage == "done"
        self._publish("message", m)

    @staticmethod
    def _latency(rec, sent: dict | None) -> dict:
        """The receiver's stages, and with the transmitter's record its stages, the air and the end-to-end time."""
        lat = dict(rec.latency_s)
        if sent:
            air = {"link_s": round(rec.t_arrived - sent["t_sent"], 3)} if sent.get("t_sent") else {}
            lat = {**(sent.get("latency_s") or {}), **air, **lat}
            if rec.t_first_frame and sent.get("t_speech_end"):
                lat["e2e_first_frame_s"] = round(rec.t_first_frame - sent["t_speech_end"], 3)
        return lat

    def phrase(self, key: str, index: int, frame0: int, phrase) -> None:
        """A phrase's audio (``reconstruct.pipeline.Phrase``), before its frames."""
        self.counts["phrases"] += 1
        if not self.watched:
            return
        self._publish("phrase", {"key": key, "index": index, "frame0": frame0, "n_frames": phrase.n_frames,
                                 "fps": self.fps, "sample_rate": phrase.sample_rate, "text": phrase.text,
                                 "wav": base64.b64encode(wav_bytes(phrase.audio, phrase.sample_rate)).decode()})

    def frame(self, key: str, i: int, frame: np.ndarray) -> None:
        self.counts["frames"] += 1
        if not self.watched:
            return
        self._publish("frame", {"key": key, "i": i, "jpeg": base64.b64encode(jpeg_bytes(frame)).decode()})

    def end(self, key: str, n_frames: int) -> None:
        self._publish("end", {"key": key, "n_frames": n_frames})

    def _sent_record(self, sender_id: int, seq: int) -> dict | None:
        if self._sent_tail is None:
            return None
        for e in self._sent_tail.events():
            if e.get("event") == "sent":
                self._sent[(e.get("sender_id"), e.get("seq"))] = e
        return self._sent.get((sender_id, seq))

    # ------------------------------------------------------------------------------------------- pages
    def _subscribe(self) -> queue.Queue:
        q: queue.Queue = queue.Queue(maxsize=3000)
        hello = {"fps": self.fps, "messages": list(self._messages.values())}
        q.put(f"event: hello\ndata: {json.dumps(hello, ensure_ascii=False)}\n\n".encode())
        with self._lock:
            self._clients.append(q)
        self.counts["pages"] += 1
        if self.on_page:
            self.on_page(len(self._clients))
        return q

    def _unsubscribe(self, q: queue.Queue) -> None:
        with self._lock:
            if q in self._clients:
                self._clients.remove(q)


class _Handler(BaseHTTPRequestHandler):
    view: ViewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args) -> None:  # no access log on the receiver's console
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0]
        if path == "/events":
            return self._events()
        if path not in _STATIC:
            self.send_error(404)
            return
        name, ctype = _STATIC[path]
        body = resources.files(__package__).joinpath("static", name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        q = self.view._subscribe()
        try:
            while True:
                try:
                    item = q.get(timeout=10)
                except queue.Empty:
                    item = b": keep-alive\n\n"
                if item is None:
                    return
                self.wfile.write(item)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            return
        finally:
            self.view._unsubscribe(q)
