"""Reference prices the tests set by hand, in place of the market data worker."""

from __future__ import annotations

import threading
from decimal import Decimal

from domain.values import Symbol


class PriceBook:
    """Latest reference prices, as the tests set them."""

    def __init__(self, prices: dict[Symbol, Decimal] | None = None) -> None:
        self._prices = dict(prices or {})
        self._lock = threading.Lock()

    def set(self, symbol: Symbol, price: Decimal) -> None:
        with self._lock:
            self._prices[symbol] = price

    def reference_price(self, symbol: Symbol) -> Decimal | None:
        with self._lock:
            return self._prices.get(symbol)
