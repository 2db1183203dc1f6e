"""The backtest loop: historical candles through the live code on a simulated clock.

For each candle, in time order:
1. When anything is open at the exchange or waiting to be sent, the market moves through the
   candle: its open, then the extreme nearer the open, then the other extreme, then its close (a
   documented path: a candle's bars do not say in which order its prices came). At each of these
   four moments the marks are set and execution acts as it does live: orders decided on the
   previous candle's close are sent at the open (a market order fills there, moved by the
   slippage), resting limit and stop orders fill when the path reaches them, and every answer is
   recorded through the command bus.
2. The candle closes: the strategy runtime decides on it, as live, on the candles closed so far
   (the series reveals no later one) and records the decision with its orders, which go to the
   exchange at the next candle's open.

Candles where nothing is open and the strategy's screen says it would decide nothing are passed
over at the cost of a comparison: the event-sourced path runs only where an order does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from application.backtest.series import ONE_MINUTE, CandleSeries
from application.strategies.indicators import Flags
from application.strategy_runtime import StrategyRuntime
from domain.market import Candle
from domain.values import Symbol

PATH_OFFSETS = (timedelta(0), timedelta(seconds=15), timedelta(seconds=30), timedelta(seconds=45))
"""When, within its minute, the candle's four path prices are reached."""


class Execution(Protocol):
    def act(self) -> bool:
        """Does what is due now, as the execution worker would: sends new orders, brings the
        paper accounts to the marks (which may fill resting orders), records what happened;
        returns whether an order is still open."""
        ...


class Marks(Protocol):
    def set(self, symbol: Symbol, price: Decimal) -> None: ...


class SettableClock(Protocol):
    def now(self) -> datetime: ...

    def set(self, moment: datetime) -> None: ...


def path(candle: Candle) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """The candle's prices in the order the backtest takes them: open, the extreme nearer the
    open, the other extreme, close (high first when both are as near)."""
    if candle.high - candle.open <= candle.open - candle.low:
        return candle.open, candle.high, candle.low, candle.close
    return candle.open, candle.low, candle.high, candle.close


@dataclass
class Backtest:
    runtime: StrategyRuntime
    series: CandleSeries
    candles: Mapping[Symbol, list[Candle]]
    execution: Execution
    marks: Marks
    clock: SettableClock
    screen: Flags | None = None
    """Candles whose close the strategy may act on (None: every one); see Strategy.screen."""

    def run(self, progress: Callable[[int], None] | None = None, every: int = 10_000) -> None:
        """Runs through every candle; ``progress`` is told how many are done, every ``every``."""
        times, series = self.series.times, self.candles
        decides = [True] * len(times) if self.screen is None else self.screen.tolist()
        symbols = sorted(series, key=str)
        busy = False  # an order open at the exchange, or placed and not yet sent
        for index, opened in enumerate(times):
            if busy:
                paths = [path(series[symbol][index]) for symbol in symbols]
                for slot, offset in enumerate(PATH_OFFSETS):
                    self.clock.set(opened + offset)
                    for symbol, prices in zip(symbols, paths, strict=True):
                        self.marks.set(symbol, prices[slot])
                    busy = self.execution.act()
            if decides[index]:
                self.clock.set(opened + ONE_MINUTE)
                for symbol in symbols:
                    self.marks.set(symbol, series[symbol][index].close)
                self.series.close(index)
                busy = self.runtime.turn() > 0 or busy
            if progress is not None and index % every == 0:
                progress(index)
        if progress is not None:
            progress(len(times))
