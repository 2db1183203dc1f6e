"""One JSON shape for every error: ``{"error": {"code", "message", ...details}}``. User mistakes
are 4xx with the field and the rule; nothing a user can send produces a 500."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from application.access import Forbidden
from application.errors import (
    ConcurrencyConflict,
    IdempotencyMismatch,
    IllegalTransition,
    InvalidInput,
    NotFound,
    OrderDenied,
    Overfill,
)
from infrastructure.backtest_queue import QueueFull
from infrastructure.outages import OUTAGES, one_line

log = structlog.get_logger("tbot.http")


class NotCaughtUp(Exception):
    """The read models have not reached the position the caller asked for, within the wait."""

    def __init__(self, wanted: int, reached: int, retry_after: int = 1) -> None:
        super().__init__(f"the read models are at position {reached}, not yet at {wanted}")
        self.wanted, self.reached, self.retry_after = wanted, reached, retry_after


BACKTEST_RETRY_SECONDS = 30
"""When to ask again for room in the backtest queue: a backtest takes seconds to minutes."""


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__("too many requests for this key: slow down")
        self.retry_after = max(1, math.ceil(retry_after))


def error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None, **details: Any
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, **details}}
    return JSONResponse(status_code=status, content=body, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"field": _field(e), "rule": e["msg"], "type": e["type"]} for e in exc.errors()]
        return error(422, "invalid_request", "the request breaks the rules below", problems=problems)

    @app.exception_handler(InvalidInput)
    async def invalid_input(_: Request, exc: InvalidInput) -> JSONResponse:
        problem = {"field": located(exc.field), "rule": exc.rule, "type": "domain"}
        return error(422, "invalid_request", str(exc), problems=[problem])

    @app.exception_handler(OrderDenied)
    async def denied(_: Request, exc: OrderDenied) -> JSONResponse:
        return error(
            422,
            "order_denied",
            str(exc),
            reason_codes=[code.value for code in exc.reason_codes],
            denial_id=str(exc.denial_id),
            client_order_id=exc.client_order_id,
        )

    @app.exception_handler(IllegalTransition)
    async def illegal(_: Request, exc: IllegalTransition) -> JSONResponse:
        return error(409, "illegal_transition", str(exc), state=exc.state, action=exc.action)

    @app.exception_handler(IdempotencyMismatch)
    async def mismatch(_: Request, exc: IdempotencyMismatch) -> JSONResponse:
        return error(409, "idempotency_mismatch", str(exc))

    @app.exception_handler(Overfill)
    async def overfill(_: Request, exc: Overfill) -> JSONResponse:
        return error(409, "overfill", str(exc))

    @app.exception_handler(ConcurrencyConflict)
    async def conflict(_: Request, exc: ConcurrencyConflict) -> JSONResponse:
        return error(409, "conflict", str(exc))

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return error(404, "not_found", f"no {exc.kind} {exc.entity_id}")

    @app.exception_handler(Forbidden)
    async def forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return error(403, "forbidden", str(exc))

    @app.exception_handler(QueueFull)
    async def queue_full(_: Request, exc: QueueFull) -> JSONResponse:
        status, code = (429, "too_many_backtests") if exc.per_user else (503, "backtest_queue_full")
        headers = {"Retry-After": str(BACKTEST_RETRY_SECONDS)}
        return error(status, code, str(exc), headers=headers, retry_after=BACKTEST_RETRY_SECONDS)

    @app.exception_handler(RateLimited)
    async def rate_limited(_: Request, exc: RateLimited) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)}
        return error(429, "rate_limited", str(exc), headers=headers, retry_after=exc.retry_after)

    async def unavailable(_: Request, exc: Exception) -> JSONResponse:
        log.warning("store out of reach", error=one_line(exc))
        message = (
            "a store cannot be reached: the command may or may not have been recorded; repeat it "
            "with the same Idempotency-Key or client order id"
        )
        return error(503, "unavailable", message, headers={"Retry-After": "1"}, retry_after=1)

    for outage in OUTAGES:
        app.add_exception_handler(outage, unavailable)

    @app.exception_handler(NotCaughtUp)
    async def not_caught_up(_: Request, exc: NotCaughtUp) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)}
        return error(503, "not_caught_up", str(exc), headers=headers, wanted=exc.wanted, reached=exc.reached)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message, headers = str(exc.detail), dict(exc.headers or {})
        if exc.status_code == 400:  # only the frameworks say 400: a body they could not parse
            problem = {"field": "body", "rule": f"must be readable: {message}", "type": "body_invalid"}
            return error(422, "invalid_request", "the request breaks the rules below", problems=[problem])
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request)) or headers.get("Allow", "")
        return error(exc.status_code, code, message, headers=headers)


_HTTP_CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}


def too_large_message(limit: int) -> str:
    return f"the request body is over the limit of {limit} bytes"


PLACES = ("body", "query", "path", "header")


PATH_FIELDS = ("bot_id", "order_id")
"""Command fields the API takes from the path (``/v1/bots/{bot_id}/...``), never from a body."""


def located(field: str) -> str:
    """Where a field the command side refused lies: in the request's body (the commands take
    their fields from it), in the path for the ids the routes carry there, unless the API
    already named the place (``query.cursor``)."""
    if field.split(".", 1)[0] in PLACES:
        return field
    return f"path.{field}" if field in PATH_FIELDS else f"body.{field}"


def _field(problem: Mapping[str, Any]) -> str:
    """Where a problem lies, dotted: ``body.limits.price_band_pct``. A rule that names a place inside
    its field (``at``: ``params.levels[2]``, the field's own name first) puts that place last."""
    where = [str(part) for part in problem["loc"]]
    inside = (problem.get("ctx") or {}).get("at")
    if isinstance(inside, str) and where:
        where[-1] = inside
    return ".".join(where)


def allowed_methods(request: Request) -> list[str]:
    """Every method the OpenAPI document lists for this request's path (each router knows only
    its own routes, and one path's routes live in different routers)."""
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        if compile_path(template)[0].match(request.url.path):
            methods |= {method.upper() for method in operations}
    return sorted(methods)
