"""The checks after a chaos run, against the stores themselves: the event store (orders, their
fills, positions) and the paper exchange, rebuilt from its journal by the same deterministic
matching the execution worker uses, so its orders and trades are the exchange's own record.

Each check returns findings: one line each, naming the order (or position) and what differs.
No finding means the guarantee held."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from sqlalchemy import Engine

from application.gateway import ExchangeStatus, ExchangeTrade
from application.store import TradingApplication
from domain import ids
from domain.bot import Bot
from domain.order import Order
from domain.order_states import OrderStatus
from domain.position import Position
from domain.values import Symbol
from infrastructure.adapters import PAPER_MARKETS
from infrastructure.paper_exchange import PaperSettings
from infrastructure.paper_gateway import PaperAccount, PaperJournal
from tests.properties.test_position_math_reference import reference
from tests.support.chaos_load import Tally

PAGE = 5000
TOPICS = [get_topic(cls) for cls in (Order.Placed, Order.Submitted, Order.Filled)]


@dataclass
class RecordedOrder:
    """One order as the event store has it: its placement, submissions and fills in store order."""

    placed: Order.Placed
    submissions: int = 0
    fills: list[tuple[int, Order.Filled]] = field(default_factory=list)  # (global position, event)


def recorded_orders(store: TradingApplication) -> dict[UUID, RecordedOrder]:
    """Every order in the store, read event by event from the start."""
    orders: dict[UUID, RecordedOrder] = {}
    start = 1
    while True:
        page = store.recorder.select_notifications(start=start, limit=PAGE, topics=TOPICS)
        for notification in page:
            event = store.mapper.to_domain_event(notification)
            if isinstance(event, Order.Placed):
                orders[event.originator_id] = RecordedOrder(event)
            elif isinstance(event, Order.Submitted):
                orders[event.originator_id].submissions += 1
            elif isinstance(event, Order.Filled):
                orders[event.originator_id].fills.append((notification.id, event))
        if len(page) < PAGE:
            return orders
        start = page[-1].id + 1


class _NoPrices:
    """Replaying a journal needs no price source: every price it matches against is journaled."""

    def reference_price(self, symbol: Symbol) -> Decimal | None:
        return None


@dataclass
class Exchange:
    """The paper accounts as their journal makes them, and what was submitted to each."""

    accounts: dict[str, PaperAccount]
    submits: Counter[str]  # client order id -> submissions journaled

    def trades_of(self, account: str, client_order_id: str) -> list[ExchangeTrade]:
        trades: list[ExchangeTrade] = self.accounts[account].read(lambda e: e.order_trades(client_order_id))
        return trades

    def status_of(self, account: str, client_order_id: str) -> ExchangeStatus | None:
        found = self.accounts[account].read(lambda e: e.lookup(client_order_id))
        return None if found is None else found.status


def rebuilt_exchange(engine: Engine, balances: dict[str, Decimal], paper: PaperSettings) -> Exchange:
    journal = PaperJournal(engine)
    accounts, submits = {}, Counter[str]()
    for name in journal.accounts():
        accounts[name] = PaperAccount(
            name, journal, balances, PAPER_MARKETS, paper, lambda: datetime.now(UTC), _NoPrices()
        )
        submits.update(e.body["client_order_id"] for e in journal.entries(name) if e.kind == "submit")
    return Exchange(accounts, submits)


def acknowledged_orders(tally: Tally, orders: dict[UUID, RecordedOrder]) -> list[str]:
    """Every 2xx order answer names an order in the store, of that bot, with that client order
    id; one request (client order id or Idempotency-Key) made one order however often it was sent."""
    findings = list(tally.repeat_mismatches)
    made: dict[tuple[str, str], set[str]] = defaultdict(set)
    for placement in tally.placed:
        made[placement.bot_id, placement.client_order_id].add(placement.order_id)
        order = orders.get(UUID(placement.order_id))
        if order is None:
            findings.append(
                f"order {placement.order_id} was acknowledged ({placement.body}) but is not in the store"
            )
        elif str(order.placed.bot_id) != placement.bot_id or order.placed.request.client_order_id != (
            placement.body.get("client_order_id") or placement.idempotency_key
        ):
            findings.append(
                f"order {placement.order_id} in the store is not the one acknowledged: {order.placed}"
            )
    findings += [
        f"client order id {coid} of bot {bot} made several orders: {sorted(made_ids)}"
        for (bot, coid), made_ids in made.items()
        if len(made_ids) > 1
    ]
    for cancelled in tally.cancelled:
        if UUID(cancelled) not in orders:
            findings.append(f"order {cancelled} had its cancel acknowledged but is not in the store")
    return findings


def unsettled_orders(store: TradingApplication, orders: Iterable[UUID]) -> list[UUID]:
    """Orders not at an end (after the open ones were cancelled and execution had time)."""
    return [order_id for order_id in orders if not store.load(Order, order_id).status.is_terminal]


def history(store: TradingApplication, order_id: UUID) -> str:
    """An order's events, each with the status it left the order in and when it was recorded."""
    steps = []
    for stored in store.recorder.select_events(order_id):
        event: Any = store.mapper.to_domain_event(stored)
        status = getattr(event, "status", None)
        name = type(event).__name__ + (f"->{status.value}" if isinstance(status, OrderStatus) else "")
        steps.append(f"{name} at {event.timestamp:%H:%M:%S.%f} by {event.meta.actor}")
    return ", ".join(steps)


def unsettled(store: TradingApplication, orders: Iterable[UUID], exchange: Exchange) -> list[str]:
    findings = []
    bots: dict[UUID, str] = {}
    for order_id in unsettled_orders(store, orders):
        order = store.load(Order, order_id)
        coid = ids.exchange_client_order_id(ids.OrderId(order_id))
        status = exchange.status_of(_account_of(store, bots, order.bot_id), coid)
        findings.append(
            f"order {order_id} is still {order.status.value} (at the exchange: "
            f"{None if status is None else status.value}); its events: {history(store, order_id)}"
        )
    return findings


def _account_of(store: TradingApplication, bots: dict[UUID, str], bot_id: UUID) -> str:
    if bot_id not in bots:
        bots[bot_id] = store.load(Bot, bot_id).exchange_account
    return bots[bot_id]


def fills_match_trades(
    store: TradingApplication, orders: dict[UUID, RecordedOrder], exchange: Exchange
) -> list[str]:
    """Per order, the recorded fills are the exchange's trades (ids, quantities, prices, fees),
    no more is filled than ordered, and an order tbot ended is not open at the exchange."""
    findings = []
    bots: dict[UUID, str] = {}
    for order_id, order in orders.items():
        account = _account_of(store, bots, order.placed.bot_id)
        coid = ids.exchange_client_order_id(ids.OrderId(order_id))
        trades = {t.trade_id: (t.quantity, t.price, t.fee) for t in exchange.trades_of(account, coid)}
        recorded = {e.trade_id: (e.quantity, e.price, e.fee) for _, e in order.fills}
        if len(recorded) != len(order.fills):
            findings.append(
                f"order {order_id} recorded a trade twice: {[e.trade_id for _, e in order.fills]}"
            )
        missing = sorted(trades.keys() - recorded.keys())
        if missing:
            findings.append(
                f"order {order_id}: exchange trades {[(t, *trades[t]) for t in missing]} were never "
                f"recorded; its events: {history(store, order_id)}"
            )
        for trade_id in sorted(recorded.keys() - trades.keys()):
            findings.append(f"order {order_id}: recorded fill {trade_id} is no trade of the exchange")
        for trade_id in sorted(recorded.keys() & trades.keys()):
            if recorded[trade_id] != trades[trade_id]:
                findings.append(
                    f"order {order_id}: fill {trade_id} recorded as {recorded[trade_id]}, "
                    f"traded as {trades[trade_id]}"
                )
        quantity = order.placed.request.quantity
        filled = sum((e.quantity for _, e in order.fills), Decimal(0))
        if filled > quantity:
            findings.append(f"order {order_id} overfilled: {filled} recorded of {quantity}")
        status = exchange.status_of(account, coid)
        if status is ExchangeStatus.OPEN and store.load(Order, order_id).status.is_terminal:
            findings.append(f"order {order_id} ended in tbot but is still open at the exchange")
    return findings


def single_submissions(orders: dict[UUID, RecordedOrder], exchange: Exchange) -> list[str]:
    """The exchange got each order once, and only orders tbot marked as submitted."""
    findings = []
    for coid, times in sorted(exchange.submits.items()):
        order_id = ids.order_id_of_exchange_client_order_id(coid)
        if times > 1:
            findings.append(f"order {order_id} was submitted to the exchange {times} times")
        order = orders.get(order_id)
        if order is None:
            findings.append(f"the exchange has order {coid}, which is not in the store")
        elif order.submissions == 0:
            findings.append(f"order {order_id} reached the exchange without Order.Submitted recorded first")
    return findings


def positions_match(
    store: TradingApplication, orders: dict[UUID, RecordedOrder], exchange: Exchange
) -> list[str]:
    """Each position is what an independent reference makes of its recorded fills, in the order
    they were recorded, and holds what the exchange traded for its bot and symbol."""
    fills: dict[tuple[UUID, str], list[tuple[int, int, Order.Filled]]] = defaultdict(list)
    traded: dict[tuple[UUID, str], Decimal] = defaultdict(Decimal)
    bots: dict[UUID, str] = {}
    for order_id, order in orders.items():
        request = order.placed.request
        key = (order.placed.bot_id, str(request.symbol))
        sign = request.side.sign
        fills[key] += [(at, sign, event) for at, event in order.fills]
        account = _account_of(store, bots, order.placed.bot_id)
        coid = ids.exchange_client_order_id(ids.OrderId(order_id))
        traded[key] += sum((t.quantity * sign for t in exchange.trades_of(account, coid)), Decimal(0))
    findings = []
    for (bot_id, symbol), recorded in sorted(fills.items(), key=lambda item: str(item[0])):
        recorded.sort(key=lambda fill: fill[0])
        expected = reference([(sign, e.quantity, e.price, e.fee_quote, False) for _, sign, e in recorded])
        position = store.find(Position, ids.position_id_for(ids.BotId(bot_id), symbol))
        got: Any = (
            None if position is None else (position.quantity, position.average_price, position.realized_pnl)
        )
        if recorded and got != expected:
            findings.append(
                f"position of bot {bot_id} in {symbol} is (quantity, average, realized) {got}, "
                f"the reference from its {len(recorded)} fills {expected}"
            )
        if (Decimal(0) if position is None else position.quantity) != traded[bot_id, symbol]:
            findings.append(
                f"position of bot {bot_id} in {symbol} holds {got and got[0]}, "
                f"the exchange traded {traded[bot_id, symbol]} for it"
            )
    return findings
