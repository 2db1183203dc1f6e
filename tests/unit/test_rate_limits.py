"""The rate limiter on both storages: a burst straddling a second boundary never passes more than
the limit in any one-second span; a refused request is told how long to wait; the Redis one fails
open. The `limits` library keeps its own wall-clock time, so these run on real time, bounded to
about two seconds each. (The limit over HTTP is exercised in tests/http.)"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable

import pytest

from infrastructure.rate_limits import MovingWindowLimiter, memory_limiter, redis_limiter
from tests.support.api import free_port

LIMIT = 20


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest) -> MovingWindowLimiter:
    if request.param == "memory":
        return memory_limiter(LIMIT)
    url: str = request.getfixturevalue("redis_url")
    return redis_limiter(url, f"tbot:test-{uuid.uuid4().hex}", LIMIT)


def _burst(hit: Callable[[], float | None], seconds: float) -> tuple[list[tuple[float, float]], int]:
    """Hits as fast as it can from 0.2 s before a second boundary for ``seconds``: the admitted
    hits (wall-clock time just before and just after each), and how many were refused."""
    time.sleep((0.8 - time.time() % 1) % 1)
    admitted, refused = [], 0
    end = time.time() + seconds
    while (before := time.time()) < end:
        passed = hit() is None
        after = time.time()
        if passed:
            admitted.append((before, after))
        else:
            refused += 1
    return admitted, refused


def test_a_burst_across_a_second_boundary_never_passes_more_than_the_limit_in_any_second(
    limiter: MovingWindowLimiter,
) -> None:
    admitted, refused = _burst(lambda: limiter.hit("key:a"), seconds=1.5)

    assert refused > 0 and len(admitted) >= LIMIT  # the limit was reached, and held
    # The limiter stamps each admission between the two times taken around it, so any LIMIT + 1
    # consecutive admissions spanning at least a second means no second ever held more than LIMIT.
    spans = [admitted[i + LIMIT][1] - admitted[i][0] for i in range(len(admitted) - LIMIT)]
    assert spans and min(spans) >= 1.0


def test_a_refused_request_is_told_how_long_to_wait_and_passes_after_that(
    limiter: MovingWindowLimiter,
) -> None:
    assert [limiter.hit("key:a") for _ in range(LIMIT)] == [None] * LIMIT
    wait = limiter.hit("key:a")
    assert wait is not None and 0 < wait <= 1
    assert limiter.hit("key:b") is None  # another key has its own window

    time.sleep(wait + 0.01)
    assert limiter.hit("key:a") is None
    assert math.isclose(wait, 1, abs_tol=0.5)  # the burst took far less than half a second


def test_requests_are_let_through_while_redis_is_out_of_reach() -> None:
    unreachable = redis_limiter(f"redis://127.0.0.1:{free_port()}/0", "tbot:test", per_second=1)
    assert [unreachable.hit("key:a") for _ in range(3)] == [None, None, None]
