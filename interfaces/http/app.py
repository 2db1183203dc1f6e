"""The FastAPI application: routers per resource, one error shape, a request id on every request
(carried into the events' correlation id)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response

from interfaces.http import auth, commands, health, queries
from interfaces.http.errors import install_error_handlers

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def create_app(container: Any) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await container.query_engine().dispose()
        container.store().close()

    app = FastAPI(
        title="tbot",
        version="1",
        summary="Event-sourced trading backend for crypto bots: commands, queries, health.",
        lifespan=lifespan,
    )
    app.state.container = container
    install_error_handlers(app)

    @app.middleware("http")
    async def request_id(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        given = request.headers.get("X-Request-ID", "")
        request.state.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        return response

    for module in (auth, commands, queries, health):
        app.include_router(module.router)
    return app
