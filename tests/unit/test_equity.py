"""The period a running bot is measured over (its points: the start, each whole step between, the
end) and what the measurement refuses, naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from application.bot_performance import bot_performance
from domain.equity import MAX_POINTS, Period
from domain.errors import InvalidInput
from domain.performance import Fill
from domain.values import Side, Symbol

T = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def test_the_points_are_the_start_each_whole_step_between_and_the_end() -> None:
    period = Period.of(T, T + timedelta(hours=2, minutes=45), "1h")
    hours = [datetime(2026, 5, 4, h, tzinfo=UTC) for h in (10, 11, 12)]
    assert period.times() == [T, *hours, T + timedelta(hours=2, minutes=45)]
    assert period.point_count() == 5
    on_steps = Period.of(datetime(2026, 5, 4, tzinfo=UTC), datetime(2026, 5, 7, tzinfo=UTC), "1d")
    assert on_steps.times() == [datetime(2026, 5, d, tzinfo=UTC) for d in (4, 5, 6, 7)]
    assert Period.of(T, T + timedelta(seconds=1), "1d").times() == [T, T + timedelta(seconds=1)]


@pytest.mark.parametrize(
    ("end", "step", "field"),
    [
        (T, "1m", "end"),
        (T - timedelta(minutes=1), "1m", "end"),
        (T + timedelta(minutes=1), "5m", "step"),
        (T + timedelta(minutes=MAX_POINTS), "1m", "step"),
    ],
)
def test_a_period_that_cannot_be_measured_is_refused_naming_the_field(
    end: datetime, step: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        Period.of(T, end, step)
    assert refused.value.field == field


def test_the_most_points_are_accepted() -> None:
    assert Period.of(T, T + timedelta(minutes=MAX_POINTS - 1), "1m").point_count() == MAX_POINTS


def test_a_bot_trading_in_two_quote_currencies_or_without_capital_is_refused() -> None:
    period = Period.of(T, T + timedelta(hours=1), "1m")
    fills = [
        Fill(T, Symbol("BTC", "USDT"), Side.BUY, Decimal(1), Decimal(100)),
        Fill(T, Symbol("ETH", "BTC"), Side.BUY, Decimal(1), Decimal("0.05")),
    ]
    with pytest.raises(InvalidInput) as two:
        bot_performance(Decimal(1000), period, fills, {}, 0)
    assert two.value.field == "bot_id" and "BTC, USDT" in two.value.rule
    with pytest.raises(InvalidInput) as none:
        bot_performance(Decimal(0), period, fills[:1], {}, 0)
    assert none.value.field == "capital"


def test_a_bot_without_fills_keeps_its_capital() -> None:
    report = bot_performance(Decimal(1000), Period.of(T, T + timedelta(hours=3), "1h"), [], {}, 2)
    assert report.quote is None and report.curve.exposed == 0
    assert [p.equity for p in report.curve.points] == [Decimal(1000)] * 5  # 9:30, 10:00, 11:00, 12:00, 12:30
    assert report.figures.plain()["total_return"] == "0" and report.denials == 2
