"""The paper exchange behind the gateway port, durable: every input that changes an account (an
order, a cancel, a price it matches against) is appended to a journal table before it is applied,
and an account is rebuilt by replaying its journal. The matching core is deterministic for a seed
and an input sequence, so the rebuilt account has the same orders, fills, trade ids and balances,
and an order sent before a crash is still there to be looked up afterwards.

Prices are journaled only when they can matter: when the account has open orders in the symbol
(a price may fill them), and before an order is matched against the current price."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Column, Engine, MetaData, String, Table, Text, insert, select
from sqlalchemy.exc import SQLAlchemyError

from application.gateway import ExchangeOrder, ExchangeTrade, OrderRefused, OrderUnknown, OutcomeUnknown
from application.ports import ReferencePrices
from domain import ids
from domain.orders import OrderRequest
from domain.values import MarketSpec, OrderType, Side, Symbol, TimeInForce
from infrastructure.columns import UtcTime
from infrastructure.paper_exchange import PaperExchange, PaperSettings

JOURNAL = Table(
    "paper_journal",
    MetaData(),
    Column("account", String, primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UtcTime, nullable=False),
    Column("kind", String, nullable=False),
    Column("body", Text, nullable=False),
)


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    at: datetime
    kind: str  # "price", "submit" or "cancel"
    body: dict[str, Any]


class PaperJournal:
    """The append-only inputs of every paper account, in the read database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def install(self) -> None:
        JOURNAL.create(self.engine, checkfirst=True)

    def entries(self, account: str) -> Iterator[JournalEntry]:
        query = select(JOURNAL).where(JOURNAL.c.account == account).order_by(JOURNAL.c.seq)
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                yield JournalEntry(row.seq, row.at, row.kind, json.loads(row.body))

    def accounts(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(JOURNAL.c.account).distinct()).scalars())

    def append(self, account: str, entry: JournalEntry) -> None:
        row = dict(account=account, seq=entry.seq, at=entry.at, kind=entry.kind, body=json.dumps(entry.body))
        with self.engine.begin() as conn:
            conn.execute(insert(JOURNAL), row)


def _request_body(request: OrderRequest) -> dict[str, Any]:
    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "client_order_id": request.client_order_id,
        "symbol": str(request.symbol),
        "side": request.side.value,
        "order_type": request.order_type.value,
        "quantity": str(request.quantity),
        "price": text(request.price),
        "stop_price": text(request.stop_price),
        "time_in_force": request.time_in_force.value,
    }


def _request(body: dict[str, Any]) -> OrderRequest:
    def number(name: str) -> Decimal | None:
        return None if body[name] is None else Decimal(body[name])

    return OrderRequest(
        ids.client_order_id(body["client_order_id"]),
        Symbol.parse(body["symbol"]),
        Side(body["side"]),
        OrderType(body["order_type"]),
        Decimal(body["quantity"]),
        number("price"),
        number("stop_price"),
        TimeInForce(body["time_in_force"]),
    )


class PaperAccount:
    """One journaled paper account. Its methods are synchronous and serialized by a lock; the
    gateway below runs them off the event loop."""

    def __init__(
        self,
        name: str,
        journal: PaperJournal,
        balances: dict[str, Decimal],
        markets: dict[Symbol, MarketSpec],
        settings: PaperSettings,
        now: Callable[[], datetime],
        prices: ReferencePrices,
    ) -> None:
        self.name = name
        self._prices = prices
        self._journal = journal
        self._clock = now
        self._at = now()
        self._lock = threading.Lock()
        self.exchange = PaperExchange(dict(balances), markets, lambda: self._at, settings)
        self._journaled_prices: dict[Symbol, Decimal] = {}
        self._seq = 0
        for entry in journal.entries(name):
            # an input refused the first time is refused again: the journal keeps inputs, not outcomes
            with contextlib.suppress(OrderRefused, OrderUnknown):
                self._apply(entry)

    def _apply(self, entry: JournalEntry) -> Any:
        self._seq, self._at = entry.seq, entry.at
        body = entry.body
        if entry.kind == "price":
            symbol = Symbol.parse(body["symbol"])
            self._journaled_prices[symbol] = Decimal(body["price"])
            return self.exchange.set_price(symbol, Decimal(body["price"]))
        if entry.kind == "submit":
            return self.exchange.submit(_request(body))
        return self.exchange.cancel(body["client_order_id"])

    def _record(self, kind: str, body: dict[str, Any]) -> Any:
        entry = JournalEntry(self._seq + 1, self._clock(), kind, body)
        self._journal.append(self.name, entry)  # journaled first: an input applied is an input kept
        return self._apply(entry)

    def _journal_price(self, symbol: Symbol) -> None:
        """Brings the account to the latest price of ``symbol``, journaled if it moved."""
        latest = self._prices.reference_price(symbol)
        if latest is not None and self._journaled_prices.get(symbol) != latest:
            self._record("price", {"symbol": str(symbol), "price": str(latest)})

    def follow_prices(self) -> None:
        """Brings every symbol with open orders to its latest price (which may fill them)."""
        with self._lock:
            for symbol in sorted(self.exchange.open_symbols(), key=str):
                self._journal_price(symbol)

    def submit(self, request: OrderRequest) -> ExchangeOrder:
        with self._lock:
            known = self.exchange.lookup(str(request.client_order_id))
            if known is not None:
                return known
            self._journal_price(request.symbol)
            placed: ExchangeOrder = self._record("submit", _request_body(request))
            return placed

    def cancel(self, client_order_id: str) -> ExchangeOrder:
        with self._lock:
            order = self.exchange.lookup(client_order_id)
            if order is None:
                raise OrderUnknown(client_order_id)
            if order.status.is_final:
                return order
            self._journal_price(order.symbol)
            cancelled: ExchangeOrder = self._record("cancel", {"client_order_id": client_order_id})
            return cancelled

    def read(self, reader: Callable[[PaperExchange], Any]) -> Any:
        with self._lock:
            return reader(self.exchange)


class PaperGateway:
    """The gateway port over one paper account."""

    def __init__(self, account: PaperAccount) -> None:
        self.account = account

    async def submit(self, request: OrderRequest) -> ExchangeOrder:
        try:
            return await asyncio.to_thread(self.account.submit, request)
        except SQLAlchemyError as error:
            raise OutcomeUnknown(f"paper journal unavailable: {error}") from error

    async def cancel(self, client_order_id: str, symbol: Symbol) -> ExchangeOrder:
        try:
            return await asyncio.to_thread(self.account.cancel, client_order_id)
        except SQLAlchemyError as error:
            raise OutcomeUnknown(f"paper journal unavailable: {error}") from error

    async def lookup(self, client_order_id: str, symbol: Symbol) -> ExchangeOrder | None:
        found: ExchangeOrder | None = self.account.read(lambda e: e.lookup(client_order_id))
        return found

    async def open_orders(self, symbol: Symbol) -> list[ExchangeOrder]:
        found: list[ExchangeOrder] = self.account.read(lambda e: e.open_orders(symbol))
        return found

    async def order_trades(self, order: ExchangeOrder) -> list[ExchangeTrade]:
        found: list[ExchangeTrade] = self.account.read(lambda e: e.order_trades(order.client_order_id))
        return found

    async def follow_prices(self) -> None:
        await asyncio.to_thread(self.account.follow_prices)

    async def close(self) -> None:
        return None
