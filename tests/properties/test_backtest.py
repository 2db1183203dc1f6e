"""Backtests on random markets: the position a backtest ends with is the reference position math
applied to its fills; nothing decided before a moment depends on candles after it (changing the
future changes nothing in the past); and the same inputs give the same event log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.backtest.results import outcome
from domain.bot import Bot
from domain.ids import BotId, position_id_for
from domain.market import Candle
from domain.order import Order
from domain.position import Position
from domain.values import Side, Symbol
from interfaces.backtest.world import BacktestInputs, backtest_on
from tests.properties.test_position_math_reference import reference

BTC = Symbol("BTC", "USDT")
START = datetime(2026, 1, 5, tzinfo=UTC)
FEW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def markets(draw: st.DrawFn, minutes: int = 120) -> list[Candle]:
    """One-minute candles of a walk in whole dollars, each with a wick either side."""
    steps = draw(st.lists(st.integers(-40, 40), min_size=minutes, max_size=minutes))
    price, candles = 50_000, []
    for minute, step in enumerate(steps):
        close = max(1_000, price + step)
        high = max(price, close) + draw(st.integers(0, 20))
        low = min(price, close) - draw(st.integers(0, 20))
        candles.append(
            Candle(
                BTC,
                START + timedelta(minutes=minute),
                Decimal(price),
                Decimal(high),
                Decimal(low),
                Decimal(close),
                Decimal(1),
            )
        )
        price = close
    return candles


def _run(candles: list[Candle], params: dict[str, Any], **extra: Any) -> tuple[list[Any], Any]:
    inputs = BacktestInputs("sma_cross", params, {BTC: candles}, fee_rate=Decimal("0.001"), **extra)
    with backtest_on(inputs) as run:
        run.backtest.run()
        store = run.store
        events = [store.mapper.to_domain_event(n) for n in store.recorder.select_notifications(1, 10**6)]
        position = store.find(Position, position_id_for(BotId(run.bot_id), str(BTC)))
        return events, (run.bot_id, position)


SMA = {"fast": 2, "slow": 5, "quantity": "0.01"}


@FEW
@given(candles=markets(), fast=st.integers(1, 4), wider=st.integers(1, 6))
def test_the_position_is_the_reference_math_on_its_fills(
    candles: list[Candle], fast: int, wider: int
) -> None:
    params = {"fast": fast, "slow": fast + wider, "quantity": "0.01"}
    events, (bot_id, position) = _run(candles, params)
    fills = outcome(events, bot_id, {BTC: candles}, Decimal(10_000)).fills
    trades = [(1 if f.side is Side.BUY else -1, f.quantity, f.price, f.fee, False) for f in fills]
    if position is None:
        assert fills == []
    else:
        assert (position.quantity, position.average_price, position.realized_pnl) == reference(trades)


@FEW
@given(candles=markets(), tail=markets(minutes=40), cut=st.integers(20, 100))
def test_what_was_decided_before_a_moment_does_not_depend_on_the_candles_after_it(
    candles: list[Candle], tail: list[Candle], cut: int
) -> None:
    """The candles from ``cut`` on are replaced by other ones (continuing the same times)."""
    changed = candles[:cut] + [
        Candle(BTC, START + timedelta(minutes=cut + i), c.open, c.high, c.low, c.close, c.volume)
        for i, c in enumerate(tail)
    ]
    moment = START + timedelta(minutes=cut)  # candle ``cut`` opens: everything before has closed
    jumpy = {"fast": 1, "slow": 2, "quantity": "0.01"}  # acts on most turns of the price: sensitive
    first, _ = _run(candles, jumpy)
    second, _ = _run(changed, jumpy)

    decided = Bot.DecisionMade | Bot.OrderAdmitted | Bot.OrderDenied | Order.Placed

    def before(events: list[Any]) -> list[tuple[str, Any, Any]]:
        """What happened before candle ``cut`` opened, and what was decided on its eve (at the
        close of the candle before it); not the fills at its open, which are its own."""
        return [
            (type(e).__qualname__, e.timestamp, getattr(e, "intents", None) or getattr(e, "price", None))
            for e in events
            if not isinstance(e, Bot.Created | Bot.Started)
            and (e.timestamp < moment or (e.timestamp == moment and isinstance(e, decided)))
        ]

    assert before(first) == before(second)


@FEW
@given(candles=markets(minutes=60))
def test_the_same_inputs_give_the_same_event_log(candles: list[Candle]) -> None:
    first, _ = _run(candles, SMA)
    second, _ = _run(candles, SMA)

    def log(events: list[Any]) -> list[tuple[str, datetime, Any]]:
        return [(type(e).__qualname__, e.timestamp, getattr(e, "intents", None)) for e in events]

    assert log(first) == log(second)
