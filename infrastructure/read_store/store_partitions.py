"""Reads PostgreSQL's event store one partition of the aggregates at a time (the read side's
``StorePartitions`` port, projections/ports.py), so a rebuild can replay each partition in a process
of its own. The embedded SQLite store has no such read: a rebuild there replays in one process."""

from __future__ import annotations

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql
from psycopg.rows import tuple_row

from application.store import TradingApplication


class PostgresStorePartitions:
    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        self.recorder = recorder

    def notifications(self, after: int, limit: int, upto: int, index: int, count: int) -> list[Notification]:
        """Like the recorder's ``select_notifications``, but only the stored events of the
        aggregates whose id hashes into partition ``index`` of ``count``."""
        recorder = self.recorder
        statement = sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {table} "
            "WHERE notification_id > %s AND notification_id <= %s "
            "AND mod(hashtext(originator_id::text) & 2147483647, %s) = %s "
            "ORDER BY notification_id LIMIT %s"
        ).format(table=sql.Identifier(recorder.datastore.schema, recorder.events_table_name))
        with recorder.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(statement, (after, upto, count, index, limit), prepare=True)
            rows = cursor.fetchall()
        return [
            Notification(id=r[0], originator_id=r[1], originator_version=r[2], topic=r[3], state=bytes(r[4]))
            for r in rows
        ]


def store_partitions(store: TradingApplication) -> PostgresStorePartitions | None:
    """The partitioned read of this event store; None for a store that has none (SQLite)."""
    recorder = store.recorder
    if isinstance(recorder, PostgresApplicationRecorder):
        return PostgresStorePartitions(recorder)
    return None
