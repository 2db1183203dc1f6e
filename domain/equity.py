"""A running bot's equity curve, from its fills and the market's prices: at each point, the
capital it started with plus its realized PnL plus its open positions valued at the latest price
known then (docs/backtesting.md, "Performance of a running bot"). Pure, Decimal throughout, in
``domain.performance.CONTEXT`` whatever the caller's decimal context."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext

from domain.errors import InvalidInput
from domain.performance import CONTEXT, YEAR, EquityPoint, Fill, FillLike
from domain.position_math import PositionState, apply_fill
from domain.values import Side, Symbol

STEPS = {"1m": timedelta(minutes=1), "1h": timedelta(hours=1), "1d": timedelta(days=1)}
# The most points one curve may have: 200,000 minutes is about 139 days, hours 22 years.
MAX_POINTS = 200_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Mark:
    """A price of a symbol known from ``time`` on: a candle's close, known when the candle closes."""

    time: datetime
    price: Decimal


@dataclass(frozen=True)
class Period:
    """From ``start`` to ``end`` in steps of ``step`` (a key of ``STEPS``)."""

    start: datetime
    end: datetime
    step: str

    @classmethod
    def of(cls, start: datetime, end: datetime, step: str) -> Period:
        """The period, or InvalidInput naming ``end`` or ``step`` (``MAX_POINTS`` at most)."""
        if step not in STEPS:
            raise InvalidInput("step", f"must be one of {', '.join(STEPS)}")
        if end <= start:
            raise InvalidInput("end", f"must be after start ({start.isoformat()})")
        period = cls(start, end, step)
        count = period.point_count()
        if count > MAX_POINTS:
            raise InvalidInput(
                "step",
                f"gives {count} points from start to end, more than {MAX_POINTS}: "
                "choose a longer step or a shorter period",
            )
        return period

    @property
    def periods_per_year(self) -> int:
        """How many steps make a year (``domain.performance.YEAR``): what Sharpe and Sortino are
        annualised by, whatever the shorter first and last steps."""
        return YEAR // STEPS[self.step]

    def point_count(self) -> int:
        first, last = self._whole_steps()
        return max(0, last - first + 1) + 2

    def times(self) -> list[datetime]:
        """``start``, every whole step after it and before ``end`` (whole minutes, hours or UTC
        days), and ``end``: the first and the last step are shorter when ``start`` or ``end`` is
        not on a whole step."""
        width = STEPS[self.step]
        first, last = self._whole_steps()
        return [self.start, *(_EPOCH + k * width for k in range(first, last + 1)), self.end]

    def _whole_steps(self) -> tuple[int, int]:
        """The first and the last whole step strictly between start and end, counted in steps
        since 1970 (the last is before the first when there is none)."""
        width = STEPS[self.step]
        return (self.start - _EPOCH) // width + 1, -((_EPOCH - self.end) // width) - 1


@dataclass(frozen=True)
class EquityCurve:
    """The curve, how many of its points had a position open, and how the open positions were
    valued: at how many points every one at a candle's close, and at how many one or more at the
    price of the symbol's last fill (no candle had closed since)."""

    points: list[EquityPoint]
    exposed: int
    valued_at_candles: int
    valued_at_fills: int

    @property
    def valuation(self) -> str:
        """``candles`` when no position was ever valued at a fill's price, ``fills`` when every
        point with a position open valued one so, ``mixed`` in between."""
        if not self.valued_at_fills:
            return "candles"
        return "mixed" if self.valued_at_candles else "fills"


def equity_curve(
    capital: Decimal,
    fills: Sequence[FillLike],
    times: Sequence[datetime],
    marks: Mapping[Symbol, Sequence[Mark]],
) -> EquityCurve:
    """The equity at each of ``times`` (increasing): ``capital`` plus the realized PnL of the
    fills before that time plus each open position's unrealized PnL (docs/architecture.md,
    "Position math") at the latest price known then: the close of the symbol's latest mark at or
    before the time, unless the symbol's last fill before the time is later than that mark (or
    there is no mark), when it is that fill's price. ``fills`` and each symbol's ``marks`` are
    oldest first."""
    with localcontext(CONTEXT):
        states: dict[Symbol, PositionState] = {}
        last_fill: dict[Symbol, Mark] = {}  # each symbol's last fill's time and price
        seen: dict[Symbol, int] = {}
        points: list[EquityPoint] = []
        exposed = at_candles = at_fills = 0
        upcoming = 0
        for moment in times:
            while upcoming < len(fills) and fills[upcoming].time < moment:
                fill = fills[upcoming]
                state = states.get(fill.symbol, PositionState())
                states[fill.symbol] = apply_fill(state, fill.side.sign * fill.quantity, fill.price, fill.fee)
                last_fill[fill.symbol] = Mark(fill.time, fill.price)
                upcoming += 1
            equity = capital
            held = from_fills = False
            for symbol, state in states.items():
                equity += state.realized_pnl
                if not state.quantity:
                    continue
                held = True
                mark = _latest(marks.get(symbol, ()), seen, symbol, moment)
                traded = last_fill[symbol]
                if mark is None or traded.time > mark.time:
                    from_fills = True
                    equity += state.unrealized_pnl(traded.price)
                else:
                    equity += state.unrealized_pnl(mark.price)
            points.append(EquityPoint(moment, equity))
            exposed += held
            at_fills += from_fills
            at_candles += held and not from_fills
        return EquityCurve(points, exposed, at_candles, at_fills)


def _latest(marks: Sequence[Mark], seen: dict[Symbol, int], symbol: Symbol, moment: datetime) -> Mark | None:
    """The latest of a symbol's marks at or before ``moment`` (the times only grow: ``seen``
    keeps how far each symbol's marks were read)."""
    index = seen.get(symbol, 0)
    while index < len(marks) and marks[index].time <= moment:
        index += 1
    seen[symbol] = index
    return marks[index - 1] if index else None


@dataclass(frozen=True)
class Carried:
    """A position open at the start of a period: what was held and at what average price."""

    symbol: Symbol
    quantity: Decimal  # signed, long > 0
    average_price: Decimal


def from_start(fills: Sequence[FillLike], start: datetime) -> tuple[list[Carried], list[FillLike]]:
    """The positions open at ``start`` (after the fills before it) and the fills of the period:
    one opening fill at ``start`` per open position, at its average price without a fee, then the
    fills at or after ``start``. So a round trip open at ``start`` counts from then, entered at
    the average price the position had; a period that starts before the first fill changes
    nothing."""
    with localcontext(CONTEXT):
        states: dict[Symbol, PositionState] = {}
        index = 0
        while index < len(fills) and fills[index].time < start:
            fill = fills[index]
            state = states.get(fill.symbol, PositionState())
            states[fill.symbol] = apply_fill(state, fill.side.sign * fill.quantity, fill.price, fill.fee)
            index += 1
    carried = [
        Carried(symbol, state.quantity, state.average_price)
        for symbol, state in sorted(states.items(), key=lambda item: str(item[0]))
        if state.quantity
    ]
    opening: list[FillLike] = [
        Fill(start, c.symbol, _side(c.quantity), abs(c.quantity), c.average_price) for c in carried
    ]
    return carried, [*opening, *fills[index:]]


def _side(quantity: Decimal) -> Side:
    return Side.BUY if quantity > 0 else Side.SELL
