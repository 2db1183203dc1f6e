"""How a backtest or a running bot performed, from its fills (and, for the metrics, its equity
curve): pure, Decimal throughout, and the same figures for the same inputs whatever the caller's
decimal context (docs/backtesting.md, "Performance metrics")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from enum import Enum
from typing import Protocol

from domain.values import Side, Symbol

ZERO = Decimal(0)

# Every figure is computed in this context, never the caller's: 50 significant digits, half-even,
# and an invalid operation, a division by zero or an overflow raised rather than turned into NaN
# or infinity (the code checks for them first, so none is raised for valid inputs).
CONTEXT = Context(
    prec=50,
    rounding=ROUND_HALF_EVEN,
    Emax=999_999,
    Emin=-999_999,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)


class FillLike(Protocol):
    """What the metrics read of a fill: any object with these attributes will do."""

    @property
    def time(self) -> datetime: ...
    @property
    def symbol(self) -> Symbol: ...
    @property
    def side(self) -> Side: ...
    @property
    def quantity(self) -> Decimal: ...  # > 0, base units
    @property
    def price(self) -> Decimal: ...  # > 0
    @property
    def fee(self) -> Decimal: ...  # in the quote currency; a rebate is negative


@dataclass(frozen=True)
class Fill:
    """A fill as the metrics take one."""

    time: datetime
    symbol: Symbol
    side: Side
    quantity: Decimal
    price: Decimal
    fee: Decimal = ZERO


class TradeSide(Enum):
    LONG = "long"
    SHORT = "short"


@dataclass(frozen=True)
class Trade:
    """One round trip in a symbol: from the fill that took the position off flat to the fill that
    brought it back to flat (or through it: a flip closes this trip and opens the next).

    ``quantity`` is what the trip bought (long) or sold (short) in all, which is also what it sold
    or bought back; ``entry_price`` and ``exit_price`` are the quantity-weighted averages of the
    fills (or parts of fills) that grew and that reduced the position; ``fees`` are the trip's
    fees in the quote currency, a flipping fill's fee shared between the two trips in proportion
    to the quantity each takes; ``pnl`` is what the trip made after fees:
    ``sign * (exit_price - entry_price) * quantity - fees`` (sign +1 long, -1 short), which is the
    realized PnL of an average-cost position over the trip, computed from the exact notionals."""

    symbol: Symbol
    side: TradeSide
    entry_time: datetime
    exit_time: datetime
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    fees: Decimal
    pnl: Decimal


@dataclass
class _Trip:
    """A round trip still open: sums of what it took on and gave back."""

    symbol: Symbol
    sign: int  # +1 long, -1 short
    entry_time: datetime
    entered: Decimal = ZERO
    entry_notional: Decimal = ZERO
    exited: Decimal = ZERO
    exit_notional: Decimal = ZERO
    fees: Decimal = ZERO

    @property
    def open_quantity(self) -> Decimal:
        return self.entered - self.exited

    def enter(self, quantity: Decimal, price: Decimal, fee: Decimal) -> None:
        self.entered += quantity
        self.entry_notional += quantity * price
        self.fees += fee

    def exit(self, quantity: Decimal, price: Decimal, fee: Decimal) -> None:
        self.exited += quantity
        self.exit_notional += quantity * price
        self.fees += fee

    def closed(self, at: datetime) -> Trade:
        return Trade(
            symbol=self.symbol,
            side=TradeSide.LONG if self.sign > 0 else TradeSide.SHORT,
            entry_time=self.entry_time,
            exit_time=at,
            quantity=self.entered,
            entry_price=self.entry_notional / self.entered,
            exit_price=self.exit_notional / self.exited,
            fees=self.fees,
            pnl=self.sign * (self.exit_notional - self.entry_notional) - self.fees,
        )


def round_trips(fills: Sequence[FillLike]) -> list[Trade]:
    """The closed round trips of a netting, average-cost position per symbol, in the order they
    closed. ``fills`` are oldest first; a trip still open after the last fill is not listed."""
    with localcontext(CONTEXT):
        _check_fills(fills)
        trips: dict[Symbol, _Trip] = {}
        closed: list[Trade] = []
        for fill in fills:
            sign = fill.side.sign
            trip = trips.get(fill.symbol)
            if trip is None:
                trip = trips[fill.symbol] = _Trip(fill.symbol, sign, fill.time)
            if sign == trip.sign:
                trip.enter(fill.quantity, fill.price, fill.fee)
                continue
            held = trip.open_quantity
            if fill.quantity <= held:
                trip.exit(fill.quantity, fill.price, fill.fee)
                if fill.quantity == held:
                    closed.append(trip.closed(fill.time))
                    del trips[fill.symbol]
                continue
            closing_fee = fill.fee * held / fill.quantity
            trip.exit(held, fill.price, closing_fee)
            closed.append(trip.closed(fill.time))
            flipped = trips[fill.symbol] = _Trip(fill.symbol, sign, fill.time)
            flipped.enter(fill.quantity - held, fill.price, fill.fee - closing_fee)
        return closed


def _check_time(moment: object, what: str) -> datetime:
    if not isinstance(moment, datetime) or moment.utcoffset() != timedelta(0):
        raise ValueError(f"{what} must be a timezone-aware UTC datetime, not {moment!r}")
    return moment


def _check_decimal(value: object, what: str) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"{what} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{what} must be finite, not {value}")
    return value


def _check_fills(fills: Sequence[FillLike]) -> None:
    previous: datetime | None = None
    for index, fill in enumerate(fills):
        what = f"fills[{index}]"
        moment = _check_time(fill.time, f"{what}.time")
        if previous is not None and moment < previous:
            raise ValueError(f"{what}.time is before the fill above it: fills go oldest first")
        previous = moment
        if not isinstance(fill.side, Side):
            raise TypeError(f"{what}.side must be a Side, not {fill.side!r}")
        if _check_decimal(fill.quantity, f"{what}.quantity") <= 0:
            raise ValueError(f"{what}.quantity must be more than 0")
        if _check_decimal(fill.price, f"{what}.price") <= 0:
            raise ValueError(f"{what}.price must be more than 0")
        _check_decimal(fill.fee, f"{what}.fee")
