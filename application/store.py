"""The eventsourcing Application: where aggregates are loaded from and saved to."""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from opentelemetry import trace

from application.errors import NotFound
from domain.bot import Bot
from domain.position import Position

A = TypeVar("A", bound=Aggregate)
_tracer = trace.get_tracer("tbot.event_store")


class TradingApplication(Application[UUID]):
    """Bots and positions live long, so they are snapshotted; orders are short and are not."""

    name = "tbot"
    snapshotting_intervals = {Bot: 50, Position: 100}

    def find(self, cls: type[A], aggregate_id: UUID, read_only: bool = False) -> A | None:
        """The aggregate, or None. ``read_only``: the caller only looks, so with the aggregate cache
        on it gets the cached instance itself rather than a private copy to change."""
        try:
            aggregate: object = self.repository.get(aggregate_id, deepcopy_from_cache=not read_only)
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
        pending = [e for a in aggregates if a is not None for e in a.pending_events]
        if not pending:
            return self.last_position()
        with _tracer.start_as_current_span("event_store.append") as span:
            span.set_attribute("tbot.events", len(pending))
            meta = getattr(pending[0], "meta", None)
            if meta is not None:
                span.set_attribute("tbot.correlation_id", meta.correlation_id)
            recordings = self.save(*aggregates)
            position = max(r.notification.id for r in recordings)
            span.set_attribute("tbot.position", position)
        return position

    def last_position(self) -> int:
        return self.recorder.max_notification_id() or 0
