"""Mark prices on the live feed. A client asks for them with ``prices=BTC/USDT,ETH/USDT`` (or
``prices=*`` for every symbol market data marks). One watcher per server process reads the mark
prices (Redis, or the read database in the embedded default) every ``feed_price_poll_seconds`` and
offers each symbol whose price changed to the subscribers that asked for it; a new subscriber first
gets the latest mark of each symbol it asked for. Prices are market data, not events: they have no
position, and resuming a feed does not replay them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import orjson
import structlog

from domain.errors import InvalidInput
from domain.values import Symbol
from infrastructure.mark_prices import Marks
from interfaces.decimals import plain

log = structlog.get_logger("tbot.feed")
ALL_SYMBOLS = "*"
MAX_SYMBOLS = 100


@dataclass(frozen=True, slots=True)
class PriceMessage:
    """One symbol's new mark as the client receives it (rendered once for every subscriber)."""

    symbol: str
    price: Decimal
    text: str


@dataclass(frozen=True, slots=True)
class PriceFilter:
    """Which symbols' prices a subscriber gets: none, some, or every one (``everything``)."""

    symbols: frozenset[str] = frozenset()
    everything: bool = False

    def wants(self, symbol: str) -> bool:
        return self.everything or symbol in self.symbols

    def __bool__(self) -> bool:
        return self.everything or bool(self.symbols)


NO_PRICES = PriceFilter()


def parse_price_filter(text: str | None) -> PriceFilter:
    """The ``prices`` query parameter; InvalidInput names it and the rule it breaks."""
    if text is None:
        return NO_PRICES
    if text == ALL_SYMBOLS:
        return PriceFilter(everything=True)
    names = text.split(",")
    if len(names) > MAX_SYMBOLS:
        raise InvalidInput("query.prices", f"at most {MAX_SYMBOLS} symbols (or * for all)")
    rule = "a comma-separated list of symbols like BTC/USDT,ETH/USDT, or * for all"
    symbols = set()
    for name in names:
        try:
            symbols.add(str(Symbol.parse(name)))
        except InvalidInput:
            raise InvalidInput("query.prices", rule) from None
    return PriceFilter(frozenset(symbols))


def render_price(symbol: Symbol, price: Decimal, at: datetime) -> PriceMessage:
    body = {"type": "price", "symbol": str(symbol), "price": plain(price), "at": at.isoformat()}
    return PriceMessage(str(symbol), price, orjson.dumps(body).decode())


class PriceWatch:
    """Follows the mark prices and hands each change to ``offer``; ``latest`` holds the last
    message of each symbol, for new subscribers."""

    def __init__(self, read: Callable[[], Marks], poll_seconds: float) -> None:
        self.read = read
        self.poll_seconds = poll_seconds
        self.latest: dict[str, PriceMessage] = {}

    def snapshot(self, wanted: PriceFilter) -> list[PriceMessage]:
        return [message for symbol, message in sorted(self.latest.items()) if wanted.wants(symbol)]

    async def run(self, offer: Callable[[PriceMessage], None]) -> None:
        while True:
            try:
                marks = await asyncio.to_thread(self.read)
            except Exception as error:  # the price store out of reach: the feed's events go on
                log.warning("mark prices unavailable to the live feed", error=str(error))
                marks = {}
            for symbol, (price, at) in sorted(marks.items(), key=lambda item: str(item[0])):
                known = self.latest.get(str(symbol))
                if known is None or known.price != price:
                    message = render_price(symbol, price, at)
                    self.latest[message.symbol] = message
                    offer(message)
            await asyncio.sleep(self.poll_seconds)
