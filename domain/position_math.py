"""Average-cost netting position math, as docs/architecture.md states it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class PositionState:
    quantity: Decimal = ZERO  # signed, long > 0
    average_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        return self.quantity * (mark - self.average_price)


def average_after(held: Decimal, average: Decimal, added: Decimal, price: Decimal) -> Decimal:
    """The average price of ``held`` at ``average`` and ``added`` more at ``price`` (both > 0
    together): of an order's fills, and of a position that grows."""
    return (held * average + added * price) / (held + added)


def _sign(value: Decimal) -> int:
    return (value > 0) - (value < 0)


def apply_fill(
    state: PositionState, signed_qty: Decimal, price: Decimal, fee_quote: Decimal
) -> PositionState:
    """The position after a fill of ``signed_qty`` at ``price`` paying ``fee_quote``."""
    q_now, avg, realized = state.quantity, state.average_price, state.realized_pnl
    if q_now == 0 or _sign(signed_qty) == _sign(q_now):
        avg = average_after(abs(q_now), avg, abs(signed_qty), price)
        q_new = q_now + signed_qty
    else:
        closed = min(abs(signed_qty), abs(q_now))
        realized += closed * (price - avg) * _sign(q_now)
        q_new = q_now + signed_qty
        if q_new == 0:
            avg = ZERO
        elif _sign(q_new) != _sign(q_now):
            avg = price
    return PositionState(q_new, avg, realized - fee_quote)
