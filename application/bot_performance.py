"""How a running bot performed over a period, from what its read models hold: its fills, the
candles' closes and its denied orders, measured with the same figures as a backtest
(docs/backtesting.md, "Performance of a running bot")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from domain.equity import Carried, EquityCurve, Mark, Period, equity_curve, from_start
from domain.errors import InvalidInput
from domain.performance import FillLike, Performance, Trade, measure, round_trips
from domain.values import Symbol


@dataclass(frozen=True)
class BotPerformance:
    period: Period
    capital: Decimal
    quote: str | None  # the quote currency of every figure; None before the bot's first fill
    curve: EquityCurve
    carried: list[Carried]  # the positions open at the period's start
    fills: int  # in the period
    figures: Performance
    trips: list[Trade]  # the round trips closed in the period

    @property
    def denials(self) -> int:
        return self.figures.denials


def bot_performance(
    capital: Decimal,
    period: Period,
    fills: Sequence[FillLike],
    marks: Mapping[Symbol, Sequence[Mark]],
    denials: int,
) -> BotPerformance:
    """The figures of ``period``: the equity curve is ``capital`` plus the PnL of every fill
    before each point (``fills``: the bot's fills before the period's end, oldest first), valued
    at ``marks``; the round trips and fees are those of the period, a position open at its start
    carried in at its average price (``domain.equity.from_start``); ``denials`` are the period's.
    InvalidInput names ``capital`` or ``bot_id``."""
    if capital <= 0:
        raise InvalidInput("capital", "must be greater than 0")
    quotes = sorted({fill.symbol.quote for fill in fills})
    if len(quotes) > 1:
        raise InvalidInput(
            "bot_id",
            f"trades in more than one quote currency ({', '.join(quotes)}): "
            "its equity has no single currency",
        )
    curve = equity_curve(capital, fills, period.times(), marks)
    carried, in_period = from_start(fills, period.start)
    figures = measure(
        curve.points,
        in_period,
        exposed=curve.exposed,
        denials=denials,
        periods_per_year=period.periods_per_year,
    )
    return BotPerformance(
        period=period,
        capital=capital,
        quote=quotes[0] if quotes else None,
        curve=curve,
        carried=carried,
        fills=len(in_period) - len(carried),
        figures=figures,
        trips=round_trips(in_period),
    )
