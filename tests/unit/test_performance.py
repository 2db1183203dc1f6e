"""Performance metrics (domain/performance.py, docs/backtesting.md "Performance metrics"): each
figure on small examples worked out by hand, the edge cases, determinism, and round trips held to
the reference average-cost math (domain/position_math.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.performance import Fill, Trade, TradeSide, round_trips
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
