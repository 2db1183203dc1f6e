"""Requests per second per API key (or per user, for bearer tokens), counted by the `limits`
library's moving window: a request passes when fewer than the limit passed in the second before
it, so no one-second span ever holds more than the limit (a window fixed to the wall-clock second
would let twice the limit through across its boundary).

The window lives in Redis (a list of the subject's latest admission times, updated atomically by a
Lua script), shared by every server process; in process memory on the embedded default. It runs on
wall-clock time (the library's own, not the injected clock), since it measures when requests
really arrive. When Redis is out of reach requests are let through (and a warning logged): an
outage must not stop traders cancelling orders."""

from __future__ import annotations

import time
from typing import Protocol

import structlog
from limits import RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from infrastructure.settings import Settings

log = structlog.get_logger("tbot.rate_limits")


class RateLimiter(Protocol):
    def hit(self, subject: str) -> float | None:
        """Counts one request; None if it is within the limit, else the seconds to wait."""


class MovingWindowLimiter:
    def __init__(self, storage: Storage, per_second: int) -> None:
        self._item = RateLimitItemPerSecond(per_second)
        self._window = MovingWindowRateLimiter(storage)

    def hit(self, subject: str) -> float | None:
        try:
            if self._window.hit(self._item, subject):
                return None
            reset_at, _ = self._window.get_window_stats(self._item, subject)
        except StorageError as error:
            log.warning("rate limit not checked: Redis unavailable", error=str(error))
            return None
        return max(0.001, reset_at - time.time())


def memory_limiter(per_second: int) -> MovingWindowLimiter:
    return MovingWindowLimiter(MemoryStorage(), per_second)


def redis_limiter(url: str, namespace: str, per_second: int) -> MovingWindowLimiter:
    storage = RedisStorage(
        url,
        key_prefix=f"{namespace}:ratelimit",
        wrap_exceptions=True,
        socket_timeout=2,
        socket_connect_timeout=2,
    )
    return MovingWindowLimiter(storage, per_second)


def open_rate_limiter(settings: Settings) -> RateLimiter:
    if settings.redis.url is None:
        return memory_limiter(settings.api.rate_limit_per_second)
    namespace = f"tbot:{settings.store.postgres_schema}"
    return redis_limiter(settings.redis.url.get_secret_value(), namespace, settings.api.rate_limit_per_second)
