"""One JSON shape for every error: ``{"error": {"code", "message", ...details}}``. User mistakes
are 4xx with the field and the rule; nothing a user can send produces a 500."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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


class NotCaughtUp(Exception):
    """The read models have not reached the position the caller asked for, within the wait."""

    def __init__(self, wanted: int, reached: int, retry_after: int = 1) -> None:
        super().__init__(f"the read models are at position {reached}, not yet at {wanted}")
        self.wanted, self.reached, self.retry_after = wanted, reached, retry_after


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
        problems = [
            {"field": ".".join(str(part) for part in e["loc"]), "rule": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        return error(422, "invalid_request", "the request breaks the rules below", problems=problems)

    @app.exception_handler(InvalidInput)
    async def invalid_input(_: Request, exc: InvalidInput) -> JSONResponse:
        problem = {"field": exc.field, "rule": exc.rule, "type": "domain"}
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

    @app.exception_handler(RateLimited)
    async def rate_limited(_: Request, exc: RateLimited) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)}
        return error(429, "rate_limited", str(exc), headers=headers, retry_after=exc.retry_after)

    @app.exception_handler(NotCaughtUp)
    async def not_caught_up(_: Request, exc: NotCaughtUp) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)}
        return error(503, "not_caught_up", str(exc), headers=headers, wanted=exc.wanted, reached=exc.reached)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
        return error(
            exc.status_code, code.get(exc.status_code, "http_error"), str(exc.detail), headers=exc.headers
        )
