"""The in-process rate limiter of the embedded default: a fixed one-second window per subject,
on the injected clock; the Redis one failing open. (Its limit is exercised over HTTP in tests/http.)"""

from __future__ import annotations

from datetime import UTC, datetime

import redis

from infrastructure.rate_limits import MemoryRateLimiter, RedisRateLimiter
from tests.support.api import free_port
from tests.support.clock import ManualClock


def test_the_limit_holds_within_a_second_per_subject_and_resets_with_the_next_second() -> None:
    clock = ManualClock(datetime(2026, 1, 1, 12, 0, 0, 250_000, tzinfo=UTC))
    limiter = MemoryRateLimiter(per_second=3, now=clock.now)

    assert [limiter.hit("key:a") for _ in range(3)] == [None, None, None]
    assert limiter.hit("key:a") == 0.75  # wait for the rest of this second
    assert limiter.hit("key:b") is None  # another key has its own count

    clock.advance(seconds=0.75)
    assert limiter.hit("key:a") is None


def test_requests_are_let_through_while_redis_is_out_of_reach() -> None:
    clock = ManualClock(datetime(2026, 1, 1, 12, tzinfo=UTC))
    unreachable = redis.Redis(port=free_port(), socket_connect_timeout=1)
    limiter = RedisRateLimiter(unreachable, "tbot:test", per_second=1, now=clock.now)
    assert [limiter.hit("key:a") for _ in range(3)] == [None, None, None]
