"""Requests per second per API key (or per user, for bearer tokens): a fixed one-second window
counted in Redis (INCR with a short expiry), shared by every server process; in-process on the
embedded default. When Redis is out of reach requests are let through (and a warning logged)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import redis
import structlog

from infrastructure.settings import Settings

log = structlog.get_logger("tbot.rate_limits")


class RateLimiter(Protocol):
    def hit(self, subject: str) -> float | None:
        """Counts one request; None if it is within the limit, else the seconds to wait."""


def _window(now: datetime) -> tuple[int, float]:
    moment = now.timestamp()
    second = math.floor(moment)
    return second, max(0.001, second + 1 - moment)


class RedisRateLimiter:
    def __init__(self, client: Any, namespace: str, per_second: int, now: Callable[[], datetime]) -> None:
        self.client = client
        self.namespace = namespace
        self.per_second = per_second
        self.now = now

    def hit(self, subject: str) -> float | None:
        second, remaining = _window(self.now())
        key = f"{self.namespace}:ratelimit:{subject}:{second}"
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, 2)
        try:
            count, _ = pipe.execute()
        except redis.RedisError as error:
            # fail open: a Redis outage must not stop traders cancelling orders
            log.warning("rate limit not checked: Redis unavailable", error=str(error))
            return None
        return None if int(count) <= self.per_second else remaining


class MemoryRateLimiter:
    def __init__(self, per_second: int, now: Callable[[], datetime]) -> None:
        self.per_second = per_second
        self.now = now
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, subject: str) -> float | None:
        second, remaining = _window(self.now())
        with self._lock:
            window, count = self._counts.get(subject, (second, 0))
            count = count + 1 if window == second else 1
            self._counts[subject] = (second, count)
            if len(self._counts) > 100_000:  # forget the quiet ones
                self._counts = {s: c for s, c in self._counts.items() if c[0] == second}
        return None if count <= self.per_second else remaining


def open_rate_limiter(settings: Settings, now: Callable[[], datetime]) -> RateLimiter:
    if settings.redis_url is None:
        return MemoryRateLimiter(settings.rate_limit_per_second, now)
    client = redis.Redis.from_url(
        settings.redis_url.get_secret_value(), socket_timeout=2, socket_connect_timeout=2
    )
    namespace = f"tbot:{settings.postgres_schema}"
    return RedisRateLimiter(client, namespace, settings.rate_limit_per_second, now)
