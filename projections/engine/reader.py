"""Reads the event store in global order and decodes each stored event into a domain event; on a
store that can (``StorePartitions``, PostgreSQL), also one partition of the aggregates at a time."""

from __future__ import annotations

from typing import cast

from eventsourcing.persistence import Notification

from application.store import TradingApplication
from domain.aggregate import TradingAggregate
from projections.engine.errors import UndecodableEvent
from projections.engine.partitions import Partition
from projections.models.envelope import Envelope
from projections.ports import StorePartitions


class EventReader:
    def __init__(self, store: TradingApplication, partitions: StorePartitions | None) -> None:
        """``partitions``: the store's partitioned read, or None where it has none."""
        self.store = store
        self.partitions = partitions

    def head(self) -> int:
        return self.store.last_position()

    def notifications(self, after: int, limit: int, upto: int | None = None) -> list[Notification]:
        """Up to ``limit`` stored events after position ``after`` (and not after ``upto``), in order."""
        return list(
            self.store.recorder.select_notifications(
                start=after, limit=limit, stop=upto, inclusive_of_start=False
            )
        )

    def decode(self, notification: Notification) -> Envelope:
        try:
            event = self.store.mapper.to_domain_event(notification)
        except Exception as error:
            raise UndecodableEvent(notification.id, notification.topic, error) from error
        return Envelope(notification.id, cast(TradingAggregate.Event, event))

    def read(self, after: int, limit: int, upto: int | None = None) -> list[Envelope]:
        """Up to ``limit`` events after position ``after`` (and not after ``upto``), in order."""
        return [self.decode(n) for n in self.notifications(after, limit, upto)]

    @property
    def can_partition(self) -> bool:
        """Only a store with a partitioned read (PostgreSQL) can be read one partition at a time."""
        return self.partitions is not None

    def partition_notifications(
        self, after: int, limit: int, upto: int, partition: Partition
    ) -> list[Notification]:
        """Like ``notifications``, but only the stored events of the aggregates in this partition."""
        if self.partitions is None:
            raise RuntimeError("this event store cannot be read one partition at a time")
        return self.partitions.notifications(after, limit, upto, partition.index, partition.count)
