"""Read model `risk_decisions`: every order the risk rules admitted or denied, with the request,
the reason codes, the reference price, who asked and when."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import BigInteger, Column, Index, MetaData, String, Table, Uuid

from domain.bot import Bot
from domain.notification import Delivery
from domain.order import Order
from domain.orders import OrderRequest
from domain.position import Position
from domain.signal import Signal
from infrastructure.columns import Document, Money, UtcTime
from projections.models.base import Projection, Rows, handles
from projections.models.envelope import Envelope
from projections.models.plain import plain

_BOT_EVENTS_WITHOUT_DECISIONS = frozenset(
    {
        Bot.Created,
        Bot.StatusChanged,
        Bot.RiskLimitsUpdated,
        Bot.KillSwitchTripped,
        Bot.KillSwitchReset,
        Bot.FillBooked,
        Bot.OrderReleased,
        Bot.StrategyParamsChanged,
        Bot.DecisionMade,
    }
)


class RiskDecisionsProjection(Projection):
    name = "risk_decisions"
    public = ("risk_decisions",)
    ignores = _BOT_EVENTS_WITHOUT_DECISIONS | {Order.Event, Position.Event, Signal.Event, Delivery.Event}

    @staticmethod
    def define(metadata: MetaData, suffix: str) -> dict[str, Table]:
        table = Table(
            f"risk_decisions{suffix}",
            metadata,
            Column("decision_id", Uuid, primary_key=True),
            Column("decision", String, nullable=False),
            Column("bot_id", Uuid, nullable=False),
            Column("client_order_id", String, nullable=False),
            Column("symbol", String, nullable=False),
            Column("side", String, nullable=False),
            Column("order_type", String, nullable=False),
            Column("quantity", Money, nullable=False),
            Column("price", Money),
            Column("request", Document, nullable=False),
            Column("reason_codes", Document, nullable=False),
            Column("reference_price", Money),
            Column("actor", String, nullable=False),
            Column("correlation_id", String, nullable=False),
            Column("at", UtcTime, nullable=False),
            Column("event_position", BigInteger, nullable=False),
        )
        Index(f"ix_risk_decisions{suffix}_bot_at", table.c.bot_id, table.c.at)
        return {"risk_decisions": table}

    def _row(
        self, envelope: Envelope, decision_id: Any, decision: str, request: OrderRequest
    ) -> dict[str, Any]:
        meta = envelope.event.meta
        return {
            "decision_id": decision_id,
            "decision": decision,
            "bot_id": envelope.aggregate_id,
            "client_order_id": request.client_order_id,
            "symbol": str(request.symbol),
            "side": request.side.value,
            "order_type": request.order_type.value,
            "quantity": request.quantity,
            "price": request.price,
            "request": plain(request),
            "actor": meta.actor,
            "correlation_id": meta.correlation_id,
            "at": envelope.at,
            "event_position": envelope.position,
        }

    def preload(self, batch: Rows, envelopes: Sequence[Envelope]) -> None:
        """Decisions are only ever inserted: nothing to read first."""

    @handles(Bot.OrderAdmitted)
    def admitted(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Bot.OrderAdmitted, envelope.event)
        row = self._row(envelope, event.order_id, "admitted", event.request)
        row.update(reason_codes=[], reference_price=event.reference_price)
        batch.append("risk_decisions", row)

    @handles(Bot.OrderDenied)
    def denied(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Bot.OrderDenied, envelope.event)
        row = self._row(envelope, event.denial_id, "denied", event.request)
        row.update(
            reason_codes=[code.value for code in event.reason_codes], reference_price=event.reference_price
        )
        batch.append("risk_decisions", row)
