"""A running bot's equity curve (domain/equity.py) on random fills and marks: at every point it is
the capital plus the realized and unrealized PnL of the reference position math on the fills before
that point, at the latest price known then; it is also the cash the fills left plus what is held at
that price; and on a backtest's own fills and candles the bot's figures are the backtest's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.bot_performance import bot_performance
from domain.equity import Mark, Period, equity_curve, from_start
from domain.market import Candle
from domain.performance import CONTEXT, Fill, round_trips
from domain.values import Side, Symbol
from interfaces.backtest.runner import run_backtest
from interfaces.backtest.world import BacktestInputs
from tests.properties.strategies import fees, prices, quantities
from tests.properties.test_backtest import markets
from tests.properties.test_position_math_reference import reference

T0 = datetime(2026, 3, 1, tzinfo=UTC)
BTC, ETH = Symbol("BTC", "USDT"), Symbol("ETH", "USDT")
CAPITAL = Decimal(10_000)
TOLERANCE = Decimal("1e-30")  # the curve divides (average prices) at 50 digits


def _moment(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


fill_lists = st.lists(
    st.tuples(
        st.integers(0, 3_600), st.sampled_from([BTC, ETH]), st.sampled_from(Side), quantities, prices, fees
    ),
    max_size=30,
).map(
    lambda raw: [
        Fill(_moment(s), sym, side, q, p, f) for s, sym, side, q, p, f in sorted(raw, key=lambda r: r[0])
    ]
)
mark_lists = st.lists(st.tuples(st.integers(0, 3_600), prices), max_size=20).map(
    lambda raw: [Mark(_moment(s), p) for s, p in sorted(dict(raw).items())]
)
point_times = st.lists(st.integers(0, 3_700), min_size=1, max_size=30, unique=True).map(
    lambda raw: [_moment(s) for s in sorted(raw)]
)


def _price_known(symbol: Symbol, fills: list[Fill], marks: list[Mark], moment: datetime) -> Decimal:
    """The latest mark at or before ``moment``, or the last fill before it when that is later."""
    last_fill = [f for f in fills if f.symbol == symbol and f.time < moment][-1]
    known = [m for m in marks if m.time <= moment]
    if known and known[-1].time >= last_fill.time:
        return known[-1].price
    return last_fill.price


def _reference_point(
    fills: list[Fill], marks: dict[Symbol, list[Mark]], moment: datetime
) -> tuple[Decimal, bool]:
    """Capital plus the reference math's realized and unrealized PnL of the fills before
    ``moment``, and whether anything was held."""
    expected, held = CAPITAL, False
    for symbol in (BTC, ETH):
        before = [f for f in fills if f.symbol == symbol and f.time < moment]
        quantity, average, realized = reference(
            [(f.side.sign, f.quantity, f.price, f.fee, False) for f in before]
        )
        expected += realized
        if quantity:
            held = True
            expected += quantity * (_price_known(symbol, fills, marks[symbol], moment) - average)
    return expected, held


@settings(max_examples=200)
@given(fills=fill_lists, btc=mark_lists, eth=mark_lists, times=point_times)
def test_each_point_is_capital_plus_the_reference_pnl_of_the_fills_before_it(
    fills: list[Fill], btc: list[Mark], eth: list[Mark], times: list[datetime]
) -> None:
    marks = {BTC: btc, ETH: eth}
    curve = equity_curve(CAPITAL, fills, times, marks)

    exposed = 0
    for point, moment in zip(curve.points, times, strict=True):
        with localcontext(CONTEXT):  # the reference at the curve's precision
            expected, held = _reference_point(fills, marks, moment)
        assert point.time == moment
        assert abs(point.equity - expected) <= TOLERANCE, (point, expected)
        exposed += held
    assert curve.exposed == exposed


@settings(max_examples=200)
@given(fills=fill_lists, btc=mark_lists, times=point_times)
def test_each_point_is_the_cash_the_fills_left_plus_what_is_held(
    fills: list[Fill], btc: list[Mark], times: list[datetime]
) -> None:
    curve = equity_curve(CAPITAL, fills, times, {BTC: btc})
    for point in curve.points:
        cash, value = CAPITAL, Decimal(0)
        for symbol in (BTC, ETH):
            before = [f for f in fills if f.symbol == symbol and f.time < point.time]
            held = sum((f.side.sign * f.quantity for f in before), Decimal(0))
            cash -= sum((f.side.sign * f.quantity * f.price + f.fee for f in before), Decimal(0))
            if held:
                value += held * _price_known(symbol, fills, btc if symbol == BTC else [], point.time)
        assert abs(point.equity - (cash + value)) <= TOLERANCE


@given(fills=fill_lists, start=st.integers(0, 3_600))
def test_the_trips_of_a_period_add_up_to_what_its_fills_realized_from_the_carried_positions(
    fills: list[Fill], start: int
) -> None:
    """Once every trip of the period is closed, their PnL is the realized PnL of the period's fills
    on the positions carried in at their average price."""
    carried, in_period = from_start(fills, _moment(start))
    assert len(in_period) == len(carried) + sum(f.time >= _moment(start) for f in fills)
    for symbol in (BTC, ETH):
        mine = [f for f in in_period if f.symbol == symbol]
        quantity, _, realized = reference([(f.side.sign, f.quantity, f.price, f.fee, False) for f in mine])
        if quantity == 0 and mine:
            pnl = sum((t.pnl for t in round_trips(mine)), Decimal(0))
            assert abs(pnl - realized) <= Decimal("1e-20")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(candles=markets(minutes=90), fast=st.integers(1, 3), wider=st.integers(1, 4))
def test_a_backtests_fills_and_candles_give_the_backtests_figures(
    candles: list[Candle], fast: int, wider: int
) -> None:
    params = {"fast": fast, "slow": fast + wider, "quantity": "0.05"}
    symbol = candles[0].symbol
    inputs = BacktestInputs("sma_cross", params, {symbol: candles}, fee_rate=Decimal("0.001"))
    done = run_backtest(inputs)
    closes = [Mark(c.opened_at + timedelta(minutes=1), c.close) for c in candles]
    period = Period.of(closes[0].time, closes[-1].time, "1m")

    bot = bot_performance(inputs.cash, period, done.outcome.fills, {symbol: closes}, done.outcome.denials)

    assert bot.figures.plain() == done.performance.plain()
    assert [p.equity for p in bot.curve.points] == done.outcome.equity or all(
        abs(a.equity - b) <= TOLERANCE for a, b in zip(bot.curve.points, done.outcome.equity, strict=True)
    )
    assert bot.carried == [] and bot.fills == len(done.outcome.fills)
