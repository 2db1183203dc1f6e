"""The request context, as plain ASGI middleware (no extra task or body streaming per request): a
request id (the client's X-Request-ID if well formed) bound to every log line of the request,
echoed in the response, and used as the correlation id of the events it causes; a server span;
one ``request`` log line per request."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("tbot.http")
_tracer = trace.get_tracer("tbot.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            given = value.decode("latin-1")
            return given if _REQUEST_ID.match(given) else uuid.uuid4().hex
    return uuid.uuid4().hex


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        method, path = scope["method"], scope["path"]
        with _tracer.start_as_current_span(f"{method} {path}", kind=trace.SpanKind.SERVER) as span:
            span.set_attribute("http.request.method", method)
            span.set_attribute("url.path", path)
            span.set_attribute("tbot.request_id", request_id)
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                span.set_attribute("http.response.status_code", status)
                caller = state.get("caller")
                log.info(
                    "request",
                    method=method,
                    path=path,
                    status=status,
                    user_id=caller.user_id if caller is not None else None,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )
