"""Prometheus's /metrics: every server process's metrics added up (docs/operations.md,
"Metrics"). No authentication, as Prometheus expects, and nothing of any user in it (counts by
command type, outcome, reason code, ...); it is for the monitoring network, not the public."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from infrastructure.metrics_exposition import exposition

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    """The metrics in Prometheus's text format (read from the processes' files in a thread)."""
    body, content_type = exposition()
    return Response(body, media_type=content_type)
