"""structlog set-up: JSON lines for machines, a readable console for people; whatever is bound
in the context (request id, user id, command) goes on every line; secrets never do."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

import structlog

SECRET_KEYS = frozenset(
    {"password", "api_key", "token", "access_token", "authorization", "secret", "jwt_secret"}
)


def drop_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key.lower() in SECRET_KEYS:
            event[key] = "[redacted]"
    return event


QUIET = "_quiet"
"""Bound in the context (``structlog.contextvars.bound_contextvars(_quiet=True)``) around work
whose routine lines would drown the rest, such as a backtest running inside a worker: its debug
and info lines are dropped, its warnings and errors kept."""


def drop_quiet(_: Any, level: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    if event.pop(QUIET, False) and level in ("debug", "info"):
        raise structlog.DropEvent
    return event


def configure_logging(log_format: str, level: str = "INFO") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            drop_quiet,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            drop_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=True,
    )
