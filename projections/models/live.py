"""The hot read model: latest position and PnL per bot and symbol, and the live feed of every
event with its global position, owner and bot. Kept in a ``LiveStore`` (projections/ports.py):
Redis (hashes and a stream) or, in the embedded default, this process's memory."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from domain.bot import Bot
from domain.notification import Delivery
from domain.order import Order
from domain.position import Position
from domain.signal import Signal
from projections.models.envelope import Envelope
from projections.models.errors import ProjectionStopped
from projections.models.plain import event_payload
from projections.ports import LiveStore

NAME = "live"


@dataclass
class LiveUpdate:
    """Everything one batch changes, written atomically with the new position."""

    position: int
    feed: list[dict[str, str]] = field(default_factory=list)
    directory: dict[str, str] = field(default_factory=dict)
    positions: dict[str, dict[str, str]] = field(default_factory=dict)
    pnl: dict[str, dict[str, str]] = field(default_factory=dict)


class PositionMoved(Exception):
    """Another writer moved the live model's position: this batch is not applied."""


_JOINS_A_BOT = (Order.Placed, Position.Opened, Signal.Received)
"""The events that create an aggregate of a bot: the directory learns whose it is from them."""


def _directory_entry(bot_id: Any, owner: str) -> str:
    return json.dumps({"bot_id": str(bot_id), "owner": owner})


class LiveProjection:
    name = NAME

    def __init__(self, max_feed_length: int) -> None:
        self.max_feed_length = max_feed_length

    def apply(self, store: LiveStore, envelopes: Sequence[Envelope], expected: int | None = None) -> int:
        """Applies the events after the store's position (``expected``, when the caller has just
        read it), atomically; returns how many."""
        if expected is None:
            expected = store.position()
        todo = [e for e in envelopes if e.position > expected]
        if not todo:
            return 0
        update = self.build(store, todo)
        if not store.commit(expected, update, self.max_feed_length):
            raise PositionMoved(f"live position moved from {expected}")
        return len(todo)

    def build(self, store: LiveStore, envelopes: Sequence[Envelope]) -> LiveUpdate:
        update = LiveUpdate(position=envelopes[-1].position)
        needed = {str(e.aggregate_id) for e in envelopes}
        needed |= {str(e.event.bot_id) for e in envelopes if isinstance(e.event, _JOINS_A_BOT)}
        directory = dict(store.directory(sorted(needed)))
        bots = {json.loads(entry)["bot_id"] for entry in directory.values()}
        bots |= {str(e.event.bot_id) for e in envelopes if isinstance(e.event, Position.Opened)}
        positions = {bot: dict(symbols) for bot, symbols in store.positions(sorted(bots)).items()}
        for envelope in envelopes:
            try:
                self._apply(envelope, update, directory, positions)
            except Exception as error:
                reason = f"{type(error).__name__}: {error}"
                raise ProjectionStopped(self.name, envelope.position, envelope.type_name, reason) from error
        return update

    def _apply(
        self,
        envelope: Envelope,
        update: LiveUpdate,
        directory: dict[str, str],
        positions: dict[str, dict[str, str]],
    ) -> None:
        event = envelope.event
        aggregate = str(envelope.aggregate_id)
        if isinstance(event, Delivery.Sent | Delivery.DeadLettered):
            return  # a notification's delivery belongs to a user, not a bot: never on the feed
        if isinstance(event, Bot.Created):
            directory[aggregate] = update.directory[aggregate] = _directory_entry(aggregate, event.owner)
        elif isinstance(event, _JOINS_A_BOT):
            bot = json.loads(directory[str(event.bot_id)])
            directory[aggregate] = update.directory[aggregate] = _directory_entry(event.bot_id, bot["owner"])
        elif not isinstance(event, Bot.Event | Order.Event | Position.Event | Signal.Event):
            raise LookupError("not an event of a bot, an order, a position or a signal")
        if aggregate not in directory:
            raise LookupError(f"aggregate {aggregate} was never created")
        owner = json.loads(directory[aggregate])
        if isinstance(event, Position.Opened | Position.FillApplied):
            self._position(envelope, owner["bot_id"], update, positions)
        update.feed.append(feed_entry(envelope, owner["bot_id"], owner["owner"]))

    @staticmethod
    def _position(
        envelope: Envelope, bot_id: str, update: LiveUpdate, positions: dict[str, dict[str, str]]
    ) -> None:
        event = envelope.event
        symbols = positions.setdefault(bot_id, {})
        if isinstance(event, Position.Opened):
            symbol = str(event.symbol)
            entry: dict[str, Any] = {
                "position_id": str(envelope.aggregate_id),
                "symbol": symbol,
                "quantity": "0",
                "average_price": "0",
                "realized_pnl": "0",
                "fees_paid": "0",
            }
        else:
            fill = cast(Position.FillApplied, event)
            symbol = next(
                s
                for s, data in symbols.items()
                if json.loads(data)["position_id"] == str(envelope.aggregate_id)
            )
            entry = json.loads(symbols[symbol])
            entry.update(
                quantity=str(fill.quantity),
                average_price=str(fill.average_price),
                realized_pnl=str(fill.realized_pnl),
                fees_paid=str(Decimal(entry["fees_paid"]) + fill.fee_quote),
            )
        entry.update(event_position=envelope.position, at=envelope.at.isoformat())
        symbols[symbol] = json.dumps(entry)
        update.positions.setdefault(bot_id, {})[symbol] = symbols[symbol]
        update.pnl[bot_id] = _bot_pnl(symbols.values(), envelope)


def feed_entry(envelope: Envelope, bot_id: str, owner: str) -> dict[str, str]:
    """The live feed's entry for one event: its global position, the bot and owner it belongs to."""
    event = envelope.event
    return {
        "position": str(envelope.position),
        "type": envelope.type_name,
        "aggregate_id": str(envelope.aggregate_id),
        "version": str(envelope.version),
        "bot_id": bot_id,
        "owner": owner,
        "at": envelope.at.isoformat(),
        "actor": event.meta.actor,
        "correlation_id": event.meta.correlation_id,
        "payload": json.dumps(event_payload(event)),
    }


def feed_entries(envelopes: Sequence[Envelope], store: LiveStore) -> list[dict[str, str]]:
    """Feed entries for events the live model has already applied, with their owners from its
    directory (how the feed serves what its stream no longer holds)."""
    found = store.directory(sorted({str(e.aggregate_id) for e in envelopes}))
    entries = []
    for envelope in envelopes:
        owner = json.loads(found[str(envelope.aggregate_id)])
        entries.append(feed_entry(envelope, owner["bot_id"], owner["owner"]))
    return entries


def _bot_pnl(entries: Any, envelope: Envelope) -> dict[str, str]:
    decoded = [json.loads(entry) for entry in entries]
    realized = sum((Decimal(e["realized_pnl"]) for e in decoded), Decimal(0))
    fees = sum((Decimal(e["fees_paid"]) for e in decoded), Decimal(0))
    return {
        "realized_pnl": str(realized),
        "fees_paid": str(fees),
        "event_position": str(envelope.position),
        "at": envelope.at.isoformat(),
    }
