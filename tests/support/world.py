"""A fully wired application on a real event store, with a manual clock and set prices."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from dependency_injector import providers

from application import commands as c
from application.bus import CommandBus
from application.handlers.base import ConflictObserver
from application.handlers.turns import BotTurns
from application.store import TradingApplication
from domain.values import Symbol
from infrastructure.adapters import PriceBook
from infrastructure.event_store import create_tables
from infrastructure.settings import Settings
from interfaces.composition import Container
from tests.support.clock import ManualClock

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")
ACTOR = "alice"
LIMITS: dict[str, Any] = {
    "max_order_notional": "10000",
    "max_position_notional": "20000",
    "max_open_orders": 3,
    "daily_loss_limit": "500",
    "price_band_pct": "0.05",
    "max_orders_per_minute": 100,
}


@dataclass
class World:
    bus: CommandBus
    store: TradingApplication
    clock: ManualClock
    prices: PriceBook

    def new_events(self, since: int) -> list[Any]:
        """Domain events appended after global position ``since``, in order."""
        notifications = self.store.recorder.select_notifications(start=since + 1, limit=10_000)
        return [self.store.mapper.to_domain_event(n) for n in notifications]

    def event_names(self, since: int) -> list[str]:
        return [type(e).__qualname__ for e in self.new_events(since)]

    def running_bot(
        self,
        limits: dict[str, Any] | None = None,
        symbols: list[str] | None = None,
        account: str = "paper",
    ) -> UUID:
        bot = self.bus.dispatch(
            c.CreateBot(
                actor=ACTOR,
                name="test bot",
                strategy="manual",
                allowed_symbols=symbols or ["BTC/USDT", "ETH/USDT"],
                limits=limits or LIMITS,
                exchange_account=account,
            )
        )
        self.bus.dispatch(c.StartBot(actor=ACTOR, bot_id=bot.aggregate_id))
        return bot.aggregate_id

    def place(
        self, bot_id: UUID, coid: str, side: str, quantity: str, price: str | None = None, **kw: Any
    ) -> UUID:
        order_type = kw.pop("order_type", "limit" if price is not None else "market")
        ack = self.bus.dispatch(
            c.PlaceOrder(
                actor=ACTOR,
                bot_id=bot_id,
                client_order_id=coid,
                symbol=kw.pop("symbol", "BTC/USDT"),
                side=side,
                order_type=order_type,
                quantity=quantity,
                price=price,
                **kw,
            )
        )
        return ack.order_id

    def accept(self, order_id: UUID, exchange_order_id: str | None = None) -> None:
        """The exchange took the order: submitted, then accepted."""
        self.bus.dispatch(c.RecordOrderSubmitted(actor="exchange", order_id=order_id))
        self.bus.dispatch(
            c.RecordOrderAccepted(actor="exchange", order_id=order_id, exchange_order_id=exchange_order_id)
        )

    def fill(self, order_id: UUID, trade: str, quantity: str, price: str, fee: str = "0", **kw: Any) -> None:
        self.bus.dispatch(
            c.RecordFill(
                actor="exchange",
                order_id=order_id,
                trade_id=trade,
                quantity=quantity,
                price=price,
                fee=fee,
                **kw,
            )
        )


@contextmanager
def world_on(
    settings: Settings,
    clock: ManualClock | None = None,
    conflicts: ConflictObserver | None = None,
    shared_turns: bool = True,
) -> Iterator[World]:
    """``conflicts`` is told of every conflict the handlers retry or give up on. Without
    ``shared_turns`` its commands take turns in this world only, as a writer outside the turns of
    the other processes would."""
    create_tables(settings)
    container = Container()
    container.settings.override(providers.Object(settings))
    manual = clock or ManualClock()
    container.clock.override(providers.Object(manual))
    prices = PriceBook({BTC: Decimal("50000"), ETH: Decimal("2500")})
    container.prices.override(providers.Object(prices))
    if conflicts is not None:
        container.handler_deps.add_kwargs(conflicts=conflicts)
    if not shared_turns:
        container.turns.override(providers.Singleton(BotTurns))
    store = container.store()
    try:
        yield World(container.bus(), store, manual, prices)
    finally:
        store.close()
        container.shutdown_resources()
