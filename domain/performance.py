"""How a backtest or a running bot performed, from its fills (and, for the metrics, its equity
curve): pure, Decimal throughout, and the same figures for the same inputs whatever the caller's
decimal context (docs/backtesting.md, "Performance metrics")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
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
from itertools import islice, pairwise, repeat
from operator import attrgetter, lt, sub
from typing import NamedTuple, Protocol

from domain.values import Side, Symbol

ZERO = Decimal(0)
ONE = Decimal(1)
YEAR = timedelta(days=365)  # what every figure is annualised over
_MICROSECOND = timedelta(microseconds=1)

# How plain() rounds (half-even), in plain notation without trailing zeros as the API writes
# decimals (docs/api.md): money and ratios to 8 places, durations in seconds to 6 (exact, since a
# datetime counts microseconds).
PLACES = 8
DURATION_PLACES = 6

# A CAGR is reported only while the yearly growth factor stays below this: annualising a short
# curve raises its return to a huge power (20% in a day is a factor of about 1e29 a year, 1% in a
# minute about 1e2271), figures that mean nothing and that floating point would call infinite.
GROWTH_LIMIT = Decimal("1e15")

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


class EquityPoint(NamedTuple):
    """One observation of the equity curve: the account's worth in the quote currency at
    ``time`` (one per candle in a backtest)."""

    time: datetime
    equity: Decimal


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


@dataclass(frozen=True)
class Performance:
    """The figures of one equity curve and its fills. Ratios are fractions (0.05 is 5%), money is
    in the quote currency, None is a figure the inputs leave undefined (docs/backtesting.md,
    "Performance metrics", gives every formula and when each is None)."""

    final_equity: Decimal
    total_return: Decimal | None
    cagr: Decimal | None
    sharpe: Decimal | None
    sortino: Decimal | None
    calmar: Decimal | None
    max_drawdown: Decimal | None
    max_drawdown_duration: timedelta
    trades: int
    win_rate: Decimal | None
    profit_factor: Decimal | None
    expectancy: Decimal | None
    exposure: Decimal | None
    fees: Decimal
    denials: int

    def plain(self) -> dict[str, str | int | None]:
        """The figures as JSON values: decimals as strings rounded half-even to ``PLACES``,
        the drawdown's duration as seconds to ``DURATION_PLACES``, counts as integers, None as
        None. The same inputs give the same strings, whatever the decimal context."""
        return {
            "final_equity": _rounded(self.final_equity),
            "total_return": _rounded(self.total_return),
            "cagr": _rounded(self.cagr),
            "sharpe": _rounded(self.sharpe),
            "sortino": _rounded(self.sortino),
            "calmar": _rounded(self.calmar),
            "max_drawdown": _rounded(self.max_drawdown),
            "max_drawdown_duration": _seconds(self.max_drawdown_duration),
            "trades": self.trades,
            "win_rate": _rounded(self.win_rate),
            "profit_factor": _rounded(self.profit_factor),
            "expectancy": _rounded(self.expectancy),
            "exposure": _rounded(self.exposure),
            "fees": _rounded(self.fees),
            "denials": self.denials,
        }


def measure(
    curve: Sequence[tuple[datetime, Decimal]],
    fills: Sequence[FillLike] = (),
    *,
    exposed: int | None = None,
    denials: int = 0,
    periods_per_year: Decimal | int | None = None,
) -> Performance:
    """The performance of an equity curve (``(time, equity)`` points, oldest first, at least one)
    and the fills behind it (oldest first).

    ``exposed`` is how many of the curve's points were taken while a position was open (in a
    backtest, the candles at whose close something was held); without it exposure is None.
    ``denials`` is how many orders the risk rules denied. ``periods_per_year`` annualises the
    Sharpe and Sortino ratios; without it, it is inferred from the curve's spacing
    (``inferred_periods_per_year``)."""
    with localcontext(CONTEXT):
        times, equities = _checked_curve(curve)
        trades = round_trips(fills)
        if exposed is not None and not (_is_int(exposed) and 0 <= exposed <= len(times)):
            raise ValueError(f"exposed must be a whole number from 0 to {len(times)}, not {exposed!r}")
        if not (_is_int(denials) and denials >= 0):
            raise ValueError(f"denials must be a whole number from 0, not {denials!r}")
        if periods_per_year is None:
            periods = _periods_per_year(times)
        elif _is_int(periods_per_year) or isinstance(periods_per_year, Decimal):
            periods = _check_decimal(Decimal(periods_per_year), "periods_per_year")
            if periods <= 0:
                raise ValueError("periods_per_year must be more than 0")
        else:
            raise TypeError(f"periods_per_year must be a Decimal or an int, not {periods_per_year!r}")
        first, last = equities[0], equities[-1]
        returns = _returns(equities)
        drawdown, duration = _drawdown(times, equities)
        cagr = _cagr(times, equities)
        pnls = [trade.pnl for trade in trades]
        gains = [pnl for pnl in pnls if pnl > 0]
        losses = [pnl for pnl in pnls if pnl < 0]
        return Performance(
            final_equity=last,
            total_return=last / first - 1 if first > 0 else None,
            cagr=cagr,
            sharpe=_sharpe(returns, periods),
            sortino=_sortino(returns, periods),
            calmar=cagr / drawdown if cagr is not None and drawdown else None,
            max_drawdown=drawdown,
            max_drawdown_duration=duration,
            trades=len(trades),
            win_rate=Decimal(len(gains)) / len(pnls) if pnls else None,
            profit_factor=sum(gains, ZERO) / -sum(losses, ZERO) if losses else None,
            expectancy=sum(pnls, ZERO) / len(pnls) if pnls else None,
            exposure=Decimal(exposed) / len(times) if exposed is not None else None,
            fees=sum((fill.fee for fill in fills), ZERO),
            denials=denials,
        )


def inferred_periods_per_year(curve: Sequence[tuple[datetime, Decimal]]) -> Decimal | None:
    """How many of the curve's periods make a year of 365 days: a year over the median time
    between consecutive points (so a few missing candles change nothing). None for fewer than two
    points."""
    with localcontext(CONTEXT):
        times, _ = _checked_curve(curve)
        return _periods_per_year(times)


def _periods_per_year(times: list[datetime]) -> Decimal | None:
    """``inferred_periods_per_year`` of checked times (in ``CONTEXT``). The steps are counted by
    length (a curve of candles has few lengths), and the median found among the counted lengths."""
    counted = sorted(Counter(map(sub, times[1:], times[:-1])).items())
    total = len(times) - 1
    if not total:
        return None

    def step(rank: int) -> int:  # the rank-th (from 0) shortest step, in microseconds
        for length, count in counted:
            if rank < count:
                return int(length // _MICROSECOND)
            rank -= count
        raise AssertionError("a rank past the steps")  # pragma: no cover - ranks are below total

    middle = total // 2
    median = Decimal(step(middle)) if total % 2 else Decimal(step(middle - 1) + step(middle)) / 2
    return Decimal(YEAR // _MICROSECOND) / median


def _returns(equities: list[Decimal]) -> list[Decimal] | None:
    """Each period's simple return, or None when one starts from an equity of 0 or less. A period
    that starts and ends on the very same Decimal (a flat stretch of a backtest's curve repeats
    one) returns exactly 0, which is what ``b / a - 1`` gives for it, without the division."""
    if len(equities) > 1 and min(equities[:-1]) <= 0:
        return None
    return [ZERO if b is a else b / a - 1 for a, b in pairwise(equities)]


def _sharpe(returns: list[Decimal] | None, periods: Decimal | None) -> Decimal | None:
    """Mean over sample standard deviation of the returns, times the square root of the periods
    in a year; risk-free rate 0."""
    if returns is None or periods is None or len(returns) < 2 or returns.count(returns[0]) == len(returns):
        return None
    mean = sum(returns, ZERO) / len(returns)
    variance = sum(map(pow, map(sub, returns, repeat(mean)), repeat(2)), ZERO) / (len(returns) - 1)
    return mean / variance.sqrt() * periods.sqrt()


def _sortino(returns: list[Decimal] | None, periods: Decimal | None) -> Decimal | None:
    """Mean over downside deviation (the root mean square of the negative returns, counting the
    others as 0), times the square root of the periods in a year; target return 0."""
    if returns is None or periods is None or len(returns) < 2 or not min(returns) < 0:
        return None
    mean = sum(returns, ZERO) / len(returns)
    downside = sum(map(pow, filter(ZERO.__gt__, returns), repeat(2)), ZERO) / len(returns)
    return mean / downside.sqrt() * periods.sqrt()


def _drawdown(times: list[datetime], equities: list[Decimal]) -> tuple[Decimal | None, timedelta]:
    """The deepest fall below a running peak as a fraction of the peak (None unless the curve
    starts above 0), and the longest time from a peak until the curve is back at it (or until the
    last point, when it never is).

    Below a peak, the fall is worked out only at a new low since the peak: a correctly rounded
    quotient never grows as the numerator shrinks, so the others cannot be deeper."""
    peak_time, peak = times[0], equities[0]
    deepest, longest, below = ZERO, timedelta(0), False
    low = peak  # the lowest equity since the peak
    for time, equity in zip(islice(times, 1, None), islice(equities, 1, None), strict=True):
        if equity >= peak:
            if below:
                longest = max(longest, time - peak_time)
            peak, peak_time, below, low = equity, time, False, equity
        else:
            below = True
            if equity < low:
                low = equity
                if peak > 0:  # else the curve has not yet been above 0: no return to fall from
                    deepest = max(deepest, (peak - equity) / peak)
    if below:
        longest = max(longest, times[-1] - peak_time)
    return (deepest if equities[0] > 0 else None), longest


def _cagr(times: list[datetime], equities: list[Decimal]) -> Decimal | None:
    """The yearly rate that compounds the first equity into the last over the curve's span."""
    first, last = equities[0], equities[-1]
    if len(equities) < 2 or first <= 0 or last < 0:
        return None
    if last == 0:
        return -ONE
    years = Decimal((times[-1] - times[0]) // _MICROSECOND) / (YEAR // _MICROSECOND)
    growth = (last / first).ln() / years  # the logarithm of the yearly growth factor
    if growth >= GROWTH_LIMIT.ln():
        return None
    return growth.exp() - 1


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _checked_curve(curve: Sequence[tuple[datetime, Decimal]]) -> tuple[list[datetime], list[Decimal]]:
    """The curve's times and equities, checked: each time a UTC datetime after the one before it,
    each equity a finite Decimal. Checked a column at a time (a backtest's curve is a million
    points); when a check fails, point by point, for the error naming the point."""
    times = [moment for moment, _ in curve]
    equities = [equity for _, equity in curve]
    if (
        not times
        or not all(issubclass(kind, datetime) for kind in set(map(type, times)))
        or not all(_fixed_utc(zone) for zone in set(map(attrgetter("tzinfo"), times)))
        or not all(map(lt, times, islice(times, 1, None)))
        or not all(issubclass(kind, Decimal) for kind in set(map(type, equities)))
        or not all(map(Decimal.is_finite, equities))
    ):
        _check_curve(curve)  # raises, naming the point
    return times, equities


def _fixed_utc(zone: object) -> bool:
    """Whether every datetime with this tzinfo is at offset 0 (a fixed ``timezone`` of 0)."""
    return isinstance(zone, timezone) and zone.utcoffset(None) == timedelta(0)


def _check_curve(curve: Sequence[tuple[datetime, Decimal]]) -> list[EquityPoint]:
    if not curve:
        raise ValueError("the equity curve needs at least one point")
    points: list[EquityPoint] = []
    for index, (moment, equity) in enumerate(curve):
        point = EquityPoint(
            _check_time(moment, f"curve[{index}] time"), _check_decimal(equity, f"curve[{index}] equity")
        )
        if points and point.time <= points[-1].time:
            raise ValueError(
                f"curve[{index}] is not after the point above it: one point per time, oldest first"
            )
        points.append(point)
    return points


def _rounded(value: Decimal | None) -> str | None:
    return None if value is None else _text(value, PLACES)


def _seconds(duration: timedelta) -> str:
    with localcontext(CONTEXT):
        return _text(Decimal(duration // _MICROSECOND).scaleb(-6), DURATION_PLACES)


def _text(value: Decimal, places: int) -> str:
    """``value`` rounded half-even to ``places``, in plain notation without trailing zeros (zero
    is "0")."""
    with localcontext(CONTEXT) as context:
        context.prec = max(context.prec, value.adjusted() + places + 2)  # quantize never overflows
        text = format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


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
