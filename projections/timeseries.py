"""Time-series tables: TimescaleDB hypertables when the extension is available, otherwise plain
PostgreSQL monthly range partitions with BRIN indexes; plain tables on SQLite. All the
TimescaleDB-specific SQL of the project is in this module."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Connection, Index, Table, func, literal_column, text
from sqlalchemy.sql.elements import ColumnElement

from projections.schemas import quoted, schema_of

BUCKETS = {"1m": "1 minute", "1h": "1 hour", "1d": "1 day"}
_SQLITE_BUCKETS = {"1m": "%Y-%m-%dT%H:%M:00", "1h": "%Y-%m-%dT%H:00:00", "1d": "%Y-%m-%dT00:00:00"}


class TimeSeriesBackend(Enum):
    TIMESCALEDB = "timescaledb"
    POSTGRES_PARTITIONS = "postgresql range partitions"
    SQLITE = "sqlite"


def detect(conn: Connection) -> TimeSeriesBackend:
    """TimescaleDB when the extension is installed in the database, or can be."""
    if conn.dialect.name == "sqlite":
        return TimeSeriesBackend.SQLITE
    installed = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")).first()
    if installed:
        return TimeSeriesBackend.TIMESCALEDB
    available = conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")).first()
    if available:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
        return TimeSeriesBackend.TIMESCALEDB
    return TimeSeriesBackend.POSTGRES_PARTITIONS


def prepare(table: Table, time_column: str, backend: TimeSeriesBackend) -> None:
    """Adjusts a time-series table's definition before it is created."""
    if backend is TimeSeriesBackend.POSTGRES_PARTITIONS:
        table.dialect_options["postgresql"]["partition_by"] = f"RANGE ({time_column})"
        Index(f"brin_{table.name}_{time_column}", table.c[time_column], postgresql_using="brin")
    else:
        Index(f"ix_{table.name}_{time_column}", table.c[time_column])


def after_create(conn: Connection, table: Table, time_column: str, backend: TimeSeriesBackend) -> None:
    if backend is TimeSeriesBackend.TIMESCALEDB:
        conn.execute(
            text(
                "SELECT create_hypertable(CAST(:table AS regclass), :column, "
                "chunk_time_interval => INTERVAL '7 days', if_not_exists => TRUE)"
            ),
            {"table": quoted(conn, table.name), "column": time_column},
        )


PARTITION_LOCK_CLASS = 0x7470  # advisory-lock class of "create this month's partition"


class Partitions:
    """Creates monthly partitions on demand (plain PostgreSQL only) and remembers the ones made in
    committed transactions."""

    def __init__(self, backend: TimeSeriesBackend) -> None:
        self.backend = backend
        self._known: set[tuple[str | None, str, int, int]] = set()
        self._pending: set[tuple[str | None, str, int, int]] = set()

    def ensure(self, conn: Connection, table: Table, times: list[datetime]) -> None:
        if self.backend is not TimeSeriesBackend.POSTGRES_PARTITIONS:
            return
        schema = schema_of(conn)
        for year, month in sorted({(t.astimezone(UTC).year, t.astimezone(UTC).month) for t in times}):
            key = (schema, table.name, year, month)
            if key in self._known or key in self._pending:
                continue
            start = datetime(year, month, 1, tzinfo=UTC)
            end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
            partition = f"{table.name}_p{year:04d}{month:02d}"
            # a rebuild's processes may all need the same new month at once: one creates it
            conn.execute(
                text(f"SELECT pg_advisory_xact_lock({PARTITION_LOCK_CLASS}, hashtext(:name))"),
                {"name": f"{schema}.{partition}"},
            )
            conn.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {quoted(conn, partition)} "
                    f"PARTITION OF {quoted(conn, table.name)} "
                    f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
                )
            )
            self._pending.add(key)

    def committed(self) -> None:
        self._known |= self._pending
        self._pending.clear()

    def rolled_back(self) -> None:
        self._pending.clear()


def bucket(backend: TimeSeriesBackend, width: str, column: Any) -> ColumnElement[Any]:
    """The start of the ``width`` bucket (1m, 1h, 1d) holding ``column``, in the backend's own way."""
    if width not in BUCKETS:
        raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}")
    if backend is TimeSeriesBackend.SQLITE:
        return func.strftime(_SQLITE_BUCKETS[width], column)
    interval: ColumnElement[Any] = literal_column(f"INTERVAL '{BUCKETS[width]}'")
    if backend is TimeSeriesBackend.TIMESCALEDB:
        return func.time_bucket(interval, column)
    return func.date_bin(interval, column, literal_column("TIMESTAMPTZ '2000-01-01 00:00:00+00'"))
