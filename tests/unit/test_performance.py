"""Performance metrics (domain/performance.py, docs/backtesting.md "Performance metrics"): each
figure on small examples worked out by hand, the edge cases, determinism, and round trips held to
the reference average-cost math (domain/position_math.py)."""

from __future__ import annotations

import ast
import json
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_CEILING, ROUND_DOWN, Context, Decimal, localcontext
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import domain.performance
from domain.performance import (
    YEAR,
    EquityPoint,
    Fill,
    Trade,
    TradeSide,
    inferred_periods_per_year,
    measure,
    round_trips,
)
from domain.position_math import PositionState, apply_fill
from domain.values import Side, Symbol
from tests.properties.strategies import fees, prices, quantities

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
BUY, SELL = Side.BUY, Side.SELL
CET = timezone(timedelta(hours=1))


def d(text: str | int) -> Decimal:
    return Decimal(text)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def fill(minute: int, side: Side, quantity: str, price: str, fee: str = "0", symbol: Symbol = BTC) -> Fill:
    return Fill(at(minute), symbol, side, d(quantity), d(price), d(fee))


# --- round trips ---------------------------------------------------------------------------------

# Long 1 from 100 to 110; short 2 at 120, flipped long by buying 3 at 100; the long 1 closed at 90.
# Realized PnL by docs/architecture.md: -1, 8, 6, 43, 33 after each fill.
FLIPPING = [
    fill(1, BUY, "1", "100", "1"),
    fill(2, SELL, "1", "110", "1"),
    fill(3, SELL, "2", "120", "2"),
    fill(4, BUY, "3", "100", "3"),
    fill(5, SELL, "1", "90"),
]


def test_a_round_trip_runs_from_flat_to_flat_and_a_flip_closes_one_and_opens_the_next() -> None:
    assert round_trips(FLIPPING) == [
        Trade(BTC, TradeSide.LONG, at(1), at(2), d(1), d(100), d(110), d(2), d(8)),
        # the flipping buy's fee of 3 is shared 2 : 1 between the short it closes and the long it opens
        Trade(BTC, TradeSide.SHORT, at(3), at(4), d(2), d(120), d(100), d(4), d(36)),
        Trade(BTC, TradeSide.LONG, at(4), at(5), d(1), d(100), d(90), d(1), d(-11)),
    ]
    assert sum(trade.pnl for trade in round_trips(FLIPPING)) == 33


def test_entry_and_exit_prices_average_every_fill_that_grew_or_reduced_the_position() -> None:
    trades = round_trips(
        [
            fill(1, SELL, "1", "100", "0.5"),
            fill(2, SELL, "1", "110", "0.5"),  # short 2, entered at 105 on average
            fill(3, BUY, "0.5", "120"),  # reduced
            fill(4, SELL, "0.5", "130"),  # grown again: 2.5 sold in all for 275, at 110
            fill(5, BUY, "2", "90", "1"),  # bought back 2.5 for 60 + 180, at 96
        ]
    )
    assert trades == [Trade(BTC, TradeSide.SHORT, at(1), at(5), d("2.5"), d(110), d(96), d(2), d(33))]


def test_trips_of_several_symbols_are_listed_in_the_order_they_closed() -> None:
    trades = round_trips(
        [
            fill(1, BUY, "1", "100"),
            fill(2, SELL, "10", "20", symbol=ETH),
            fill(3, BUY, "10", "19", symbol=ETH),
            fill(4, SELL, "1", "101"),
        ]
    )
    assert [(trade.symbol, trade.side, trade.pnl) for trade in trades] == [
        (ETH, TradeSide.SHORT, d(10)),
        (BTC, TradeSide.LONG, d(1)),
    ]


def test_a_trip_still_open_after_the_last_fill_is_not_listed() -> None:
    assert round_trips([fill(1, BUY, "1", "100"), fill(2, SELL, "0.5", "110")]) == []
    assert round_trips([]) == []
    # the trip a flip opens is not closed by it
    assert len(round_trips([fill(1, BUY, "1", "100"), fill(2, SELL, "3", "110")])) == 1


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (Fill(datetime(2026, 1, 1), BTC, BUY, d(1), d(1)), ValueError),  # noqa: DTZ001 - naive on purpose
        (Fill(datetime(2026, 1, 1, 1, tzinfo=CET), BTC, BUY, d(1), d(1)), ValueError),
        (Fill(T0, BTC, BUY, 1.0, d(1)), TypeError),  # type: ignore[arg-type]
        (Fill(T0, BTC, BUY, d(0), d(1)), ValueError),
        (Fill(T0, BTC, BUY, d(1), d(-1)), ValueError),
        (Fill(T0, BTC, BUY, d(1), d(1), d("NaN")), ValueError),
        (Fill(T0, BTC, "buy", d(1), d(1)), TypeError),  # type: ignore[arg-type]
    ],
)
def test_fills_are_refused_unless_utc_ordered_and_decimal(bad: Fill, error: type[Exception]) -> None:
    with pytest.raises(error):
        round_trips([fill(0, BUY, "1", "1"), bad])


def test_fills_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="oldest first"):
        round_trips([fill(2, BUY, "1", "100"), fill(1, SELL, "1", "100")])


# Fills that often close a position exactly or flip it, so that trips end at random places.
ops = st.lists(
    st.tuples(
        st.sampled_from([BTC, ETH]),
        st.sampled_from(["open", "close", "flip"]),
        st.sampled_from([BUY, SELL]),
        quantities,
        prices,
        fees,
    ),
    min_size=1,
    max_size=40,
)


def fills_of(sequence: list[tuple[Symbol, str, Side, Decimal, Decimal, Decimal]]) -> list[Fill]:
    held: dict[Symbol, Decimal] = {BTC: d(0), ETH: d(0)}
    made = []
    for minute, (symbol, kind, drawn_side, drawn, price, fee) in enumerate(sequence):
        position = held[symbol]
        side, quantity = drawn_side, drawn
        if kind != "open" and position:
            side = SELL if position > 0 else BUY
            quantity = abs(position) + (drawn if kind == "flip" else 0)
        made.append(Fill(at(minute), symbol, side, quantity, price, fee))
        held[symbol] += quantity * side.sign
    return made


def flattened(fills: list[Fill], price: Decimal, fee: Decimal) -> list[Fill]:
    """``fills`` and, for each symbol still held after them, a fill that takes it back to flat."""
    for symbol in (BTC, ETH):
        position = sum((f.quantity * f.side.sign for f in fills if f.symbol == symbol), d(0))
        if position:
            side = SELL if position > 0 else BUY
            fills = [*fills, Fill(at(len(fills)), symbol, side, abs(position), price, fee)]
    return fills


def realized(fills: Sequence[Fill]) -> dict[Symbol, Decimal]:
    """The realized PnL of each symbol's position after ``fills``, by domain/position_math.py."""
    states: dict[Symbol, PositionState] = {BTC: PositionState(), ETH: PositionState()}
    for each in fills:
        signed = each.quantity * each.side.sign
        states[each.symbol] = apply_fill(states[each.symbol], signed, each.price, each.fee)
    return {symbol: state.realized_pnl for symbol, state in states.items()}


@given(ops, prices, fees)
def test_round_trips_add_up_to_the_realized_pnl_of_the_average_cost_position(
    sequence: list[tuple[Symbol, str, Side, Decimal, Decimal, Decimal]], price: Decimal, fee: Decimal
) -> None:
    fills = flattened(fills_of(sequence), price, fee)
    trades = round_trips(fills)
    for symbol, pnl in realized(fills).items():
        ours = [trade for trade in trades if trade.symbol == symbol]
        # position_math divides at 28 digits for its average price; the trips' sums are exact
        assert abs(sum((trade.pnl for trade in ours), d(0)) - pnl) < d("1e-12")
        paid = sum((f.fee for f in fills if f.symbol == symbol), d(0))
        assert abs(sum((trade.fees for trade in ours), d(0)) - paid) < d("1e-12")
    for trade in trades:
        assert trade.quantity > 0
        assert trade.entry_time <= trade.exit_time


@given(ops)
def test_a_later_fill_never_changes_a_trip_already_closed(
    sequence: list[tuple[Symbol, str, Side, Decimal, Decimal, Decimal]],
) -> None:
    fills = fills_of(sequence)
    trades = round_trips(fills)
    for count in range(len(fills)):
        assert round_trips(fills[:count]) == trades[: len(round_trips(fills[:count]))]


# --- the metrics ---------------------------------------------------------------------------------


def days(*equities: str, step: timedelta = timedelta(days=1)) -> list[EquityPoint]:
    """A curve with a point every ``step`` from T0."""
    return [EquityPoint(T0 + step * i, d(equity)) for i, equity in enumerate(equities)]


def figures(
    curve: Sequence[tuple[datetime, Decimal]], fills: Sequence[Fill] = (), **options: Any
) -> dict[str, Any]:
    return measure(curve, fills, **options).plain()


# Daily: up 10%, down 10%, up 10% (returns 0.1, -0.1, 0.1).
DAILY = days("100", "110", "99", "108.9")


def test_returns_and_ratios_of_a_daily_curve() -> None:
    plain = figures(DAILY)
    assert plain["final_equity"] == "108.9"
    assert plain["total_return"] == "0.089"
    # (1.089 ** (365 / 3)) - 1: three days of it compounded over a year
    assert plain["cagr"] == "31992.2753382"
    # mean 1/30, sample variance ((1/15)^2 + (2/15)^2 + (1/15)^2) / 2 = 1/75, 365 periods a year:
    # (1/30) / sqrt(1/75) * sqrt(365) = sqrt(1095) / 6
    assert plain["sharpe"] == "5.5151307"
    # downside deviation sqrt((0 + 0.01 + 0) / 3) = 0.1 / sqrt(3): (1/30) * sqrt(3) / 0.1 * sqrt(365)
    assert plain["sortino"] == "11.03026141"  # sqrt(1095) / 3
    assert plain["max_drawdown"] == "0.1"  # 110 -> 99
    assert plain["max_drawdown_duration"] == "172800"  # from the peak on day 1 to the end, unrecovered
    assert plain["calmar"] == "319922.75338198"  # cagr / 0.1, from the cagr before rounding


def test_periods_per_year_can_be_given() -> None:
    plain = figures(DAILY, periods_per_year=252)
    assert plain["sharpe"] == "4.58257569"  # sqrt(3)/6 * sqrt(252) = sqrt(21)
    assert plain["sortino"] == "9.16515139"  # 2 sqrt(21)
    assert figures(DAILY, periods_per_year=d("365")) == figures(DAILY)


def test_periods_per_year_are_inferred_from_the_median_spacing() -> None:
    def spaced(*minutes: int) -> list[EquityPoint]:
        return [EquityPoint(at(minute), d(100)) for minute in minutes]

    assert inferred_periods_per_year(DAILY) == 365
    assert inferred_periods_per_year(spaced(0, 1, 2, 7)) == 525_600  # a gap of 5 minutes changes nothing
    assert inferred_periods_per_year(spaced(0, 1, 3)) == 350_400  # steps 1 and 2: the median is 1.5 minutes
    assert inferred_periods_per_year(spaced(0)) is None


def test_cagr_compounds_over_365_day_years() -> None:
    assert figures(days("100", "121", step=timedelta(days=730)))["cagr"] == "0.1"
    assert figures(days("100", "50", step=timedelta(days=365)))["cagr"] == "-0.5"
    assert figures(days("100", "100", step=timedelta(minutes=1)))["cagr"] == "0"
    assert figures(days("100", "0", step=timedelta(days=10)))["cagr"] == "-1"  # all lost
    assert figures(days("100", "-10"))["cagr"] is None  # less than all lost: no rate compounds to it


def test_cagr_is_none_from_a_yearly_growth_factor_of_1e15() -> None:
    year = timedelta(days=365)
    assert figures(days("100", "99999999999999900", step=year))["cagr"] == "999999999999998"
    assert figures(days("100", "100000000000000000", step=year))["cagr"] is None
    assert figures(days("100", "110", step=timedelta(minutes=1)))["cagr"] is None  # 1.1 ** 525600
    assert figures(days("100", "110", step=timedelta(minutes=1)))["calmar"] is None


def test_calmar_is_cagr_over_the_maximum_drawdown() -> None:
    curve = [
        EquityPoint(T0, d(100)),
        EquityPoint(T0 + timedelta(days=100), d(80)),
        EquityPoint(T0 + YEAR, d(120)),
    ]
    plain = figures(curve)
    assert (plain["cagr"], plain["max_drawdown"], plain["calmar"]) == ("0.2", "0.2", "1")
    assert plain["max_drawdown_duration"] == "31536000"  # back at the peak of 100 only at the end


def test_a_drawdown_lasts_from_the_last_time_at_the_peak_until_back_at_it() -> None:
    curve = [EquityPoint(at(minute), d(equity)) for minute, equity in enumerate([100, 100, 90, 100, 95])]
    plain = figures(curve)
    assert plain["max_drawdown"] == "0.1"
    assert plain["max_drawdown_duration"] == "120"  # minute 1 to minute 3; then 3 to 4, unrecovered


def test_the_deepest_and_the_longest_drawdown_may_differ() -> None:
    curve = [
        EquityPoint(at(minute), d(equity))
        for minute, equity in [(0, 100), (1, 50), (2, 100), (3, 99), (10, 99)]
    ]
    plain = figures(curve)
    assert plain["max_drawdown"] == "0.5"  # 2 minutes long
    assert plain["max_drawdown_duration"] == "480"  # minute 2 to the end at minute 10, at 1%


def test_a_duration_keeps_its_microseconds() -> None:
    curve = [EquityPoint(T0, d(2)), EquityPoint(T0 + timedelta(seconds=1, microseconds=5), d(1))]
    assert measure(curve).max_drawdown_duration == timedelta(seconds=1, microseconds=5)
    assert figures(curve)["max_drawdown_duration"] == "1.000005"


def test_trade_figures_come_from_the_closed_round_trips() -> None:
    # trips of 8, 36 and -11 (test_a_round_trip_runs_from_flat_to_flat...), with fees of 7 in all
    plain = figures(DAILY, FLIPPING)
    assert plain["trades"] == 3
    assert plain["win_rate"] == "0.66666667"  # 2 of 3
    assert plain["profit_factor"] == "4"  # (8 + 36) / 11
    assert plain["expectancy"] == "11"  # 33 / 3
    assert plain["fees"] == "7"


def test_trade_figures_without_trades_losses_or_wins() -> None:
    opened = [fill(1, BUY, "1", "100", "0.5")]
    plain = figures(DAILY, opened)
    assert (plain["trades"], plain["win_rate"], plain["profit_factor"], plain["expectancy"]) == (
        0,
        None,
        None,
        None,
    )
    assert plain["fees"] == "0.5"  # every fill's fee counts, closed or not

    winning = figures(DAILY, FLIPPING[:2])  # one trip of 8
    assert (winning["win_rate"], winning["profit_factor"], winning["expectancy"]) == ("1", None, "8")

    losing = figures(DAILY, [fill(1, BUY, "1", "100"), fill(2, SELL, "1", "90")])
    assert (losing["win_rate"], losing["profit_factor"], losing["expectancy"]) == ("0", "0", "-10")

    even = figures(DAILY, [fill(1, BUY, "1", "100"), fill(2, SELL, "1", "100")])
    assert (even["win_rate"], even["profit_factor"], even["expectancy"]) == ("0", None, "0")


def test_exposure_is_the_share_of_points_taken_with_a_position_open() -> None:
    assert figures(DAILY, exposed=3)["exposure"] == "0.75"
    assert figures(DAILY, exposed=0)["exposure"] == "0"
    assert figures(DAILY)["exposure"] is None
    for bad in (-1, 5, True):
        with pytest.raises(ValueError, match="exposed"):
            measure(DAILY, exposed=bad)


def test_denials_are_passed_through() -> None:
    assert figures(DAILY, denials=4)["denials"] == 4
    assert figures(DAILY)["denials"] == 0
    with pytest.raises(ValueError, match="denials"):
        measure(DAILY, denials=-1)


# --- edge cases ----------------------------------------------------------------------------------


def test_a_curve_of_one_point() -> None:
    assert figures(days("100"), exposed=1) == {
        "final_equity": "100",
        "total_return": "0",
        "cagr": None,
        "sharpe": None,
        "sortino": None,
        "calmar": None,
        "max_drawdown": "0",
        "max_drawdown_duration": "0",
        "trades": 0,
        "win_rate": None,
        "profit_factor": None,
        "expectancy": None,
        "exposure": "1",
        "fees": "0",
        "denials": 0,
    }


def test_one_return_gives_no_ratio() -> None:
    plain = figures(days("100", "90"))
    assert (plain["sharpe"], plain["sortino"]) == (None, None)
    assert plain["total_return"] == "-0.1"


def test_zero_volatility() -> None:
    flat = figures(days("100", "100", "100"))
    assert (flat["sharpe"], flat["sortino"], flat["calmar"]) == (None, None, None)
    assert (flat["total_return"], flat["cagr"], flat["max_drawdown"], flat["max_drawdown_duration"]) == (
        "0",
        "0",
        "0",
        "0",
    )

    rising = figures(days("100", "101", "102.01"))  # 1% a day, every day
    assert (rising["sharpe"], rising["sortino"], rising["max_drawdown"]) == (None, None, "0")
    assert rising["cagr"] == "36.78343433"  # 1.0201 ** (365 / 2) - 1
    assert rising["calmar"] is None  # no drawdown

    falling = figures(days("100", "90", "81"))  # no volatility, but a downside
    assert falling["sharpe"] is None
    assert falling["sortino"] == "-19.10497317"  # -0.1 / 0.1 * sqrt(365)


def test_equity_that_starts_at_zero_or_less_has_no_return() -> None:
    plain = figures(days("0", "10", "20"))
    for name in ("total_return", "cagr", "sharpe", "sortino", "calmar", "max_drawdown"):
        assert plain[name] is None, name
    assert (plain["final_equity"], plain["max_drawdown_duration"]) == ("20", "0")


def test_equity_that_reaches_zero_or_below() -> None:
    wiped = figures(days("100", "0", "50"))
    assert (wiped["sharpe"], wiped["sortino"]) == (None, None)  # no return from an equity of 0
    assert (wiped["max_drawdown"], wiped["max_drawdown_duration"]) == ("1", "172800")
    assert wiped["total_return"] == "-0.5"

    owing = figures(days("100", "-20"))
    assert (owing["total_return"], owing["cagr"], owing["max_drawdown"]) == ("-1.2", None, "1.2")

    back = figures(days("100", "-20", "10", "20"))  # no return from a negative equity either
    assert (back["sharpe"], back["sortino"], back["total_return"]) == (None, None, "-0.8")


@pytest.mark.parametrize(
    ("curve", "error"),
    [
        ([], ValueError),
        ([(T0, d(1)), (T0, d(2))], ValueError),  # one point a time
        ([(at(1), d(1)), (at(0), d(2))], ValueError),  # oldest first
        ([(T0, 100.0)], TypeError),
        ([(T0, d("Infinity"))], ValueError),
        ([(datetime(2026, 1, 1), d(1))], ValueError),  # noqa: DTZ001 - naive on purpose
        ([(datetime(2026, 1, 1, tzinfo=CET), d(1))], ValueError),
    ],
)
def test_curves_are_refused_unless_utc_ordered_and_decimal(curve: list[Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        measure(curve)


def test_periods_per_year_are_refused_unless_a_positive_decimal_or_int() -> None:
    with pytest.raises(ValueError, match="periods_per_year"):
        measure(DAILY, periods_per_year=0)
    with pytest.raises(TypeError, match="periods_per_year"):
        measure(DAILY, periods_per_year=365.0)  # type: ignore[arg-type]


# --- determinism ---------------------------------------------------------------------------------


def test_the_same_inputs_give_the_same_bytes() -> None:
    def report() -> bytes:
        return json.dumps(figures(DAILY, FLIPPING, exposed=2, denials=1)).encode()

    first = report()
    assert report() == first
    with localcontext(Context(prec=5, rounding=ROUND_DOWN, traps=[])):  # whatever the caller's context
        assert report() == first
    # the same values written otherwise
    rewritten = [EquityPoint(time, Decimal(f"{equity:.6f}")) for time, equity in DAILY]
    assert json.dumps(figures(rewritten, FLIPPING, exposed=2, denials=1)).encode() == first


def test_plain_rounds_half_even_to_8_places_without_trailing_zeros() -> None:
    assert figures(days("100.000000005"))["final_equity"] == "100"
    assert figures(days("100.000000015"))["final_equity"] == "100.00000002"
    assert figures(days("-0.000000001"))["final_equity"] == "0"  # never "-0"
    assert figures(days("1E+3"))["final_equity"] == "1000"
    assert figures(days("12345678901234567890.123456789"))["final_equity"] == "12345678901234567890.12345679"


PLAIN_DECIMAL = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]{0,7}[1-9])?$")

curves = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=60 * 24 * 30), st.integers(min_value=-10_000, max_value=10**7)
    ),
    min_size=1,
    max_size=30,
)


@given(curves, ops)
def test_every_curve_gives_plain_decimals_or_none_and_never_raises(
    steps: list[tuple[int, int]], sequence: list[tuple[Symbol, str, Side, Decimal, Decimal, Decimal]]
) -> None:
    minute, curve = 0, []
    for step, cents in steps:
        curve.append(EquityPoint(at(minute), Decimal(cents) / 100))
        minute += step
    fills = fills_of(sequence)
    plain = figures(curve, fills)
    for name, value in plain.items():
        if name in ("trades", "denials"):
            assert isinstance(value, int)
        elif value is not None:
            assert PLAIN_DECIMAL.match(value), (name, value)
    with localcontext(Context(prec=3, rounding=ROUND_CEILING, traps=[])):
        assert figures(curve, fills) == plain


def test_the_metrics_use_nothing_but_the_standard_library_and_the_domain() -> None:
    """pyproject's contracts keep pydantic and I/O out of the domain, not numpy: this module
    must not use it (nor floats)."""
    imported, floats = set(), []
    for node in ast.walk(ast.parse(Path(domain.performance.__file__).read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
        elif (isinstance(node, ast.Name) and node.id in ("float", "math")) or (
            isinstance(node, ast.Constant) and isinstance(node.value, float)
        ):
            floats.append(ast.unparse(node))
    assert imported - {"domain"} <= sys.stdlib_module_names, imported
    assert "math" not in imported
    assert floats == []


def reference_figures(curve: list[EquityPoint]) -> tuple[Any, ...]:
    """Sharpe, Sortino, the deepest drawdown and the periods per year as the documentation defines
    them, point by point: every return divided out, every point below a peak measured."""
    with localcontext(domain.performance.CONTEXT):
        equities = [point.equity for point in curve]
        steps = sorted((b.time - a.time) // timedelta(microseconds=1) for a, b in pairwise(curve))
        middle = len(steps) // 2
        median = Decimal(steps[middle]) if len(steps) % 2 else Decimal(steps[middle - 1] + steps[middle]) / 2
        periods = Decimal(YEAR // timedelta(microseconds=1)) / median
        returns = [b / a - 1 for a, b in pairwise(equities)]
        mean = sum(returns, Decimal(0)) / len(returns)
        sharpe = sortino = None
        if len(returns) > 1 and len(set(returns)) > 1:
            variance = sum(((r - mean) ** 2 for r in returns), Decimal(0)) / (len(returns) - 1)
            sharpe = mean / variance.sqrt() * periods.sqrt()
        if len(returns) > 1 and any(r < 0 for r in returns):
            downside = sum((r**2 for r in returns if r < 0), Decimal(0)) / len(returns)
            sortino = mean / downside.sqrt() * periods.sqrt()
        peak, deepest = equities[0], Decimal(0)
        for equity in equities[1:]:
            peak = max(peak, equity)
            deepest = max(deepest, (peak - equity) / peak)
        return sharpe, sortino, deepest, periods


@given(
    st.lists(
        st.tuples(st.sampled_from([1, 1, 1, 2, 60]), st.integers(0, 3), st.integers(1, 10**6)),
        min_size=2,
        max_size=60,
    )
)
def test_the_figures_are_the_point_by_point_figures_whether_equities_repeat_or_not(
    steps: list[tuple[int, int, int]],
) -> None:
    """measure takes shortcuts on long curves (a flat stretch repeats one Decimal; only new lows
    below a peak can deepen a drawdown; steps counted by length): the figures stay exactly these."""
    minute, curve = 0, []
    for step, repeats, cents in steps:
        equity = Decimal(cents) / 100
        for _ in range(repeats + 1):  # the same Decimal object repeated, as a flat backtest writes it
            curve.append(EquityPoint(at(minute), equity))
            minute += step
    figures = measure(curve)
    expected = reference_figures(curve)
    got = (figures.sharpe, figures.sortino, figures.max_drawdown, inferred_periods_per_year(curve))
    assert got == expected
    assert [str(value) for value in got] == [str(value) for value in expected]
