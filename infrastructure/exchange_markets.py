"""The markets each exchange account trades (precision and minimums), as the execution worker last
loaded them from the exchange, and the risk rules' view of them: paper accounts use the paper
exchange's fixed table, other accounts what was loaded for them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Column, Engine, MetaData, String, Table, delete, select

from domain.values import MarketSpec, Symbol
from infrastructure.adapters import PAPER_MARKETS
from infrastructure.columns import Money, UtcTime
from infrastructure.upserts import upsert

MARKETS = Table(
    "exchange_markets",
    MetaData(),
    Column("account", String, primary_key=True),
    Column("symbol", String, primary_key=True),
    Column("amount_step", Money, nullable=False),
    Column("price_tick", Money, nullable=False),
    Column("min_amount", Money, nullable=False),
    Column("min_notional", Money, nullable=False),
    Column("loaded_at", UtcTime, nullable=False),
)


def is_paper(account: str) -> bool:
    return account == "paper" or account.startswith("paper:")


class ExchangeMarketStore:
    def __init__(self, engine: Engine, now: Callable[[], datetime]) -> None:
        self.engine = engine
        self._now = now

    def save(self, account: str, markets: dict[Symbol, MarketSpec]) -> None:
        """Replaces the account's markets with those just loaded."""
        at = self._now()
        rows = [
            dict(
                account=account,
                symbol=str(symbol),
                amount_step=spec.amount_step,
                price_tick=spec.price_tick,
                min_amount=spec.min_amount,
                min_notional=spec.min_notional,
                loaded_at=at,
            )
            for symbol, spec in markets.items()
        ]
        with self.engine.begin() as conn:
            conn.execute(delete(MARKETS).where(MARKETS.c.account == account))
            upsert(conn, MARKETS, rows)

    def load(self, account: str) -> dict[Symbol, MarketSpec]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(MARKETS).where(MARKETS.c.account == account)).all()
        return {
            Symbol.parse(r.symbol): MarketSpec(r.amount_step, r.price_tick, r.min_amount, r.min_notional)
            for r in rows
        }


class AccountMarketRules:
    """The MarketRules port: each account's markets, read from the store at most every
    ``max_age`` seconds per account."""

    def __init__(
        self,
        store: ExchangeMarketStore,
        max_age: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._max_age = max_age
        self._monotonic = monotonic
        self._cached: dict[str, tuple[float, dict[Symbol, MarketSpec]]] = {}
        self._lock = threading.Lock()

    def market(self, account: str, symbol: Symbol) -> MarketSpec | None:
        if is_paper(account):
            return PAPER_MARKETS.get(symbol)
        now = self._monotonic()
        with self._lock:
            cached = self._cached.get(account)
        if cached is None or now - cached[0] > self._max_age:
            cached = (now, self._store.load(account))
            with self._lock:
                self._cached[account] = cached
        return cached[1].get(symbol)
