"""(a) Random fill sequences give the same Q, A, R as an independent reference (docs/architecture.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain.ids import BotId, OrderId, PositionId, TradeId, UserId
from domain.position import Position
from domain.values import EventMeta, Stamp, Symbol
from tests.properties.strategies import fees, prices, quantities

STAMP = Stamp(datetime(2026, 1, 1, tzinfo=UTC), EventMeta(UserId("t"), "c", "c"))

fills = st.lists(
    st.tuples(st.sampled_from([1, -1]), quantities, prices, fees, st.booleans()),
    min_size=1,
    max_size=40,
)


def reference(
    sequence: list[tuple[int, Decimal, Decimal, Decimal, bool]],
) -> tuple[Decimal, Decimal, Decimal]:
    """Written from the text of docs/architecture.md, separately from domain/position_math.py."""
    q = a = r = Decimal(0)
    for sign, size, price, fee, fee_in_base in sequence:
        fill = size * sign
        fee_quote = fee * price if fee_in_base else fee
        same_direction = (q > 0 and fill > 0) or (q < 0 and fill < 0)
        if q == 0 or same_direction:
            a = (abs(q) * a + abs(fill) * price) / (abs(q) + abs(fill))
            q += fill
        else:
            closed = min(abs(fill), abs(q))
            direction = Decimal(1) if q > 0 else Decimal(-1)
            r += closed * (price - a) * direction
            before = q
            q += fill
            if q == 0:
                a = Decimal(0)
            elif (q > 0) != (before > 0):
                a = price
        r -= fee_quote
    return q, a, r


@given(fills)
def test_position_aggregate_matches_the_reference(
    sequence: list[tuple[int, Decimal, Decimal, Decimal, bool]],
) -> None:
    position = Position.open(PositionId(uuid4()), BotId(uuid4()), Symbol("BTC", "USDT"), STAMP)
    for i, (sign, size, price, fee, fee_in_base) in enumerate(sequence):
        fee_quote = fee * price if fee_in_base else fee
        position.apply_fill(OrderId(uuid4()), TradeId(f"t{i}"), size * sign, price, fee_quote, STAMP)
    assert (position.quantity, position.average_price, position.realized_pnl) == reference(sequence)


@given(fills, prices)
def test_realized_plus_unrealized_is_the_cash_flow_at_the_mark(
    sequence: list[tuple[int, Decimal, Decimal, Decimal, bool]], mark: Decimal
) -> None:
    """Whatever the path, total PnL equals the cash spent and received valued at the mark."""
    position = Position.open(PositionId(uuid4()), BotId(uuid4()), Symbol("BTC", "USDT"), STAMP)
    cash = Decimal(0)
    for i, (sign, size, price, fee, fee_in_base) in enumerate(sequence):
        fee_quote = fee * price if fee_in_base else fee
        position.apply_fill(OrderId(uuid4()), TradeId(f"t{i}"), size * sign, price, fee_quote, STAMP)
        cash -= size * sign * price + fee_quote
    total = position.realized_pnl + position.unrealized_pnl(mark)
    assert abs(total - (cash + position.quantity * mark)) < Decimal("1e-12")
