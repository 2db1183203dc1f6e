"""Read model `fills`: one row per exchange trade (a time series), with the bot, symbol and side
of its order. The projection keeps its own index of orders (`fills_orders`) to know them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import BigInteger, Boolean, Column, Index, MetaData, PrimaryKeyConstraint, String, Table, Uuid

from domain.bot import Bot
from domain.notification import Delivery
from domain.order import Order
from domain.position import Position
from domain.signal import Signal
from infrastructure.columns import Money, UtcTime
from projections.models.base import Projection, Rows, handles
from projections.models.envelope import Envelope


class FillsProjection(Projection):
    name = "fills"
    public = ("fills",)
    time_columns = {"fills": "at"}
    ignores = frozenset({Bot.Event, Position.Event, Order.StatusEvent, Signal.Event, Delivery.Event})

    @staticmethod
    def define(metadata: MetaData, suffix: str) -> dict[str, Table]:
        fills = Table(
            f"fills{suffix}",
            metadata,
            Column("at", UtcTime, nullable=False),
            Column("order_id", Uuid, nullable=False),
            Column("trade_id", String, nullable=False),
            Column("bot_id", Uuid, nullable=False),
            Column("symbol", String, nullable=False),
            Column("side", String, nullable=False),
            Column("quantity", Money, nullable=False),
            Column("price", Money, nullable=False),
            Column("fee", Money, nullable=False),
            Column("fee_currency", String, nullable=False),
            Column("fee_quote", Money, nullable=False),
            Column("late", Boolean, nullable=False),
            Column("event_position", BigInteger, nullable=False),
            PrimaryKeyConstraint("order_id", "trade_id", "at"),
        )
        Index(f"ix_fills{suffix}_bot_at", fills.c.bot_id, fills.c.at)
        orders = Table(
            f"fills_orders{suffix}",
            metadata,
            Column("order_id", Uuid, primary_key=True),
            Column("bot_id", Uuid, nullable=False),
            Column("symbol", String, nullable=False),
            Column("side", String, nullable=False),
        )
        return {"fills": fills, "fills_orders": orders}

    def preload(self, batch: Rows, envelopes: Sequence[Envelope]) -> None:
        batch.preload(
            "fills_orders", [e.aggregate_id for e in envelopes if isinstance(e.event, Order.Filled)]
        )

    @handles(Order.Placed)
    def placed(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Order.Placed, envelope.event)
        row = {
            "order_id": envelope.aggregate_id,
            "bot_id": event.bot_id,
            "symbol": str(event.request.symbol),
            "side": event.request.side.value,
        }
        batch.put("fills_orders", envelope.aggregate_id, row)

    @handles(Order.Filled)
    def filled(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Order.Filled, envelope.event)
        order = batch.row("fills_orders", envelope.aggregate_id)
        if order is None:
            raise LookupError(f"order {envelope.aggregate_id} was never placed")
        row: dict[str, Any] = {
            "at": envelope.at,
            "order_id": envelope.aggregate_id,
            "trade_id": event.trade_id,
            "bot_id": order["bot_id"],
            "symbol": order["symbol"],
            "side": order["side"],
            "quantity": event.quantity,
            "price": event.price,
            "fee": event.fee,
            "fee_currency": event.fee_currency,
            "fee_quote": event.fee_quote,
            "late": event.late,
            "event_position": envelope.position,
        }
        batch.append("fills", row)
