"""Offline market data: a seeded random walk, or a CSV file of one-minute candles. Each gives, for
a moment, the candles that moment completes or updates; the market-data worker stores them and
takes each symbol's last close as its mark price."""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from domain.errors import InvalidInput
from domain.market import Candle
from domain.values import MarketSpec, Symbol, non_negative_decimal, positive_decimal

COLUMNS = ("symbol", "opened_at", "open", "high", "low", "close", "volume")


class RandomWalk:
    """Geometric random-walk ticks, one per symbol each time it is asked, folded into one-minute
    candles. The same seed, start prices and times give the same path."""

    def __init__(
        self,
        start: dict[Symbol, Decimal],
        markets: dict[Symbol, MarketSpec],
        seed: int = 0,
        volatility: float = 0.0005,
    ) -> None:
        self._prices = dict(start)
        self._ticks = {symbol: markets[symbol].price_tick for symbol in start}
        self._random = random.Random(seed)
        self._volatility = volatility
        self._candles: dict[Symbol, Candle] = {}

    def close(self) -> None:
        """Nothing to let go of."""

    def history(self, until: datetime, minutes: int, stored: set[Symbol]) -> list[Candle]:
        """The walk's past for the symbols without ``stored`` candles: the ``minutes`` whole
        candles before ``until``'s minute (four steps each), so a strategy can warm up at once on
        a fresh store; the walk goes on from where its past ends."""
        end = until.replace(second=0, microsecond=0)
        candles: list[Candle] = []
        for symbol in sorted(set(self._prices) - stored, key=str):
            for minute in range(minutes, 0, -1):
                opened = end - timedelta(minutes=minute)
                candle = None
                for _ in range(4):
                    price, volume = self._step(symbol)
                    candle = (
                        Candle.first_tick(symbol, opened, price, volume)
                        if candle is None
                        else candle.with_tick(price, volume)
                    )
                assert candle is not None
                candles.append(candle)
        return candles

    def _step(self, symbol: Symbol) -> tuple[Decimal, Decimal]:
        step = math.exp(self._random.gauss(0.0, self._volatility))
        price = (self._prices[symbol] * Decimal(repr(step))).quantize(self._ticks[symbol], ROUND_HALF_EVEN)
        price = max(price, self._ticks[symbol])
        self._prices[symbol] = price
        return price, Decimal(self._random.randint(1, 1000)) / 100

    def tick(self, at: datetime) -> list[Candle]:
        """Moves every symbol one step at ``at``; returns each symbol's current candle."""
        candles = []
        for symbol in sorted(self._prices, key=str):
            price, volume = self._step(symbol)
            current = self._candles.get(symbol)
            if current is None or current.opened_at != at.replace(second=0, microsecond=0):
                current = Candle.first_tick(symbol, at, price, volume)
            else:
                current = current.with_tick(price, volume)
            self._candles[symbol] = current
            candles.append(current)
        return candles


def read_candles_csv(path: Path) -> Iterator[Candle]:
    """Candles from a CSV file with the header ``symbol,opened_at,open,high,low,close,volume``
    (ISO 8601 times; an offset-less time is UTC). A bad row names its line, field and rule."""
    with path.open(newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                yield _candle(row)
            except InvalidInput as error:
                raise InvalidInput(f"{path.name} line {line}", f"{error.field}: {error.rule}") from None


def _candle(row: dict[str, str]) -> Candle:
    missing = [name for name in COLUMNS if not row.get(name)]
    if missing:
        raise InvalidInput(missing[0], "is missing")
    try:
        opened_at = datetime.fromisoformat(row["opened_at"])
    except ValueError:
        raise InvalidInput("opened_at", "must be an ISO 8601 time") from None
    if opened_at.tzinfo is None:
        opened_at = opened_at.replace(tzinfo=UTC)
    symbol = Symbol.parse(row["symbol"])
    open_, high, low, close = (positive_decimal(row[name], name) for name in ("open", "high", "low", "close"))
    volume = non_negative_decimal(row["volume"], "volume")
    try:
        return Candle(symbol, opened_at.astimezone(UTC), open_, high, low, close, volume)
    except ValueError as error:
        raise InvalidInput("candle", str(error)) from None


class CsvReplay:
    """Replays a CSV file's candles: at each moment, those opened up to ``speed`` times as far
    into the file as the time since the replay started. Its past is the file's own."""

    def __init__(self, candles: list[Candle], started: datetime, speed: float = 60.0) -> None:
        self._candles = sorted(candles, key=lambda c: (c.opened_at, str(c.symbol)))
        self._started = started
        self._speed = speed
        self._next = 0

    def close(self) -> None:
        """Nothing to let go of."""

    def history(self, until: datetime, minutes: int, stored: set[Symbol]) -> list[Candle]:
        return []

    def tick(self, at: datetime) -> list[Candle]:
        if not self._candles:
            return []
        reached = self._candles[0].opened_at + timedelta(
            seconds=(at - self._started).total_seconds() * self._speed
        )
        due = []
        while self._next < len(self._candles) and self._candles[self._next].opened_at <= reached:
            due.append(self._candles[self._next])
            self._next += 1
        return due
