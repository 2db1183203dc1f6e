"""Read model `bots`: one row per bot with its status, strategy, limits, kill switch and counters
(orders admitted and denied, fills, realized PnL). Open orders are counted from `orders`."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import cast

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, Uuid

from domain.bot import Bot
from domain.notification import Delivery
from domain.order import Order
from domain.position import Position
from domain.signal import Signal
from infrastructure.columns import Document, Money, UtcTime
from projections.models.base import Projection, Rows, handles, stamp
from projections.models.envelope import Envelope
from projections.models.plain import plain


class BotsProjection(Projection):
    name = "bots"
    public = ("bots",)
    ignores = frozenset({Order.Event, Position.Event, Signal.Event, Delivery.Event})

    @staticmethod
    def define(metadata: MetaData, suffix: str) -> dict[str, Table]:
        table = Table(
            f"bots{suffix}",
            metadata,
            Column("bot_id", Uuid, primary_key=True),
            Column("owner", String, nullable=False),
            Column("name", String, nullable=False),
            Column("strategy", String, nullable=False),
            Column("params", Document, nullable=False),
            Column("exchange_account", String, nullable=False),
            Column("allowed_symbols", Document, nullable=False),
            Column("limits", Document, nullable=False),
            Column("status", String, nullable=False),
            Column("kill_switch", Boolean, nullable=False),
            Column("kill_switch_reason", String),
            Column("orders_admitted", Integer, nullable=False),
            Column("orders_denied", Integer, nullable=False),
            Column("fills", Integer, nullable=False),
            Column("realized_pnl", Money, nullable=False),
            Column("created_at", UtcTime, nullable=False),
            Column("updated_at", UtcTime, nullable=False),
            Column("version", Integer, nullable=False),
            Column("event_position", BigInteger, nullable=False),
        )
        Index(f"ix_bots{suffix}_owner", table.c.owner)
        return {"bots": table}

    def preload(self, batch: Rows, envelopes: Sequence[Envelope]) -> None:
        batch.preload("bots", [e.aggregate_id for e in envelopes if not isinstance(e.event, Bot.Created)])

    def _bot(self, batch: Rows, envelope: Envelope) -> dict[str, object]:
        row = batch.row("bots", envelope.aggregate_id)
        if row is None:
            raise LookupError(f"bot {envelope.aggregate_id} has no row (its creation was never applied)")
        batch.put("bots", envelope.aggregate_id, stamp(row, envelope))
        return row

    @handles(Bot.Created)
    def created(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Bot.Created, envelope.event)
        row = {
            "bot_id": envelope.aggregate_id,
            "owner": event.owner,
            "name": event.name,
            "strategy": event.strategy,
            "params": plain(event.params),
            "exchange_account": event.exchange_account,
            "allowed_symbols": list(event.allowed_symbols),
            "limits": plain(event.limits),
            "status": "created",
            "kill_switch": False,
            "kill_switch_reason": None,
            "orders_admitted": 0,
            "orders_denied": 0,
            "fills": 0,
            "realized_pnl": Decimal(0),
            "created_at": envelope.at,
        }
        batch.put("bots", envelope.aggregate_id, stamp(row, envelope))

    @handles(Bot.StatusChanged)
    def status_changed(self, batch: Rows, envelope: Envelope) -> None:
        self._bot(batch, envelope)["status"] = cast(Bot.StatusChanged, envelope.event).status.value

    @handles(Bot.RiskLimitsUpdated)
    def limits_updated(self, batch: Rows, envelope: Envelope) -> None:
        self._bot(batch, envelope)["limits"] = plain(cast(Bot.RiskLimitsUpdated, envelope.event).limits)

    @handles(Bot.KillSwitchTripped)
    def kill_switch_tripped(self, batch: Rows, envelope: Envelope) -> None:
        row = self._bot(batch, envelope)
        row["kill_switch"] = True
        row["kill_switch_reason"] = cast(Bot.KillSwitchTripped, envelope.event).reason

    @handles(Bot.KillSwitchReset)
    def kill_switch_reset(self, batch: Rows, envelope: Envelope) -> None:
        row = self._bot(batch, envelope)
        row["kill_switch"] = False
        row["kill_switch_reason"] = None

    @handles(Bot.OrderAdmitted)
    def order_admitted(self, batch: Rows, envelope: Envelope) -> None:
        row = self._bot(batch, envelope)
        row["orders_admitted"] = cast(int, row["orders_admitted"]) + 1

    @handles(Bot.OrderDenied)
    def order_denied(self, batch: Rows, envelope: Envelope) -> None:
        row = self._bot(batch, envelope)
        row["orders_denied"] = cast(int, row["orders_denied"]) + 1

    @handles(Bot.FillBooked)
    def fill_booked(self, batch: Rows, envelope: Envelope) -> None:
        row = self._bot(batch, envelope)
        row["fills"] = cast(int, row["fills"]) + 1
        row["realized_pnl"] = (
            cast(Decimal, row["realized_pnl"]) + cast(Bot.FillBooked, envelope.event).realized_pnl
        )

    @handles(Bot.OrderReleased)
    def order_released(self, batch: Rows, envelope: Envelope) -> None:
        self._bot(batch, envelope)  # its open orders are counted from `orders`; the row moves on

    @handles(Bot.StrategyParamsChanged)
    def params_changed(self, batch: Rows, envelope: Envelope) -> None:
        self._bot(batch, envelope)["params"] = plain(cast(Bot.StrategyParamsChanged, envelope.event).params)

    @handles(Bot.DecisionMade)
    def decision_made(self, batch: Rows, envelope: Envelope) -> None:
        self._bot(batch, envelope)  # decisions are the `strategy_decisions` model's; the row moves on
