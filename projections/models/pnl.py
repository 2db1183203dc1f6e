"""Read model `pnl`: after every fill, the position and its realized PnL per bot and symbol (a time
series, bucketed with time_bucket or date_bin). Keeps its own index of positions (`pnl_positions`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import BigInteger, Column, Index, MetaData, PrimaryKeyConstraint, String, Table, Uuid

from domain.bot import Bot
from domain.notification import Delivery
from domain.order import Order
from domain.position import Position
from domain.signal import Signal
from infrastructure.columns import Money, UtcTime
from projections.models.base import Projection, Rows, handles
from projections.models.envelope import Envelope


class PnlProjection(Projection):
    name = "pnl"
    public = ("pnl",)
    time_columns = {"pnl": "at"}
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
        pnl = Table(
            f"pnl{suffix}",
            metadata,
            Column("at", UtcTime, nullable=False),
            Column("event_position", BigInteger, nullable=False),
            Column("position_id", Uuid, nullable=False),
            Column("bot_id", Uuid, nullable=False),
            Column("symbol", String, nullable=False),
            Column("order_id", Uuid, nullable=False),
            Column("trade_id", String, nullable=False),
            Column("fill_price", Money, nullable=False),
            Column("signed_quantity", Money, nullable=False),
            Column("quantity", Money, nullable=False),
            Column("average_price", Money, nullable=False),
            Column("realized_pnl", Money, nullable=False),
            Column("realized_delta", Money, nullable=False),
            PrimaryKeyConstraint("event_position", "at"),
        )
        Index(f"ix_pnl{suffix}_bot_symbol_at", pnl.c.bot_id, pnl.c.symbol, pnl.c.at)
        positions = Table(
            f"pnl_positions{suffix}",
            metadata,
            Column("position_id", Uuid, primary_key=True),
            Column("bot_id", Uuid, nullable=False),
            Column("symbol", String, nullable=False),
        )
        return {"pnl": pnl, "pnl_positions": positions}

    def preload(self, batch: Rows, envelopes: Sequence[Envelope]) -> None:
        keys = [e.aggregate_id for e in envelopes if isinstance(e.event, Position.FillApplied)]
        batch.preload("pnl_positions", keys)

    @handles(Position.Opened)
    def opened(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Position.Opened, envelope.event)
        row = {"position_id": envelope.aggregate_id, "bot_id": event.bot_id, "symbol": str(event.symbol)}
        batch.put("pnl_positions", envelope.aggregate_id, row)

    @handles(Position.FillApplied)
    def fill_applied(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Position.FillApplied, envelope.event)
        position = batch.row("pnl_positions", envelope.aggregate_id)
        if position is None:
            raise LookupError(f"position {envelope.aggregate_id} was never opened")
        row: dict[str, Any] = {
            "at": envelope.at,
            "event_position": envelope.position,
            "position_id": envelope.aggregate_id,
            "bot_id": position["bot_id"],
            "symbol": position["symbol"],
            "order_id": event.order_id,
            "trade_id": event.trade_id,
            "fill_price": event.price,
            "signed_quantity": event.signed_quantity,
            "quantity": event.quantity,
            "average_price": event.average_price,
            "realized_pnl": event.realized_pnl,
            "realized_delta": event.realized_delta,
        }
        batch.append("pnl", row)
