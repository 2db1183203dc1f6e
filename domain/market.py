"""Market data as the core sees it: one-minute candles, folded from trades or ticks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from domain.values import Symbol


@dataclass(frozen=True)
class Candle:
    """Open, high, low, close and volume of ``symbol`` over the minute starting at ``opened_at``."""

    symbol: Symbol
    opened_at: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def __post_init__(self) -> None:
        if self.opened_at.second or self.opened_at.microsecond:
            raise ValueError("a candle opens on a whole minute")
        if not self.low <= min(self.open, self.close) <= max(self.open, self.close) <= self.high:
            raise ValueError("a candle's low and high must bound its open and close")
        if self.low <= 0 or self.volume < 0:
            raise ValueError("prices must be positive and volume not negative")

    def with_tick(self, price: Decimal, volume: Decimal) -> Candle:
        """The candle after one more trade or tick in its minute."""
        return replace(
            self,
            high=max(self.high, price),
            low=min(self.low, price),
            close=price,
            volume=self.volume + volume,
        )

    @classmethod
    def first_tick(cls, symbol: Symbol, at: datetime, price: Decimal, volume: Decimal) -> Candle:
        minute = at.replace(second=0, microsecond=0)
        return cls(symbol, minute, price, price, price, price, volume)
