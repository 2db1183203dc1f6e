"""The eventsourcing Application: where aggregates are loaded from and saved to."""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from application.errors import NotFound
from domain.bot import Bot
from domain.position import Position

A = TypeVar("A", bound=Aggregate)


class TradingApplication(Application[UUID]):
    """Bots and positions live long, so they are snapshotted; orders are short and are not."""

    name = "tbot"
    snapshotting_intervals = {Bot: 50, Position: 100}

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(aggregate, cls):
            return None
        return aggregate

    def load(self, cls: type[A], aggregate_id: UUID, kind: str | None = None) -> A:
        aggregate = self.find(cls, aggregate_id)
        if aggregate is None:
            raise NotFound(kind or cls.__name__.lower(), aggregate_id)
        return aggregate

    def load_at(self, aggregate_id: UUID, version: int) -> Any:
        return self.repository.get(aggregate_id, version=version)

    def record(self, *aggregates: Aggregate | None) -> int:
        """Saves every pending event of the aggregates in one transaction and returns the global
        position of the last one; with nothing pending it appends nothing and returns the
        store's current position."""
        if not any(a is not None and a.pending_events for a in aggregates):
            return self.last_position()
        recordings = self.save(*aggregates)
        return max(r.notification.id for r in recordings)

    def last_position(self) -> int:
        return self.recorder.max_notification_id() or 0
