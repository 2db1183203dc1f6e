"""Mark prices: each symbol's latest price from market data. Kept in the read database (table
`mark_prices`, which queries join for unrealized PnL) and, with REDIS_URL, in a Redis hash that
every process reads cheaply. Readers fall back to the configured reference prices for a symbol
market data has not priced yet."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import redis
import structlog
from sqlalchemy import Engine, select

from domain.values import Symbol
from infrastructure.market_tables import MARK_PRICES
from infrastructure.settings import Settings
from infrastructure.upserts import upsert

log = structlog.get_logger("tbot.prices")
Marks = Mapping[Symbol, tuple[Decimal, datetime]]  # each symbol's price and when it was marked


class MarkPriceStore:
    def __init__(self, engine: Engine, client: Any | None = None, namespace: str = "tbot") -> None:
        self.engine = engine
        self.client = client
        self.key = f"{namespace}:prices"

    def install(self) -> None:
        MARK_PRICES.create(self.engine, checkfirst=True)

    def write(self, prices: Marks) -> None:
        if not prices:
            return
        rows = [dict(symbol=str(s), price=price, at=at) for s, (price, at) in prices.items()]
        with self.engine.begin() as conn:
            upsert(conn, MARK_PRICES, sorted(rows, key=lambda row: row["symbol"]))
        if self.client is not None:
            marks = {str(s): f"{price}|{at.isoformat()}" for s, (price, at) in prices.items()}
            try:
                self.client.hset(self.key, mapping=marks)
            except redis.RedisError as error:  # the database has them; readers fall back to it
                log.warning("mark prices not written to Redis", error=str(error))

    def read(self) -> dict[Symbol, tuple[Decimal, datetime]]:
        if self.client is not None:
            try:
                stored = self.client.hgetall(self.key)
                return {
                    Symbol.parse(k.decode()): (Decimal(p), datetime.fromisoformat(at))
                    for k, v in stored.items()
                    for p, at in [v.decode().split("|", 1)]
                }
            except redis.RedisError as error:
                log.warning("mark prices read from the database: Redis unavailable", error=str(error))
        with self.engine.connect() as conn:
            rows = conn.execute(select(MARK_PRICES)).all()
        return {Symbol.parse(r.symbol): (r.price, r.at) for r in rows}


class MarkPrices:
    """The ReferencePrices port over the store: read at most every ``max_age`` seconds, and the
    configured reference price for a symbol without a mark."""

    def __init__(
        self,
        store: MarkPriceStore,
        fallback: Mapping[Symbol, Decimal],
        now: Callable[[], datetime],
        max_age: float = 0.25,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._now = now
        self._fallback = dict(fallback)
        self._max_age = max_age
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._prices: dict[Symbol, Decimal] = {}

    def reference_price(self, symbol: Symbol) -> Decimal | None:
        with self._lock:
            if self._monotonic() - self._read_at >= self._max_age:
                self._prices = {s: price for s, (price, _) in self._store.read().items()}
                self._read_at = self._monotonic()
            return self._prices.get(symbol, self._fallback.get(symbol))

    def set(self, symbol: Symbol, price: Decimal) -> None:
        """Marks ``symbol`` at ``price`` now, as market data would (the demo's market)."""
        self._store.write({symbol: (price, self._now())})
        with self._lock:
            self._read_at = float("-inf")


def open_mark_price_store(settings: Settings, engine: Engine) -> MarkPriceStore:
    client = None
    if settings.redis.url is not None:
        client = redis.Redis.from_url(settings.redis.url.get_secret_value(), socket_timeout=2)
    return MarkPriceStore(engine, client, namespace=f"tbot:{settings.store.postgres_schema}")
