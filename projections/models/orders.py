"""Read model `orders`: each order's current state, fills so far, average fill price, fees,
exchange id and the times it moved."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, Uuid

from domain.bot import Bot
from domain.notification import Delivery
from domain.order import Order
from domain.order_states import OrderStatus
from domain.position import Position
from domain.position_math import average_after
from domain.signal import Signal
from infrastructure.columns import Money, UtcTime
from projections.models.base import Projection, Rows, handles, stamp
from projections.models.envelope import Envelope


class OrdersProjection(Projection):
    name = "orders"
    public = ("orders",)
    ignores = frozenset({Bot.Event, Position.Event, Signal.Event, Delivery.Event})

    @staticmethod
    def define(metadata: MetaData, suffix: str) -> dict[str, Table]:
        table = Table(
            f"orders{suffix}",
            metadata,
            Column("order_id", Uuid, primary_key=True),
            Column("bot_id", Uuid, nullable=False),
            Column("client_order_id", String, nullable=False),
            Column("symbol", String, nullable=False),
            Column("side", String, nullable=False),
            Column("order_type", String, nullable=False),
            Column("time_in_force", String, nullable=False),
            Column("quantity", Money, nullable=False),
            Column("price", Money),
            Column("stop_price", Money),
            Column("status", String, nullable=False),
            Column("is_open", Boolean, nullable=False),
            Column("filled_quantity", Money, nullable=False),
            Column("average_fill_price", Money, nullable=False),
            Column("fees_quote", Money, nullable=False),
            Column("fills", Integer, nullable=False),
            Column("exchange_order_id", String),
            Column("reason", String),
            Column("placed_at", UtcTime, nullable=False),
            Column("submitted_at", UtcTime),
            Column("accepted_at", UtcTime),
            Column("last_fill_at", UtcTime),
            Column("closed_at", UtcTime),
            Column("updated_at", UtcTime, nullable=False),
            Column("version", Integer, nullable=False),
            Column("event_position", BigInteger, nullable=False),
        )
        Index(f"ix_orders{suffix}_bot_placed", table.c.bot_id, table.c.placed_at)
        Index(f"ix_orders{suffix}_bot_coid", table.c.bot_id, table.c.client_order_id, unique=True)
        Index(f"ix_orders{suffix}_open", table.c.is_open, table.c.bot_id)
        return {"orders": table}

    def preload(self, batch: Rows, envelopes: Sequence[Envelope]) -> None:
        batch.preload("orders", [e.aggregate_id for e in envelopes if not isinstance(e.event, Order.Placed)])

    def _order(self, batch: Rows, envelope: Envelope) -> dict[str, Any]:
        row = batch.row("orders", envelope.aggregate_id)
        if row is None:
            raise LookupError(f"order {envelope.aggregate_id} has no row (its placement was never applied)")
        batch.put("orders", envelope.aggregate_id, stamp(row, envelope))
        return row

    @staticmethod
    def _set_status(row: dict[str, Any], status: OrderStatus, envelope: Envelope) -> None:
        row["status"] = status.value
        row["is_open"] = not status.is_terminal
        if status.is_terminal and row["closed_at"] is None:
            row["closed_at"] = envelope.at

    @handles(Order.Placed)
    def placed(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Order.Placed, envelope.event)
        request = event.request
        row: dict[str, Any] = {
            "order_id": envelope.aggregate_id,
            "bot_id": event.bot_id,
            "client_order_id": request.client_order_id,
            "symbol": str(request.symbol),
            "side": request.side.value,
            "order_type": request.order_type.value,
            "time_in_force": request.time_in_force.value,
            "quantity": request.quantity,
            "price": request.price,
            "stop_price": request.stop_price,
            "status": OrderStatus.PENDING_NEW.value,
            "is_open": True,
            "filled_quantity": Decimal(0),
            "average_fill_price": Decimal(0),
            "fees_quote": Decimal(0),
            "fills": 0,
            "exchange_order_id": None,
            "reason": None,
            "placed_at": envelope.at,
            "submitted_at": None,
            "accepted_at": None,
            "last_fill_at": None,
            "closed_at": None,
        }
        batch.put("orders", envelope.aggregate_id, stamp(row, envelope))

    @handles(Order.StatusEvent)
    def status_changed(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Order.StatusEvent, envelope.event)
        row = self._order(batch, envelope)
        self._set_status(row, event.status, envelope)
        if isinstance(event, Order.Submitted):
            row["submitted_at"] = envelope.at
        if isinstance(event, Order.Accepted):
            row["accepted_at"] = envelope.at
            if event.exchange_order_id is not None:
                row["exchange_order_id"] = event.exchange_order_id
        if isinstance(event, Order.Rejected | Order.CancelRejected | Order.Cancelled):
            row["reason"] = event.reason

    @handles(Order.Filled)
    def filled(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Order.Filled, envelope.event)
        row = self._order(batch, envelope)
        before = cast(Decimal, row["filled_quantity"])
        row["average_fill_price"] = average_after(
            before, cast(Decimal, row["average_fill_price"]), event.quantity, event.price
        )
        row["filled_quantity"] = before + event.quantity
        row["fees_quote"] = cast(Decimal, row["fees_quote"]) + event.fee_quote
        row["fills"] = cast(int, row["fills"]) + 1
        row["last_fill_at"] = envelope.at
        self._set_status(row, event.status, envelope)
