"""The base of every aggregate: events carry the metadata and the time of the stamp."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

from domain.values import EventMeta, Stamp


class TradingAggregate(Aggregate):
    """An eventsourcing aggregate whose events record who caused them and when (the clock's time)."""

    class Event(Aggregate.Event):
        meta: EventMeta

    class Created(Event, Aggregate.Created):
        pass

    def _emit(self, event_class: type[Aggregate.Event], stamp: Stamp, **fields: Any) -> None:
        self.trigger_event(event_class, timestamp=stamp.at, meta=stamp.meta, **fields)
