"""The FastAPI application: routers per resource, one error shape, a request id on every request
(carried into the events' correlation id)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request, Response
from opentelemetry import trace

from interfaces.http import auth, commands, feed, health, queries
from interfaces.http.errors import install_error_handlers
from interfaces.http.feed_hub import FeedHub

log = structlog.get_logger("tbot.http")
_tracer = trace.get_tracer("tbot.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def create_app(container: Any) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await app.state.feed_hub.stop()
        await container.query_engine().dispose()
        container.store().close()

    app = FastAPI(
        title="tbot",
        version="1",
        summary="Event-sourced trading backend for crypto bots: commands, queries, health. "
        "The live feed is a WebSocket at /v1/feed (see docs/architecture.md).",
        lifespan=lifespan,
    )
    app.state.container = container
    app.state.feed_hub = FeedHub(container.feed_source(), container.settings().feed_queue_limit)
    install_error_handlers(app)

    @app.middleware("http")
    async def request_context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """A request id (the client's X-Request-ID if well formed) bound to every log line of the
        request and used as the correlation id of the events it causes; one line per request."""
        given = request.headers.get("X-Request-ID", "")
        request.state.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request.state.request_id)
        started = time.perf_counter()
        with _tracer.start_as_current_span(
            f"{request.method} {request.url.path}", kind=trace.SpanKind.SERVER
        ) as span:
            span.set_attribute("http.request.method", request.method)
            span.set_attribute("url.path", request.url.path)
            span.set_attribute("tbot.request_id", request.state.request_id)
            response = await call_next(request)
            span.set_attribute("http.response.status_code", response.status_code)
        caller = getattr(request.state, "caller", None)
        log.info(
            "request",
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            user_id=caller.user_id if caller is not None else None,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        response.headers["X-Request-ID"] = request.state.request_id
        return response

    for module in (auth, commands, queries, feed, health):
        app.include_router(module.router)
    return app
