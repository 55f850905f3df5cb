"""A minimal client of Firefox's Marionette protocol (length-prefixed JSON over TCP): enough to drive headless Firefox
in the tests without a WebDriver server or a Python dependency."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox")
PREFS = {"marionette.port": 0, "media.autoplay.default": 0, "media.autoplay.blocking_policy": 0,
         "browser.shell.checkDefaultBrowser": False, "datareporting.policy.dataSubmissionEnabled": False,
         "toolkit.telemetry.reportingpolicy.firstRun": False, "app.update.disabledForTesting": True,
         "browser.aboutwelcome.enabled": False}


class Firefox:
    """Headless Firefox with a fresh profile; ``execute(js)`` runs a script in the page and returns its value."""

    def __init__(self, width: int = 1100, height: int = 900, timeout_s: float = 30.0):
        if FIREFOX is None:
            raise RuntimeError("Firefox is not installed")
        self.profile = Path(tempfile.mkdtemp(prefix="lgmtsc-firefox-"))
        (self.profile / "user.js").write_text("".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n"
                                                      for k, v in PREFS.items()))
        self.proc = subprocess.Popen([FIREFOX, "--headless", "--marionette", "--no-remote", "--profile",
                                      str(self.profile), "--width", str(width), "--height", str(height)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = self.profile / "MarionetteActivePort"
        deadline = time.monotonic() + timeout_s
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("Firefox did not start Marionette")
            time.sleep(0.1)
        self.sock = socket.create_connection(("127.0.0.1", int(port_file.read_text())), timeout=timeout_s)
        self._buf = b""
        self._id = 0
        self._read()  # the greeting
        self.command("WebDriver:NewSession", {"capabilities": {"alwaysMatch": {"acceptInsecureCerts": True}}})

    def _read(self):
        while b":" not in self._buf:
            self._buf += self._recv()
        n, rest = self._buf.split(b":", 1)
        while len(rest) < int(n):
            rest += self._recv()
        self._buf = rest[int(n):]
        return json.loads(rest[: int(n)])

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise RuntimeError("Firefox closed the Marionette connection")
        return chunk

    def command(self, name: str, params: dict | None = None):
        self._id += 1
        data = json.dumps([0, self._id, name, params or {}]).encode()
        self.sock.sendall(str(len(data)).encode() + b":" + data)
        while True:
            kind, msg_id, error, result = self._read()
            if kind == 1 and msg_id == self._id:
                break
        if error:
            raise RuntimeError(f"{name}: {error.get('error')}: {error.get('message')}")
        return result.get("value") if isinstance(result, dict) else result

    def goto(self, url: str) -> None:
        self.command("WebDriver:Navigate", {"url": url})

    def execute(self, script: str, args: list | None = None):
        return self.command("WebDriver:ExecuteScript", {"script": script, "args": args or []})

    def wait_for(self, js_condition: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.execute(f"return Boolean({js_condition});"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"not true after {timeout_s:g} s: {js_condition}")
            time.sleep(0.1)

    def screenshot(self, path: Path) -> None:
        import base64

        Path(path).write_bytes(base64.b64decode(self.command("WebDriver:TakeScreenshot", {"full": False})))

    def close(self) -> None:
        try:
            if getattr(self, "sock", None) is not None:
                try:
                    self.command("Marionette:Quit", {"flags": ["eForceQuit"]})
                except Exception:  # noqa: BLE001  (quitting: the socket may already be gone)
                    pass
                self.sock.close()
        finally:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)
