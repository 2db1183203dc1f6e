"""A local server that speaks enough of OpenAI's chat completions API for the official ``openai``
client: ``POST /v1/chat/completions`` answered with what the test queued, one reply per request
(a JSON reading, a refusal, text that is not JSON, an error status, or a reply held back longer
than the client waits). Every request is recorded, with its headers; one without messages or
without a strict ``json_schema`` response format is answered 400, as a real server would refuse
it, and nothing queued is a 503.

Standard library only: an HTTP server on 127.0.0.1, on a free port, in threads of its own."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

PATH = "/v1/chat/completions"

FREE_TEXT = "Bitcoin looks ready to run, getting in around forty-nine nine and aiming much higher"
"""A signal in words the rules cannot read."""
FREE_TEXT_READING: dict[str, Any] = {
    "action": "signal",
    "symbol": "BTC/USDT",
    "side": "long",
    "entry_kind": "limit",
    "entries": ["49900"],
    "stop_loss": "48000",
    "take_profits": [{"price": "52000", "fraction": None}],
    "leverage": None,
    "confidence": 0.95,
}
"""What a model reads in ``FREE_TEXT``: one limit entry at 49900, a stop at 48000, one target."""


@dataclass(frozen=True)
class Reply:
    """One answer: ``content`` (the assistant's text) or ``refusal`` with status 200, or an error
    ``status``; after ``delay`` seconds."""

    status: int = 200
    content: str | None = None
    refusal: str | None = None
    delay: float = 0.0
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Recorded:
    """A request as the server got it."""

    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeLlm:
    """``with FakeLlm() as llm:`` serves at ``llm.url`` (the client's base URL) until the block
    ends."""

    replies: deque[Reply] = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # queueing ------------------------------------------------------------------------------------

    def answer(self, document: dict[str, Any] | str, delay: float = 0.0) -> None:
        """A reply whose content is ``document`` as JSON (or the text itself)."""
        content = document if isinstance(document, str) else json.dumps(document)
        self.replies.append(Reply(content=content, delay=delay))

    def refuse(self, why: str = "I can't help with that.") -> None:
        self.replies.append(Reply(refusal=why))

    def fail(self, status: int, times: int = 1) -> None:
        self.replies.extend(Reply(status=status) for _ in range(times))

    # serving ---------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> FakeLlm:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.02,), name="fake-llm", daemon=True
        )  # a short poll: stopping takes no half second
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stopping.set()
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _reply(self, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any], float]:
        """The status, the JSON body and the delay of the answer to one request."""
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            return 400, _error("the body is not JSON", "invalid_request_error"), 0.0
        with self._lock:
            self.requests.append(Recorded(headers, body))
            reply = self.replies.popleft() if self.replies else None
        problem = _problem(body)
        if problem is not None:
            return 400, _error(problem, "invalid_request_error"), 0.0
        if reply is None:
            return 503, _error("no reply queued", "server_error"), 0.0
        if reply.status != 200:
            return reply.status, _error(f"status {reply.status}", "server_error"), reply.delay
        completion = {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content, "refusal": reply.refusal},
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }
        return 200, completion, reply.delay


def _problem(body: Any) -> str | None:
    """What a real server would refuse in a request of the LLM reader."""
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        return "model: required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: required"
    if not all(isinstance(m, dict) and m.get("role") and isinstance(m.get("content"), str) for m in messages):
        return "messages: each needs a role and text content"
    response_format = body.get("response_format")
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return "response_format: a json_schema is expected"
    schema = response_format.get("json_schema")
    if not isinstance(schema, dict) or not schema.get("name") or not isinstance(schema.get("schema"), dict):
        return "response_format.json_schema: name and schema required"
    if schema.get("strict") is not True:
        return "response_format.json_schema.strict: true expected"
    return None


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _handler(fake: FakeLlm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != PATH:
                self._send(404, _error(f"no route {self.path}", "invalid_request_error"))
                return
            status, body, delay = fake._reply({k.lower(): v for k, v in self.headers.items()}, raw)
            if delay and fake._stopping.wait(delay):
                return  # the server is stopping: no answer
            self._send(status, body)

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 429 or status >= 500:
                    self.send_header("retry-after-ms", "10")  # the client's retries stay quick
                self.end_headers()
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet

    return Handler
