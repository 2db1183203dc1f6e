"""Liveness (the process answers) and readiness (event store, read database and Redis reachable,
no projection stopped; projection lag reported)."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import select, text

from infrastructure.read_store.live_stores import RedisLiveStore
from interfaces.http.deps import Box, QueryEngineDep
from projections.engine.read_models import TRACKING
from projections.models.live import NAME as LIVE

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live")
async def live() -> dict[str, str | int]:
    """Alive; ``process`` tells which server process answered (``tbot serve --workers N``)."""
    return {"status": "ok", "process": os.getpid()}


READY: dict[int | str, dict[str, Any]] = {
    200: {"description": "every store answers and no projection has stopped"},
    503: {"description": "not ready: `checks` says which store is out of reach or which projection stopped"},
}


@router.get("/ready", responses=READY)
async def ready(request: Request, box: Box, engine: QueryEngineDep) -> JSONResponse:
    """200 when the event store, the read database and Redis answer, no projection has stopped
    and every worker this process runs is healthy; otherwise 503, with `checks` saying what is out
    of reach, `checks.projections` naming each stopped projection with its error (which
    projection, at which event, why) and `checks.workers` each worker of this process that cannot
    work, with why (`tbot run`). `lag_events` is how far each SQL projection is behind the event
    store's head."""
    checks: dict[str, Any] = {}
    head = 0
    try:
        head = await run_in_threadpool(box.store().last_position)
        checks["event_store"] = "ok"
    except Exception as error:  # reported, not raised: this endpoint says what is down
        checks["event_store"] = f"unreachable: {type(error).__name__}"
    lag: dict[str, int] = {}
    stopped: dict[str, str] = {}
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            query = select(TRACKING.c.name, TRACKING.c.position, TRACKING.c.error)
            for row in (await conn.execute(query)).all():
                lag[row.name] = max(0, head - int(row.position))
                if row.error is not None:
                    stopped[row.name] = row.error
        checks["read_database"] = "ok"
    except Exception as error:
        checks["read_database"] = f"unreachable: {type(error).__name__}"
    live_store = box.live_store()
    try:
        if isinstance(live_store, RedisLiveStore):
            await run_in_threadpool(live_store.ping)
            checks["redis"] = "ok"
        live_error = await run_in_threadpool(live_store.error)
        if live_error is not None:
            stopped[LIVE] = live_error
    except Exception as error:
        checks["redis"] = f"unreachable: {type(error).__name__}"
    checks["projections"] = stopped or "ok"  # each stopped projection with its error
    threads = getattr(request.app.state, "workers", None)
    if threads is not None:
        unhealthy = {h.name: f"{h.state}: {h.error}" for h in threads.health() if not h.healthy}
        checks["workers"] = unhealthy or "ok"
    healthy = all(value == "ok" for value in checks.values())
    body = {
        "status": "ready" if healthy else "unavailable",
        "checks": checks,
        "head": head,
        "lag_events": lag,
    }
    return JSONResponse(body, status_code=200 if healthy else 503)
