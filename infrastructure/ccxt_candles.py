"""Market data from a real exchange through ccxt: one-minute candles from its public OHLCV, polled.
Each tick asks every symbol for the candles since the last one it returned, that last (unfinished)
minute included, so the minute in progress is updated until it closes; its close is the latest
trade price, which the worker takes as the mark. A symbol's first request backfills ``backfill``
minutes. The source runs its own event loop, because ccxt's connections belong to one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import ccxt.async_support as ccxt

from domain.market import Candle
from domain.values import Symbol
from infrastructure.ccxt_exchanges import ccxt_decimal, own_decimal_context

MINUTE_MS = 60_000


class CcxtCandles:
    def __init__(self, exchange: ccxt.Exchange, symbols: list[Symbol], backfill: int = 60) -> None:
        self.exchange = exchange
        self.symbols = symbols
        self.backfill = backfill
        self._since: dict[Symbol, int] = {}
        self._runner = asyncio.Runner()

    def check_symbols(self) -> list[Symbol]:
        """The configured symbols the exchange does not list as spot markets."""
        markets = self._runner.run(self._markets())
        return [s for s in self.symbols if str(s) not in markets or not markets[str(s)].get("spot")]

    @own_decimal_context
    async def _markets(self) -> dict[str, Any]:
        markets: dict[str, Any] = await self.exchange.load_markets()
        return markets

    def history(self, until: datetime, minutes: int, stored: set[Symbol]) -> list[Candle]:
        """Nothing here: the first tick reads the exchange's last ``backfill`` minutes."""
        return []

    def tick(self, at: datetime) -> list[Candle]:
        return self._runner.run(self._fetch_all(at))

    @own_decimal_context
    async def _fetch_all(self, at: datetime) -> list[Candle]:
        fetched = await asyncio.gather(*(self._fetch(symbol, at) for symbol in self.symbols))
        return [candle for candles in fetched for candle in candles]

    async def _fetch(self, symbol: Symbol, at: datetime) -> list[Candle]:
        since = self._since.get(
            symbol, int(at.timestamp() * 1000) // MINUTE_MS * MINUTE_MS - self.backfill * MINUTE_MS
        )
        rows = await self.exchange.fetch_ohlcv(str(symbol), "1m", since, self.backfill + 1)
        candles = [
            Candle(
                symbol,
                datetime.fromtimestamp(int(row[0]) / 1000, UTC),
                *(ccxt_decimal(value) for value in row[1:6]),
            )
            for row in rows
            if int(row[0]) >= since
        ]
        if rows:
            self._since[symbol] = int(rows[-1][0])
        return candles

    def close(self) -> None:
        self._runner.run(own_decimal_context(self.exchange.close)())
        self._runner.close()
