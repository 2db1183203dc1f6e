"""Mark prices from a real exchange's ticker stream: ccxt's ``watch_ticker`` per symbol (a
WebSocket), each pushed last price written as the symbol's mark as it comes. It runs on a thread
with its own event loop (ccxt's connections belong to one) beside the candle polling, which keeps
marking the symbols whose stream has said nothing for ``fresh_seconds`` (not connected yet, broken,
or an exchange ccxt cannot watch)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from datetime import datetime

import ccxt.async_support as ccxt
import structlog

from domain.values import Symbol
from infrastructure.ccxt_exchanges import ccxt_decimal, own_decimal_context
from infrastructure.mark_prices import Marks

log = structlog.get_logger("tbot.marketdata")


class CcxtTickers:
    def __init__(
        self,
        exchange: ccxt.Exchange,
        symbols: list[Symbol],
        write: Callable[[Marks], None],
        now: Callable[[], datetime],
        fresh_seconds: float,
        retry_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.exchange = exchange
        self.symbols = symbols
        self.write = write
        self.now = now
        self.fresh_seconds = fresh_seconds
        self.retry_seconds = retry_seconds
        self.monotonic = monotonic
        self._heard: dict[Symbol, float] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="ccxt-tickers")
        self._watching: asyncio.Future[list[None]] | None = None

    def start(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread.start()

    def fresh(self) -> set[Symbol]:
        """The symbols whose stream has pushed a price in the last ``fresh_seconds``."""
        now = self.monotonic()
        return {symbol for symbol, at in dict(self._heard).items() if now - at < self.fresh_seconds}

    def stop(self) -> None:
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._cancel)
            self._thread.join(timeout=30)

    def _cancel(self) -> None:
        if self._watching is not None:
            self._watching.cancel()

    def _run(self) -> None:
        loop = self._loop
        assert loop is not None
        try:
            loop.run_until_complete(self._watch_all())
        finally:
            loop.run_until_complete(own_decimal_context(self.exchange.close)())
            loop.close()

    async def _watch_all(self) -> None:
        self._watching = asyncio.gather(*(self._watch(symbol) for symbol in self.symbols))
        with contextlib.suppress(asyncio.CancelledError):  # stopped
            await self._watching

    @own_decimal_context
    async def _watch(self, symbol: Symbol) -> None:
        while True:
            try:
                ticker = await self.exchange.watch_ticker(str(symbol))
            except ccxt.BaseError as error:
                log.warning("ticker stream interrupted", symbol=str(symbol), error=str(error))
                await asyncio.sleep(self.retry_seconds)
                continue
            last = ticker.get("last")
            if last is None:
                continue
            try:
                await asyncio.to_thread(self.write, {symbol: (ccxt_decimal(last), self.now())})
            except Exception as error:  # the database or Redis out of reach: the next ticker tries again
                log.warning("mark from the ticker stream not written", symbol=str(symbol), error=str(error))
                continue
            self._heard[symbol] = self.monotonic()
