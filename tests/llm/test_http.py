"""The OpenAI-compatible HTTP backend against loopback servers: a closed port, malformed JSON, a server that
sleeps past the timeout, retryable and non-retryable errors, and the request it sends."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from host_pipeline.llm import LlmConfig, LlmError, LlmRejected, LlmTimeout, load_llm
from host_pipeline.llm.backends import OpenAIBackend

MSG = [{"role": "user", "content": "hi"}]


class _Server:
    def __init__(self, script):
        self.script = list(script)  # per request: ("json", obj) | ("raw", bytes) | ("sleep", s) | ("status", code)
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
                kind, arg = outer.script.pop(0) if len(outer.script) > 1 else outer.script[0]
                if kind == "sleep":
                    time.sleep(arg)
                    kind, arg = "json", _reply("late")
                if kind == "status":
                    self.send_response(arg)
                    self.end_headers()
                    self.wfile.write(b'{"error": "busy"}')
                    return
                if kind == "reject":  # (status, error JSON) as OpenAI's API sends it
                    data = arg[1] if isinstance(arg[1], bytes) else json.dumps(arg[1]).encode()
                    self.send_response(arg[0])
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                data = json.dumps(arg).encode() if kind == "json" else arg
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _reply(text, finish_reason="stop"):
    choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}
    return {"id": "x", "object": "chat.completion", "choices": [choice]}


def _openai_error(message, param=None):
    """The body of an HTTP 400 from OpenAI's API."""
    return {"error": {"message": message, "type": "invalid_request_error", "param": param,
                      "code": "unsupported_parameter"}}


@pytest.fixture
def server():
    made = []

    def make(*script):
        s = _Server(script)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def _backend(url, **kw):
    return OpenAIBackend(LlmConfig(backend="openai", model="qwen-plus", endpoint=url, **kw))


def test_request_format_and_reply(server, monkeypatch):
    s = server(("json", _reply(" Hello there ")))
    monkeypatch.setenv("TEST_LLM_KEY", "sk-test")
    llm = _backend(s.url, api_key_env="TEST_LLM_KEY", seed=7)
    assert llm.chat(MSG, max_tokens=12, stop=["\n"]) == " Hello there "
    req = s.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["body"] == {"model": "qwen-plus", "temperature": 0, "seed": 7, "max_tokens": 12, "stream": False,
                           "stop": ["\n"], "messages": MSG, "cache_prompt": False, "repeat_penalty": 1.0}
    assert req["headers"]["Authorization"] == "Bearer sk-test"
    s2 = server(("json", {"choices": [{"text": "Paris"}]}))
    assert _backend(s2.url + "/chat/completions").complete("The capital of France is") == "Paris"
    assert s2.requests[0]["path"] == "/v1/completions"


def test_closed_port_is_a_clear_error_after_retries():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    t = time.monotonic()
    with pytest.raises(LlmError, match="cannot reach") as e:
        _backend(f"http://127.0.0.1:{port}/v1", retries=2, timeout_s=5).chat(MSG)
    assert time.monotonic() - t < 4.0
    assert e.value.hint and "llm.endpoint" in e.value.hint


def test_malformed_json_is_retried_then_reported(server):
    s = server(("raw", b"{not json"))
    with pytest.raises(LlmError, match="malformed JSON"):
        _backend(s.url, retries=2).chat(MSG)
    assert len(s.requests) == 3


@pytest.mark.parametrize("reply", [{"choices": []}, {"error": {"message": "model not found"}},
                                   {"choices": [{"message": {"content": None}}]}, [1, 2]])
def test_malformed_reply_structure(server, reply):
    s = server(("json", reply))
    with pytest.raises(LlmError):
        _backend(s.url, retries=0).chat(MSG)


def test_server_sleeping_past_the_timeout(server):
    s = server(("sleep", 3.0))
    t = time.monotonic()
    with pytest.raises(LlmTimeout):
        _backend(s.url, timeout_s=0.5, retries=3).chat(MSG)
    assert time.monotonic() - t < 1.5  # the whole call, retries included, is bounded by timeout_s


def test_retryable_status_then_success_and_non_retryable_status(server):
    s = server(("status", 503), ("json", _reply("ok")))
    assert _backend(s.url, retries=1).chat(MSG) == "ok"
    assert len(s.requests) == 2
    s = server(("status", 400))
    with pytest.raises(LlmRejected, match="HTTP 400: busy"):
        _backend(s.url, retries=3, llama_cpp_fields=False).chat(MSG)
    assert len(s.requests) == 1


def test_configuration_errors(monkeypatch):
    from host_pipeline.errors import ConfigError

    with pytest.raises(ConfigError, match="not an http"):  # exit 2: the configuration, not the server
        _backend("127.0.0.1:8080")
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(ConfigError, match="NO_SUCH_KEY_VAR"):
        _backend("http://127.0.0.1:1/v1", api_key_env="NO_SUCH_KEY_VAR")
    with pytest.raises(ConfigError, match="unknown llm.backend"):
        load_llm(LlmConfig(backend="nope"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        _backend("http://127.0.0.1:1/v1").chat([{"role": "wizard", "content": "x"}])


def test_kb_over_a_dead_endpoint_falls_back(make_kb_http):
    kb = make_kb_http
    res = kb.receive("u", "the weather will be sunny and worm in london", length_class="high")
    assert res.text == "the weather will be sunny and worm in london"
    assert res.steps[0].source == "fallback:input" and "cannot reach" in res.steps[0].reason


@pytest.fixture
def make_kb_http(tmp_path):
    from host_pipeline.kb.anfis import Anfis
    from host_pipeline.kb.config import KbConfig
    from host_pipeline.kb.embed import load_embedder
    from host_pipeline.kb.private_kb import PrivateKnowledgeBase

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    emb = load_embedder("minilm-l6")
    llm = _backend(f"http://127.0.0.1:{port}/v1", retries=1, timeout_s=2)
    return PrivateKnowledgeBase(KbConfig(db_path=str(tmp_path / "kb.sqlite")), llm, None, emb, Anfis.initial())


def test_http_backend_cannot_score_so_the_kb_rewrites():
    llm = OpenAIBackend(LlmConfig(backend="openai", endpoint="http://127.0.0.1:9/v1"))
    assert not llm.can_score
    with pytest.raises(LlmError, match="cannot score"):
        llm.score_continuations(MSG, "x", [" y"])


def test_a_server_that_does_not_speak_http_is_a_clear_llm_error():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]

    def answer():  # an SSH daemon, say: a banner instead of an HTTP status line
        for _ in range(2):
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
            conn.close()

    threading.Thread(target=answer, daemon=True).start()
    with pytest.raises(LlmError, match="connection to .* failed"):
        _backend(f"http://127.0.0.1:{port}/v1", retries=1, timeout_s=5).chat(MSG)
    listener.close()


def test_a_reply_cut_at_the_token_limit_is_an_error(server):
    s = server(("json", _reply("The weather will be sunny and", "length")))
    with pytest.raises(LlmError, match=r"stopped at the token limit \(12 tokens\)") as e:
        _backend(s.url, retries=3).chat(MSG, max_tokens=12)
    assert len(s.requests) == 1  # not retried: the same request would be cut again
    assert "\n" not in e.value.message and "llm.max_tokens" in e.value.hint
    s = server(("json", {"choices": [{"text": "Paris is the cap", "finish_reason": "length"}]}))
    with pytest.raises(LlmError, match="token limit"):
        _backend(s.url).complete("The capital of France is", max_tokens=4)
    # a reasoning model that spent the whole budget thinking: no content at all
    s = server(("json", _reply("", "length")))
    with pytest.raises(LlmError, match="token limit") as e:
        _backend(s.url, token_limit_field="max_completion_tokens", reasoning_tokens=64).chat(MSG, max_tokens=8)
    assert s.requests[0]["body"]["max_completion_tokens"] == 72 and "llm.reasoning_tokens" in e.value.hint
    s = server(("json", _reply("", "content_filter")))
    with pytest.raises(LlmError, match="content_filter"):
        _backend(s.url).chat(MSG)


def test_settings_for_hosted_reasoning_models(server):
    s = server(("json", _reply("ok")))
    llm = _backend(s.url, token_limit_field="max_completion_tokens", send_temperature=False, llama_cpp_fields=False,
                   reasoning_effort="minimal")
    assert llm.chat(MSG, max_tokens=20) == "ok"
    assert s.requests[0]["body"] == {"model": "qwen-plus", "seed": 0, "max_completion_tokens": 20, "stream": False,
                                     "reasoning_effort": "minimal", "messages": MSG}


@pytest.mark.parametrize("message,param,setting", [
    ("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
     "max_tokens", "llm.token_limit_field = max_completion_tokens"),
    ("Unsupported value: 'temperature' does not support 0 with this model. Only the default (1) value is supported.",
     "temperature", "llm.send_temperature = false"),
])
def test_http_400_names_the_setting_to_change(server, message, param, setting):
    s = server(("reject", (400, _openai_error(message, param))))
    llm = _backend(s.url, retries=3)
    with pytest.raises(LlmRejected) as e:
        llm.chat(MSG)
    assert e.value.status == 400 and e.value.message.endswith("set " + setting)
    assert "\n" not in e.value.message and message[:40] in e.value.message
    # asked with and then without the llama.cpp fields (the 400 might have been about them), never retried more
    assert len(s.requests) == 2 and "cache_prompt" in s.requests[0]["body"] and "cache_prompt" not in \
        s.requests[1]["body"]
    assert llm.send_llama_cpp_fields  # the request without them failed too: they were not the problem


def test_http_400_without_a_known_setting(server):
    s = server(("reject", (400, _openai_error("This model's maximum context length is 512 tokens. However, you "
                                              "requested 2300 tokens.\nPlease reduce the length of the messages."))))
    with pytest.raises(LlmRejected, match=r"HTTP 400: This model's maximum context length is 512 tokens\. However") \
            as e:
        _backend(s.url, llama_cpp_fields=False).chat(MSG)
    assert "\n" not in e.value.message and "context window" in e.value.hint
    s = server(("reject", (401, {"error": {"message": "Incorrect API key provided: sk-te****"}})))
    with pytest.raises(LlmRejected, match="HTTP 401: Incorrect API key") as e:
        _backend(s.url).chat(MSG)
    assert "llm.api_key_env" in e.value.hint and len(s.requests) == 1  # the fields are only retried after 400/422
    s = server(("reject", (404, b"<html><body><h1>404 Not Found</h1></body></html>")))  # an HTML page: its text
    with pytest.raises(LlmRejected, match="HTTP 404: 404 Not Found") as e:
        _backend(s.url).chat(MSG)
    assert "llm.endpoint" in e.value.hint


def test_a_server_that_rejects_the_llama_cpp_fields_is_asked_without_them(server):
    unknown = _openai_error("Unrecognized request argument supplied: cache_prompt")
    s = server(("reject", (400, unknown)), ("json", _reply("first")), ("json", _reply("second")))
    llm = _backend(s.url, retries=0)
    assert llm.chat(MSG) == "first" and llm.chat(MSG) == "second"
    assert [("cache_prompt" in r["body"], "repeat_penalty" in r["body"]) for r in s.requests] == \
        [(True, True), (False, False), (False, False)]  # rejected once, then never sent again
    assert not llm.send_llama_cpp_fields
