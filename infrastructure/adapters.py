"""Plain implementations of the application's ports."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from domain.values import MarketSpec, Symbol


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that is set rather than read: a backtest's time, moved candle by candle."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)


class PriceBook:
    """Reference prices set by hand: a backtest's marks (and the tests'), in place of market data."""

    def __init__(self, prices: dict[Symbol, Decimal] | None = None) -> None:
        self._prices = dict(prices or {})
        self._lock = threading.Lock()

    def set(self, symbol: Symbol, price: Decimal) -> None:
        with self._lock:
            self._prices[symbol] = price

    def reference_price(self, symbol: Symbol) -> Decimal | None:
        with self._lock:
            return self._prices.get(symbol)


class UuidFactory:
    def new_id(self) -> UUID:
        return uuid4()


def _spec(step: str, tick: str, min_amount: str, min_notional: str) -> MarketSpec:
    return MarketSpec(Decimal(step), Decimal(tick), Decimal(min_amount), Decimal(min_notional))


# The paper exchange's markets, with Binance-like spot rules.
PAPER_MARKETS: dict[Symbol, MarketSpec] = {
    Symbol("BTC", "USDT"): _spec("0.00001", "0.01", "0.00001", "5"),
    Symbol("ETH", "USDT"): _spec("0.0001", "0.01", "0.0001", "5"),
    Symbol("SOL", "USDT"): _spec("0.001", "0.01", "0.001", "5"),
    Symbol("ETH", "BTC"): _spec("0.0001", "0.00001", "0.0001", "0.0001"),
}
