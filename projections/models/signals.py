"""Read model `signals`: one row per signal message a bot received, with what became of it: the
text (the latest edit's), the plan read from it or the reason codes it was refused with, which
reader read it, the orders placed, denied and cancelled for it. Listed in the order received."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

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


class SignalsProjection(Projection):
    name = "signals"
    public = ("signals",)
    ignores = frozenset({Bot.Event, Order.Event, Position.Event, Delivery.Event})

    @staticmethod
    def define(metadata: MetaData, suffix: str) -> dict[str, Table]:
        table = Table(
            f"signals{suffix}",
            metadata,
            Column("signal_id", Uuid, primary_key=True),
            Column("bot_id", Uuid, nullable=False),
            Column("source", String, nullable=False),
            Column("message_id", String, nullable=False),
            Column("text", String, nullable=False),
            Column("edits", Integer, nullable=False),
            Column("last_edit", String),  # applied, FILLED or CALLED_OFF: what the latest edit did
            Column("status", String, nullable=False),
            Column("reader", String, nullable=False),
            Column("reasons", Document, nullable=False),
            Column("symbol", String),
            Column("side", String),
            Column("entry_kind", String),
            Column("entries", Document),
            Column("stop_loss", Money),
            Column("take_profits", Document),
            Column("leverage", Money),
            Column("leverage_ignored", Boolean),
            Column("action", String),  # cancel or close, for a message calling signals off
            Column("orders", Document, nullable=False),
            Column("denied", Document, nullable=False),
            Column("cancelled", Document, nullable=False),
            Column("received_at", UtcTime, nullable=False),
            Column("received_position", BigInteger, nullable=False),
            Column("updated_at", UtcTime, nullable=False),
            Column("version", Integer, nullable=False),
            Column("event_position", BigInteger, nullable=False),
        )
        Index(f"ix_signals{suffix}_bot", table.c.bot_id, table.c.received_position)
        return {"signals": table}

    def preload(self, batch: Rows, envelopes: Sequence[Envelope]) -> None:
        batch.preload(
            "signals", [e.aggregate_id for e in envelopes if not isinstance(e.event, Signal.Received)]
        )

    def _signal(self, batch: Rows, envelope: Envelope) -> dict[str, Any]:
        row = batch.row("signals", envelope.aggregate_id)
        if row is None:
            raise LookupError(f"signal {envelope.aggregate_id} has no row (its receipt was never applied)")
        batch.put("signals", envelope.aggregate_id, stamp(row, envelope))
        return row

    @handles(Signal.Received)
    def received(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Signal.Received, envelope.event)
        row: dict[str, Any] = {
            "signal_id": envelope.aggregate_id,
            "bot_id": event.bot_id,
            "source": event.source,
            "message_id": event.message_id,
            "text": event.text,
            "edits": 0,
            "last_edit": None,
            "status": "received",
            "reader": "rules",
            "reasons": [],
            **_NO_PLAN,
            "action": None,
            "orders": [],
            "denied": [],
            "cancelled": [],
            "received_at": envelope.at,
            "received_position": envelope.position,
        }
        batch.put("signals", envelope.aggregate_id, stamp(row, envelope))

    @handles(Signal.Parsed)
    def parsed(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Signal.Parsed, envelope.event)
        self._signal(batch, envelope).update(
            status="parsed",
            reader=event.reader,
            reasons=[],
            symbol=str(event.symbol),
            side=event.side.value,
            entry_kind=event.entry_kind,
            entries=plain(event.entries),
            stop_loss=event.stop_loss,
            take_profits=[
                {"price": plain(price), "fraction": plain(fraction)}
                for price, fraction in zip(event.take_profits, event.take_profit_fractions, strict=True)
            ],
            leverage=event.leverage,
            leverage_ignored=event.leverage_ignored,
        )

    @handles(Signal.Rejected)
    def rejected(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Signal.Rejected, envelope.event)
        self._signal(batch, envelope).update(
            status="rejected", reader=event.reader, reasons=list(event.reasons), **_NO_PLAN
        )

    @handles(Signal.Edited)
    def edited(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Signal.Edited, envelope.event)
        row = self._signal(batch, envelope)
        last_edit = "applied" if event.applied else event.reason
        row.update(text=event.text, edits=row["edits"] + 1, last_edit=last_edit)

    @handles(Signal.CalledOff)
    def called_off(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Signal.CalledOff, envelope.event)
        self._signal(batch, envelope).update(
            status="called_off", action=event.action, symbol=str(event.symbol), reasons=[]
        )

    @handles(Signal.Executed)
    def executed(self, batch: Rows, envelope: Envelope) -> None:
        event = cast(Signal.Executed, envelope.event)
        self._signal(batch, envelope).update(
            status="executed",
            orders=plain(event.orders),
            denied=plain(event.denied),
            cancelled=plain(event.cancelled),
        )


_NO_PLAN: dict[str, Any] = {
    "symbol": None,
    "side": None,
    "entry_kind": None,
    "entries": None,
    "stop_loss": None,
    "take_profits": None,
    "leverage": None,
    "leverage_ignored": None,
}
"""The plan's columns of a signal not (or no longer) read as one."""
