"""Request bodies: bounded in size, and JSON ones read and checked once, before any route's model
sees them.

A body over the limit is refused with 413 before it is read: at once when its ``Content-Length``
says so, else as soon as the bytes counted while it streams in (chunked) pass the limit.

Python's ``json`` takes more than JSON: the literals ``NaN``, ``Infinity`` and ``-Infinity``, and
numbers such as ``1e400`` that overflow to infinity; its ``\\ud800`` escapes give lone surrogates,
text no store or encoder can hold. A body is refused with 422 naming the place of each such value
(``body.params.v``), and so is a body that is not JSON in UTF-8. Routes of a router made with
``route_class=JsonBodyRoute`` get their bodies through here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.params import NOT_UNICODE, is_unicode
from interfaces.http.errors import error, too_large_message

_UNREAD = object()
MAX_PROBLEMS = 20
"""The most problems one answer lists."""
Location = tuple[str | int, ...]


def _problem(where: Location, rule: str, kind: str) -> dict[str, Any]:
    return {"loc": where, "msg": rule, "type": kind}


def parse_json_body(raw: bytes) -> Any:
    """The JSON value of a body; RequestValidationError naming every place that breaks the rules."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        problem = _problem(
            ("body",), f"must be JSON in UTF-8 (byte {error.start} is not UTF-8)", "json_invalid"
        )
        raise RequestValidationError([problem]) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        rule = f"must be JSON: {error.msg} at line {error.lineno} column {error.colno}"
        raise RequestValidationError([_problem(("body",), rule, "json_invalid")]) from None
    except RecursionError:
        raise RequestValidationError(
            [_problem(("body",), "must be JSON nested less deep", "json_invalid")]
        ) from None
    problems = _problems(value)
    if problems:
        raise RequestValidationError(problems)
    return value


def _problems(body: Any) -> list[dict[str, Any]]:
    """Non-finite numbers and lone surrogates in a parsed body, without recursion (a body may nest
    as deep as the parser allows)."""
    problems: list[dict[str, Any]] = []
    pending: list[tuple[Location, Any]] = [(("body",), body)]
    while pending and len(problems) < MAX_PROBLEMS:
        where, value = pending.pop()
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(_problem(where, "must be a finite number (not NaN or Infinity)", "finite_number"))
        elif isinstance(value, str) and not is_unicode(value):
            problems.append(_problem(where, NOT_UNICODE, "unicode"))
        elif isinstance(value, list):
            pending.extend(((*where, index), item) for index, item in enumerate(value))
        elif isinstance(value, dict):
            for key, item in value.items():
                if is_unicode(key):
                    pending.append(((*where, key), item))
                else:
                    problems.append(_problem(where, f"its keys {NOT_UNICODE}", "unicode"))
    return sorted(problems, key=lambda problem: [str(part) for part in problem["loc"]])


class _CheckedJsonRequest(Request):
    """A request whose JSON body is parsed by ``parse_json_body`` (once)."""

    _value: Any = _UNREAD

    async def json(self) -> Any:
        if self._value is _UNREAD:
            self._value = parse_json_body(await self.body())
        return self._value


def _declares_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class JsonBodyRoute(APIRoute):
    """A route whose JSON body is checked by ``parse_json_body`` before FastAPI reads it, so a bad
    body is answered like any invalid request (FastAPI would turn errors raised while it reads the
    body into a 400)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        reads_body = self.body_field is not None

        async def checked(request: Request) -> Response:
            request = _CheckedJsonRequest(request.scope, request.receive)
            if reads_body and _declares_json(request) and await request.body():
                await request.json()
            return await handle(request)

        return checked


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))


class BodyLimit:
    """Plain ASGI middleware refusing request bodies over ``max_bytes`` with 413 (Starlette's own
    limit answers in plain text, not in the API's error shape)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            response = error(
                413, "too_large", too_large_message(self.max_bytes), headers={"Connection": "close"}
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None
