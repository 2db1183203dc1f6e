"""Audit reads of the event store: the events in global order, and an aggregate as it was."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.errors import NotFound
from application.store import TradingApplication


@dataclass(frozen=True)
class RecordedEvent:
    position: int
    event: Any


def replay(
    store: TradingApplication,
    *,
    aggregate_id: UUID | None = None,
    after: int = 0,
    upto: int | None = None,
    until: datetime | None = None,
    page: int = 1000,
) -> Iterator[RecordedEvent]:
    """The events after position ``after`` up to ``upto`` (inclusive) and recorded no later than
    ``until``, in global order; only one aggregate's when ``aggregate_id`` is given."""
    position = after
    while upto is None or position < upto:
        notifications = store.recorder.select_notifications(
            start=position, limit=page, stop=upto, inclusive_of_start=False
        )
        if not notifications:
            return
        for notification in notifications:
            if aggregate_id is not None and notification.originator_id != aggregate_id:
                continue
            event: Any = store.mapper.to_domain_event(notification)
            if until is not None and event.timestamp > until:
                return
            yield RecordedEvent(notification.id, event)
        position = notifications[-1].id


def state_at(
    store: TradingApplication, aggregate_id: UUID, *, version: int | None = None, at: datetime | None = None
) -> Any:
    """The aggregate at a version, or as it stood at a moment (its last event no later than ``at``)."""
    if version is None and at is not None:
        version = 0
        events: list[Any] = list(store.events.get(aggregate_id))
        for event in events:
            if event.timestamp > at:
                break
            version = event.originator_version
        if version == 0:
            raise NotFound("aggregate at that time", aggregate_id)
    if version is not None and version < 1:
        raise NotFound("version", version)
    aggregate = (
        store.find(Aggregate, aggregate_id) if version is None else _at_version(store, aggregate_id, version)
    )
    if aggregate is None:
        raise NotFound("aggregate", aggregate_id)
    return aggregate


def _at_version(store: TradingApplication, aggregate_id: UUID, version: int) -> Any:
    try:
        aggregate = store.load_at(aggregate_id, version)
    except Exception:
        return None
    if aggregate.version != version:
        raise NotFound("version", version)
    return aggregate
