"""Market data from a real exchange through ccxt: one-minute candles from its public OHLCV, polled.
Each tick asks every symbol for the candles since the last one it returned, that last (unfinished)
minute included, so the minute in progress is updated until it closes; its close is the latest
trade price, which the worker takes as the mark. A symbol's first request backfills ``backfill``
minutes. The source runs its own event loop, because ccxt's connections belong to one.

``CcxtHistory`` reads a symbol's past, for backtests: closed candles of any timeframe between two
times, a page of OHLCV at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import ccxt.async_support as ccxt
import structlog

from application.gateway import ExchangeUnavailable
from domain.errors import InvalidInput
from domain.market import Candle
from domain.strategy import Timeframe
from domain.values import Symbol
from infrastructure.ccxt_exchanges import ccxt_decimal, own_decimal_context
from infrastructure.ccxt_gateway import RetryPolicy

MINUTE_MS = 60_000
log = structlog.get_logger("tbot.ccxt")
T = TypeVar("T")


def ohlcv_candle(symbol: Symbol, row: Sequence[Any]) -> Candle:
    """The candle of one of ccxt's OHLCV rows: open time (epoch milliseconds), open, high, low,
    close, volume."""
    return Candle(
        symbol,
        datetime.fromtimestamp(int(row[0]) / 1000, UTC),
        *(ccxt_decimal(value) for value in row[1:6]),
    )


def unlisted(markets: dict[str, Any], symbols: Iterable[Symbol]) -> list[Symbol]:
    """The symbols that are not spot markets among ccxt's ``markets``."""
    return [s for s in symbols if str(s) not in markets or not markets[str(s)].get("spot")]


class CcxtCandles:
    def __init__(self, exchange: ccxt.Exchange, symbols: list[Symbol], backfill: int = 60) -> None:
        self.exchange = exchange
        self.symbols = symbols
        self.backfill = backfill
        self._since: dict[Symbol, int] = {}
        self._runner = asyncio.Runner()

    def check_symbols(self) -> list[Symbol]:
        """The configured symbols the exchange does not list as spot markets."""
        return unlisted(self._runner.run(self._markets()), self.symbols)

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
        candles = [ohlcv_candle(symbol, row) for row in rows if int(row[0]) >= since]
        if rows:
            self._since[symbol] = int(rows[-1][0])
        return candles

    def close(self) -> None:
        self._runner.run(own_decimal_context(self.exchange.close)())
        self._runner.close()


class CcxtHistory:
    """One symbol's past from an exchange's OHLCV: the closed candles of a timeframe opened from
    ``since`` until before ``until``, a page at a time. Each page asks for up to ``page_size``
    candles from just after the last one received; ccxt spaces the requests by the exchange's rate
    limit (the exchange is opened with ``enableRateLimit``). A request that fails on the way (a
    timeout, an outage, a rate limit) is asked again after a pause (``retry``), then the history
    is ExchangeUnavailable. A candle still open (``now`` before its close) is left out."""

    def __init__(
        self,
        exchange: ccxt.Exchange,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.exchange = exchange
        self.retry = retry or RetryPolicy()
        self._sleep = sleep

    @own_decimal_context
    async def check(self, symbol: Symbol, timeframe: Timeframe) -> None:
        """InvalidInput unless the exchange lists ``symbol`` as a spot market and serves candles
        of ``timeframe``."""
        exchange = self.exchange
        if not exchange.has.get("fetchOHLCV"):
            raise InvalidInput("account", f"{exchange.id} serves no candle history")
        markets = await self._asking("its markets", exchange.load_markets)
        if unlisted(markets, [symbol]):
            raise InvalidInput("symbol", f"{exchange.id} lists no spot market {symbol}")
        timeframes = exchange.timeframes or {}
        if timeframes and timeframe.name not in timeframes:
            raise InvalidInput("timeframe", f"{exchange.id} has no {timeframe.name} candles")

    async def pages(
        self,
        symbol: Symbol,
        timeframe: Timeframe,
        since: datetime,
        until: datetime,
        now: datetime,
        page_size: int = 1000,
    ) -> AsyncIterator[list[Candle]]:
        """The candles, oldest first, a page at a time (a page may come empty when the exchange
        has nothing closed in it); ends at ``until``, at ``now`` or where the exchange has no more."""
        length = timeframe.minutes * MINUTE_MS
        cursor, end = _ms(since), min(_ms(until), _ms(now) - length + 1)
        while cursor < end:
            rows = await self._page(symbol, timeframe, cursor, page_size)
            opened = sorted({int(row[0]): row for row in rows if cursor <= int(row[0]) < end}.items())
            if not opened:
                return  # nothing more there (or an exchange that ignores `since`)
            yield [ohlcv_candle(symbol, row) for _, row in opened]
            cursor = opened[-1][0] + length

    @own_decimal_context
    async def _page(self, symbol: Symbol, timeframe: Timeframe, since: int, limit: int) -> list[Any]:
        rows: list[Any] = await self._asking(
            f"{symbol} candles", lambda: self.exchange.fetch_ohlcv(str(symbol), timeframe.name, since, limit)
        )
        return rows

    async def _asking(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """``call``, asked again after a pause while the exchange is out of reach or busy."""
        exchange = self.exchange.id
        for delay in [*self.retry.delays(), None]:
            try:
                return await call()
            except ccxt.BadSymbol as error:
                raise InvalidInput("symbol", f"{exchange}: {error}") from None
            except (ccxt.NetworkError, ccxt.BadResponse) as error:
                if delay is None:
                    raise ExchangeUnavailable(f"cannot reach {exchange} for {what}: {error}") from error
                log.warning("exchange out of reach; retrying", exchange=exchange, what=what, delay=delay)
                await self._sleep(delay)
            except ccxt.BaseError as error:
                raise ExchangeUnavailable(f"{exchange} refused {what}: {error}") from error
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        await own_decimal_context(self.exchange.close)()


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
