"""The market data worker: candles into the `candles` read model and the mark prices (read
database, and Redis with REDIS_URL), from a seeded random walk, a CSV file of candles, or a real
exchange through ccxt. From an exchange ccxt can watch, marks come from its ticker stream as they
are pushed, and from the candles' closes for a symbol whose stream is quiet or down. One process at
a time holds the `marketdata` lock; others stand by."""

from __future__ import annotations

import threading
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import ccxt.async_support as ccxt
import structlog
import typer

from application.ports import Clock
from domain.market import Candle
from domain.values import Symbol
from infrastructure.adapters import PAPER_MARKETS
from infrastructure.candles import CandleStore
from infrastructure.ccxt_candles import CcxtCandles
from infrastructure.ccxt_exchanges import open_exchange
from infrastructure.ccxt_tickers import CcxtTickers
from infrastructure.credentials import CredentialStore, ExchangeCredentials
from infrastructure.mark_prices import MarkPriceStore
from infrastructure.market_sources import CsvReplay, RandomWalk, read_candles_csv
from infrastructure.settings import Settings
from interfaces.composition import Container
from interfaces.errors import fail_usage, report
from interfaces.workers.supervisor import Ownership, Supervisor

log = structlog.get_logger("tbot.marketdata")
HISTORY_MINUTES = 240
"""How much past the random walk writes on a fresh store: warm-up for strategies on its candles."""
# where the random walk starts a symbol without a configured reference price
START_PRICES = {"BTC/USDT": Decimal(60_000), "ETH/USDT": Decimal(3_000), "SOL/USDT": Decimal(150)}


class CandleSource(Protocol):
    def tick(self, at: datetime) -> list[Candle]:
        """The candles the moment ``at`` completes or updates."""
        ...

    def close(self) -> None:
        """Lets go of connections."""
        ...

    def history(self, until: datetime, minutes: int, stored: set[Symbol]) -> list[Candle]:
        """Past candles for the symbols without stored ones, if the source makes them up itself
        (the random walk); an exchange's or a file's past comes with its ticks."""
        ...


class MarketDataJob:
    """One tick a turn: the new candles stored, each symbol marked at its last close unless its
    ticker stream marks it."""

    name = "marketdata"

    def __init__(
        self,
        source: CandleSource,
        candles: CandleStore,
        marks: MarkPriceStore,
        clock: Clock,
        interval: float,
        symbols: list[Symbol],
        tickers: CcxtTickers | None = None,
    ) -> None:
        self.source = source
        self.symbols = symbols
        self.candles = candles
        self.marks = marks
        self.clock = clock
        self.interval = interval
        self.tickers = tickers
        self._wake = threading.Event()

    def begin(self) -> None:
        """Writes the source's past for symbols with no candles yet (strategies warm up from it),
        then starts the ticker streams."""
        stored = set(self.candles.newest(self.symbols))
        self.candles.write(self.source.history(self.clock.now(), HISTORY_MINUTES, stored))
        if self.tickers is not None:
            self.tickers.start()

    def turn(self) -> float:
        self.step()
        return self.interval

    def step(self) -> list[Candle]:
        now = self.clock.now()
        candles = self.source.tick(now)
        self.candles.write(candles)
        streamed = self.tickers.fresh() if self.tickers is not None else set()
        self.marks.write({c.symbol: (c.close, now) for c in candles if c.symbol not in streamed})
        return candles

    def idle(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def interrupt(self) -> None:
        self._wake.set()

    def end(self) -> None:
        if self.tickers is not None:
            self.tickers.stop()

    def close(self) -> None:
        """Lets go of the source's connections, once the worker has stopped."""
        self.source.close()


def build_offline_source(settings: Settings, clock: Clock, marks: MarkPriceStore) -> CandleSource:
    """The configured offline source; a random walk starts each symbol at its mark price, if it
    has one."""
    if settings.marketdata.source == "csv":
        if settings.marketdata.csv is None:
            fail_usage("marketdata_csv: required when marketdata_source is csv (TBOT_MARKETDATA_CSV)")
        if not settings.marketdata.csv.is_file():
            fail_usage(f"marketdata_csv: no such file {settings.marketdata.csv}")
        candles = list(read_candles_csv(settings.marketdata.csv))
        return CsvReplay(candles, clock.now(), settings.marketdata.replay_speed)
    start: dict[Symbol, Decimal] = {}
    marked = marks.read()
    for text in settings.marketdata.symbols:
        symbol = Symbol.parse(text, "marketdata_symbols")
        if symbol not in PAPER_MARKETS:
            fail_usage(f"marketdata_symbols: {text} is not a listed market")
        price = (
            marked[symbol][0]
            if symbol in marked
            else settings.marketdata.reference_prices.get(text, START_PRICES.get(text))
        )
        if price is None:
            fail_usage(f"reference_prices: the random walk needs a starting price for {text}")
        start[symbol] = price
    return RandomWalk(start, PAPER_MARKETS, seed=settings.marketdata.seed)


def _exchange_sources(
    settings: Settings, store: CredentialStore, marks: MarkPriceStore, clock: Clock
) -> tuple[CcxtCandles, CcxtTickers | None]:
    """The exchange account's candles, and its ticker stream if streams are on and ccxt can watch
    its exchange's tickers."""
    credentials = _exchange_credentials(settings, store)
    source = _exchange_source(settings, credentials)
    if not settings.exchange.streams:
        return source, None
    exchange = open_exchange(credentials, settings.exchange.timeout_seconds)
    if exchange.has.get("watchTicker") is not True:
        return source, None
    # a symbol is left to the candles once its stream has been quiet for three ticks
    quiet = 3 * settings.marketdata.interval_seconds
    return source, CcxtTickers(exchange, source.symbols, marks.write, clock.now, fresh_seconds=quiet)


def _exchange_credentials(settings: Settings, store: CredentialStore) -> ExchangeCredentials:
    account = settings.marketdata.account
    if not account:
        fail_usage("marketdata_account: required when marketdata_source is ccxt (TBOT_MARKETDATA_ACCOUNT)")
    credentials = store.load(account)
    if credentials is None:
        fail_usage(f"marketdata_account: no exchange account {account!r} (add it with `tbot accounts add`)")
    return credentials


def _exchange_source(settings: Settings, credentials: ExchangeCredentials) -> CcxtCandles:
    account = credentials.account
    symbols = [Symbol.parse(text, "marketdata_symbols") for text in settings.marketdata.symbols]
    source = CcxtCandles(open_exchange(credentials, settings.exchange.timeout_seconds), symbols)
    try:
        unlisted = source.check_symbols()
    except ccxt.BaseError as error:
        source.close()
        report(f"error: cannot reach the exchange of {account!r}: {error}")
        raise typer.Exit(1) from None
    if unlisted:
        source.close()
        names = ", ".join(str(s) for s in unlisted)
        fail_usage(f"marketdata_symbols: {credentials.exchange_id} lists no spot market {names}")
    return source


def market_data_job(container: Container) -> MarketDataJob:
    settings = container.settings()
    clock = container.clock()
    candles = CandleStore(container.read_engine())
    marks = container.mark_price_store()
    source: CandleSource
    tickers = None
    if settings.marketdata.source == "ccxt":
        source, tickers = _exchange_sources(settings, container.credentials(), marks, clock)
    else:
        source = build_offline_source(settings, clock, marks)
    symbols = [Symbol.parse(text, "TBOT_MARKETDATA_SYMBOLS") for text in settings.marketdata.symbols]
    interval = settings.marketdata.interval_seconds
    return MarketDataJob(source, candles, marks, clock, interval, symbols, tickers)


def build_market_data_worker(
    container: Container, locks: Ownership | None = None
) -> Supervisor[MarketDataJob]:
    return Supervisor(market_data_job(container), locks or container.locks())
