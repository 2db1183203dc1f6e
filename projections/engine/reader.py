"""Reads the event store in global order and decodes each stored event into a domain event."""

from __future__ import annotations

import threading
from typing import Any, cast

from eventsourcing.persistence import Notification
from psycopg import sql
from psycopg.rows import tuple_row

from application.store import TradingApplication
from domain.aggregate import TradingAggregate
from projections.engine.errors import UndecodableEvent
from projections.engine.partitions import Partition
from projections.models.envelope import Envelope


class EventReader:
    def __init__(self, store: TradingApplication) -> None:
        self.store = store

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
        """Only the PostgreSQL event store can be read one partition at a time."""
        return hasattr(self.store.recorder, "datastore") and hasattr(self.store.recorder.datastore, "schema")

    def partition_notifications(
        self, after: int, limit: int, upto: int, partition: Partition
    ) -> list[Notification]:
        """Like ``notifications``, but only the stored events of the aggregates in this partition."""
        recorder: Any = self.store.recorder
        statement = sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {table} "
            "WHERE notification_id > %s AND notification_id <= %s "
            "AND mod(hashtext(originator_id::text) & 2147483647, %s) = %s "
            "ORDER BY notification_id LIMIT %s"
        ).format(table=sql.Identifier(recorder.datastore.schema, recorder.events_table_name))
        with recorder.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(statement, (after, upto, partition.count, partition.index, limit), prepare=True)
            rows = cursor.fetchall()
        return [
            Notification(id=r[0], originator_id=r[1], originator_version=r[2], topic=r[3], state=bytes(r[4]))
            for r in rows
        ]


class Wakeup:
    """Wakes a waiting worker when events are committed: PostgreSQL's LISTEN on the event store's
    channel (the recorder NOTIFYs it on every write); without it, the wait simply times out, which
    is also the fallback for a lost notification."""

    def __init__(self, store: TradingApplication) -> None:
        self._event = threading.Event()
        self._stop = threading.Event()
        self.ready = threading.Event()  # set once LISTEN is in place
        self._thread: threading.Thread | None = None
        recorder: Any = store.recorder
        if hasattr(recorder, "channel_name") and hasattr(recorder, "datastore"):
            self._thread = threading.Thread(target=self._listen, args=(recorder,), daemon=True, name="listen")
            self._thread.start()

    @property
    def listening(self) -> bool:
        return self._thread is not None

    def _listen(self, recorder: Any) -> None:
        while not self._stop.is_set():
            try:
                with recorder.datastore.get_connection() as conn:
                    conn.execute(sql.SQL("LISTEN {0}").format(sql.Identifier(recorder.channel_name)))
                    conn.commit()
                    self.ready.set()
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self._event.set()
            except Exception:  # a lost connection: polling carries on while we reconnect
                self.ready.clear()
                self._stop.wait(1.0)

    def wait(self, timeout: float) -> bool:
        """Waits for a notification; False when the wait timed out instead."""
        notified = self._event.wait(timeout)
        self._event.clear()
        return notified

    def poke(self) -> None:
        self._event.set()

    def close(self) -> None:
        self._stop.set()
        self._event.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
