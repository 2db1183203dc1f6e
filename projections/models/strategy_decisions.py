"""Read model `strategy_decisions`: what each bot's strategy decided on each closed candle (no
action included), with the parameters' fingerprint and the intents, so "why did this bot buy at
14:03?" is one query away."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Uuid

from domain.bot import Bot
from domain.notification import Delivery
from domain.order import Order
from domain.position import Position
from domain.signal import Signal
from infrastructure.columns import Document, UtcTime
from projections.models.base import Projection, Rows, handles
from projections.models.envelope import Envelope
from projections.models.plain import plain


class StrategyDecisionsProjection(Projection):
    name = "strategy_decisions"
    public = ("strategy_decisions",)
    ignores = frozenset(
        {
            Bot.Created,
            Bot.StatusChanged,
            Bot.RiskLimitsUpdated,
            Bot.KillSwitchTripped,
            Bot.KillSwitchReset,
            Bot.OrderAdmitted,
            Bot.OrderDenied,
            Bot.FillBooked,
            Bot.OrderReleased,
            Bot.StrategyParamsChanged,
            Order.Event,
            Position.Event,
            Signal.Event,
            Delivery.Event,
        }
    )

    @staticmethod
    def define(metadata: MetaData, suffix: str) -> dict[str, Table]:
        table = Table(
            f"strategy_decisions{suffix}",
            metadata,
            Column("bot_id", Uuid, primary_key=True),
            Column("candle_at", UtcTime, primary_key=True),
            Column("timeframe", String, nullable=False),
            Column("strategy", String, nullable=False),
            Column("params_hash", String, nullable=False),
            Column("intents", Document, nullable=False),
            Column("intent_count", Integer, nullable=False),
            Column("actor", String, nullable=False),
            Column("correlation_id", String, nullable=False),
            Column("at", UtcTime, nullable=False),
            Column("event_position", BigInteger, nullable=False),
        )
        Index(f"ix_strategy_decisions{suffix}_position", table.c.event_position)
        return {"strategy_decisions": table}

    def preload(self, batch: Rows, envelopes: Sequence[Envelope]) -> None:
        """Decisions are only ever inserted: nothing to read first."""

    @handles(Bot.DecisionMade)
    def decided(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Bot.DecisionMade, envelope.event)
        meta = event.meta
        batch.append(
            "strategy_decisions",
            {
                "bot_id": envelope.aggregate_id,
                "candle_at": event.candle_at,
                "timeframe": event.timeframe,
                "strategy": event.strategy,
                "params_hash": event.params_hash,
                "intents": plain(event.intents),
                "intent_count": len(event.intents),
                "actor": meta.actor,
                "correlation_id": meta.correlation_id,
                "at": envelope.at,
                "event_position": envelope.position,
            },
        )
