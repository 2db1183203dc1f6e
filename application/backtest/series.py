"""Historical candles as the strategy runtime reads live ones (its ``CandleHistory`` port), up to
the candle the backtest has reached: the runtime cannot see a candle before the backtest reveals
it, so nothing decided on a candle depends on a later one (no look-ahead, by construction)."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from domain.market import Candle
from domain.values import Symbol

ONE_MINUTE = timedelta(minutes=1)


class CandleSeries:
    def __init__(self, candles: Mapping[Symbol, Sequence[Candle]]) -> None:
        """One-minute candles per symbol, oldest first, opening at the same times."""
        self._candles = {symbol: list(series) for symbol, series in candles.items()}
        first = next(iter(self._candles.values()))
        self.times = [candle.opened_at for candle in first]
        self._closed = -1  # the index of the latest closed candle; -1: none yet

    def __len__(self) -> int:
        return len(self.times)

    def close(self, index: int) -> None:
        """Candle ``index`` has closed: it and those before it are seen, none after it."""
        self._closed = index

    def newest(self, symbols: Sequence[Symbol]) -> dict[Symbol, datetime]:
        """As live: the minute in progress, the one after the latest closed candle."""
        if self._closed < 0:
            return {}
        opened = self.times[self._closed] + ONE_MINUTE
        return {symbol: opened for symbol in symbols if symbol in self._candles}

    def window(self, symbol: Symbol, until: datetime, count: int) -> list[Candle]:
        series = self._candles[symbol]
        end = min(bisect.bisect_left(self.times, until), self._closed + 1)
        return series[max(0, end - count) : end]
