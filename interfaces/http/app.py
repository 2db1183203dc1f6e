"""The FastAPI application: routers per resource, one error shape, a request id on every request
(carried into the events' correlation id)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from interfaces.composition import Container
from interfaces.http import (
    auth,
    backtests,
    commands,
    feed,
    health,
    metrics,
    notifications,
    performance,
    queries,
    strategies,
    web,
)
from interfaces.http.admission import Admission
from interfaces.http.bodies import BodyLimit
from interfaces.http.errors import install_error_handlers
from interfaces.http.feed_hub import Clocks, FeedHub
from interfaces.http.request_context import RequestContext
from interfaces.http.rules import api_rules


def create_app(container: Container) -> FastAPI:
    @asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[None]:
        yield
        await running.state.feed_hub.stop()
        await container.query_engine().dispose()
        container.store().close()
        container.shutdown_resources()

    api = container.settings().api
    # Swagger UI and ReDoc from the assets fastapi-offline ships, so the docs work without internet.
    app = FastAPIOffline(
        title="tbot",
        version="1",
        summary="Event-sourced trading backend for crypto bots: commands, queries, health. "
        "The live feed is a WebSocket at /v1/feed (see docs/architecture.md).",
        description=api_rules(api.max_body_bytes),
        lifespan=lifespan,
    )
    app.state.container = container
    feed_settings = container.settings().feed
    app.state.feed_hub = FeedHub(
        container.feed_source(),
        feed_settings.queue_limit,
        container.price_watch(),
        Clocks(feed_settings.heartbeat_seconds, feed_settings.send_timeout_seconds),
    )
    install_error_handlers(app)

    app.add_middleware(BodyLimit, max_bytes=api.max_body_bytes)
    app.add_middleware(
        Admission, max_in_flight=api.max_commands_in_flight, queue_seconds=api.admission_wait_seconds
    )
    app.add_middleware(RequestContext)
    modules = (
        auth,
        commands,
        queries,
        performance,
        strategies,
        backtests,
        notifications,
        feed,
        health,
        metrics,
    )
    for module in modules:
        app.include_router(module.router)
    web.install(app)  # the dashboard at /, after the API's routes
    return app
