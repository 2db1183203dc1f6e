"""Plain implementations of the application's ports."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID, uuid4

from domain.values import MarketSpec, Symbol


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


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
