"""When a denied closing order is asked for again: 1 s after the first denial, doubling up to 60 s;
never for a denial only a change of the position can lift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.position import retry_at

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_the_wait_doubles_from_a_second_up_to_a_minute() -> None:
    waits = [retry_at(attempt, ["ORDER_RATE"], NOW) for attempt in (1, 2, 3, 4, 5, 6, 7, 8, 10_000)]
    seconds = [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert waits == [NOW + timedelta(seconds=s) for s in seconds]


@pytest.mark.parametrize(
    "denied",
    [["INVALID_QUANTITY"], ["BELOW_MIN_NOTIONAL"], ["BOT_NOT_RUNNING", "BELOW_MIN_NOTIONAL"]],
)
def test_a_position_too_small_to_close_is_denied_for_good(denied: list[str]) -> None:
    assert retry_at(1, denied, NOW) is None


@pytest.mark.parametrize(
    "code",
    [
        "BOT_NOT_RUNNING",
        "KILL_SWITCH",
        "MARKET_UNKNOWN",
        "NO_REFERENCE_PRICE",
        "MAX_ORDER_NOTIONAL",
        "MAX_POSITION",
        "MAX_OPEN_ORDERS",
        "DAILY_LOSS_LIMIT",
        "ORDER_RATE",
    ],
)
def test_every_other_denial_is_tried_again(code: str) -> None:
    assert retry_at(3, [code], NOW) == NOW + timedelta(seconds=4)
