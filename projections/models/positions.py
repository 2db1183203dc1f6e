"""Read model `positions`: the current quantity, average price and realized PnL per bot and symbol."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Uuid

from domain.bot import Bot
from domain.notification import Delivery
from domain.order import Order
from domain.position import Position
from domain.signal import Signal
from infrastructure.columns import Money, UtcTime
from projections.models.base import Projection, Rows, handles, stamp
from projections.models.envelope import Envelope


class PositionsProjection(Projection):
    name = "positions"
    public = ("positions",)
    ignores = frozenset(
        {
            Bot.Event,
            Order.Event,
            Position.ProtectionSet,
            Position.ProtectionFired,
            Signal.Event,
            Delivery.Event,
        }
    )

    @staticmethod
    def define(metadata: MetaData, suffix: str) -> dict[str, Table]:
        table = Table(
            f"positions{suffix}",
            metadata,
            Column("position_id", Uuid, primary_key=True),
            Column("bot_id", Uuid, nullable=False),
            Column("symbol", String, nullable=False),
            Column("quantity", Money, nullable=False),
            Column("average_price", Money, nullable=False),
            Column("realized_pnl", Money, nullable=False),
            Column("fees_paid", Money, nullable=False),
            Column("fills", Integer, nullable=False),
            Column("opened_at", UtcTime, nullable=False),
            Column("updated_at", UtcTime, nullable=False),
            Column("version", Integer, nullable=False),
            Column("event_position", BigInteger, nullable=False),
        )
        Index(f"ix_positions{suffix}_bot_symbol", table.c.bot_id, table.c.symbol, unique=True)
        return {"positions": table}

    def preload(self, batch: Rows, envelopes: Sequence[Envelope]) -> None:
        keys = [e.aggregate_id for e in envelopes if not isinstance(e.event, Position.Opened)]
        batch.preload("positions", keys)

    @handles(Position.Opened)
    def opened(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Position.Opened, envelope.event)
        row: dict[str, Any] = {
            "position_id": envelope.aggregate_id,
            "bot_id": event.bot_id,
            "symbol": str(event.symbol),
            "quantity": Decimal(0),
            "average_price": Decimal(0),
            "realized_pnl": Decimal(0),
            "fees_paid": Decimal(0),
            "fills": 0,
            "opened_at": envelope.at,
        }
        batch.put("positions", envelope.aggregate_id, stamp(row, envelope))

    @handles(Position.FillApplied)
    def fill_applied(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Position.FillApplied, envelope.event)
        row = batch.row("positions", envelope.aggregate_id)
        if row is None:
            raise LookupError(f"position {envelope.aggregate_id} was never opened")
        row["quantity"] = event.quantity
        row["average_price"] = event.average_price
        row["realized_pnl"] = event.realized_pnl
        row["fees_paid"] = cast(Decimal, row["fees_paid"]) + event.fee_quote
        row["fills"] = cast(int, row["fills"]) + 1
        batch.put("positions", envelope.aggregate_id, stamp(row, envelope))
