"""A webhook receiver for tests: a real HTTP server (the standard library's, in a thread) on
127.0.0.1 and a free port that records every request and answers 200, unless told to answer the next
requests otherwise (a status, headers, a body) or to wait first.

    with WebhookReceiver() as receiver:
        receiver.respond(500)                              # the next request gets a 500
        receiver.respond(429, headers={"Retry-After": "3"})
        receiver.delay(2.0)                                # the request after those waits 2 s
        ... POST to receiver.url ...
        receiver.requests[0].headers["idempotency-key"], receiver.requests[0].body
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    """Header names in lower case."""
    body: bytes
    received_at: float


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b'{"ok": true}'
    delay_seconds: float = 0.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: WebhookReceiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client closing its kept-alive connection is no error worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # the answer's headers and body leave at once, not 40 ms apart

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer = self.server.receiver._record(
            ReceivedRequest(
                method=self.command,
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
                received_at=time.time(),
            )
        )
        if answer.delay_seconds:
            time.sleep(answer.delay_seconds)
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a time-out test)

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: object) -> None:
        pass


class WebhookReceiver:
    """A recording HTTP server; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: deque[Answer] = deque()
        self._requests: list[ReceivedRequest] = []
        self._arrived = threading.Condition(self._lock)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name="webhooks"
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Where to POST: ``http://127.0.0.1:<port>/hook``."""
        return f"http://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def respond(
        self,
        status: int,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        delay_seconds: float = 0.0,
    ) -> None:
        """Answer the next ``times`` requests (after those already queued) with ``status``."""
        with self._lock:
            self._answers.extend(
                [Answer(status, dict(headers or {}), body, delay_seconds) for _ in range(times)]
            )

    def delay(self, seconds: float, times: int = 1, status: int = 200) -> None:
        """Wait ``seconds`` before answering each of the next ``times`` requests."""
        self.respond(status, times, body=b'{"ok": true}', delay_seconds=seconds)

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        """The requests once at least ``count`` have arrived (AssertionError after ``timeout``)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._requests) >= count, timeout):
                raise AssertionError(f"{len(self._requests)} requests arrived, expected {count}")
            return list(self._requests)

    def _record(self, request: ReceivedRequest) -> Answer:
        with self._arrived:
            self._requests.append(request)
            self._arrived.notify_all()
            return self._answers.popleft() if self._answers else Answer()
