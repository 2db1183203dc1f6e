"""Time-series tables (the read side's ``TimeSeries`` port, projections/ports.py): TimescaleDB
hypertables when the extension is available, otherwise plain PostgreSQL monthly range partitions
with BRIN indexes; plain tables on SQLite. ``detect`` picks the one the database supports. All the
TimescaleDB-specific SQL of the project is in this module."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Index, Table, func, literal_column, text
from sqlalchemy.sql.elements import ColumnElement

from infrastructure.read_store.schemas import quoted, schema_of

BUCKETS = {"1m": "1 minute", "1h": "1 hour", "1d": "1 day"}
_SQLITE_BUCKETS = {"1m": "%Y-%m-%dT%H:%M:00", "1h": "%Y-%m-%dT%H:00:00", "1d": "%Y-%m-%dT00:00:00"}
PARTITION_LOCK_CLASS = 0x7470  # advisory-lock class of "create this month's partition"


def _interval(width: str) -> ColumnElement[Any]:
    if width not in BUCKETS:
        raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}")
    return literal_column(f"INTERVAL '{BUCKETS[width]}'")


class NoPartitions:
    """Tables that need no partitions made for them."""

    def ensure(self, conn: Connection, table: Table, times: list[datetime]) -> None:
        pass

    def committed(self) -> None:
        pass

    def rolled_back(self) -> None:
        pass


class MonthlyPartitions:
    """Creates monthly partitions on demand and remembers the ones made in committed transactions."""

    def __init__(self) -> None:
        self._known: set[tuple[str | None, str, int, int]] = set()
        self._pending: set[tuple[str | None, str, int, int]] = set()

    def ensure(self, conn: Connection, table: Table, times: list[datetime]) -> None:
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


class TimescaleTables:
    """TimescaleDB hypertables in 7-day chunks, bucketed with ``time_bucket``."""

    kind = "timescaledb"

    def prepare(self, table: Table, time_column: str) -> None:
        Index(f"ix_{table.name}_{time_column}", table.c[time_column])

    def after_create(self, conn: Connection, table: Table, time_column: str) -> None:
        conn.execute(
            text(
                "SELECT create_hypertable(CAST(:table AS regclass), :column, "
                "chunk_time_interval => INTERVAL '7 days', if_not_exists => TRUE)"
            ),
            {"table": quoted(conn, table.name), "column": time_column},
        )

    def partitions(self) -> NoPartitions:
        return NoPartitions()

    def bucket(self, width: str, column: Any) -> ColumnElement[Any]:
        return func.time_bucket(_interval(width), column)


class PartitionedTables:
    """Plain PostgreSQL: monthly range partitions, made on demand, with a BRIN index on the time
    column; bucketed with ``date_bin``."""

    kind = "postgresql range partitions"

    def prepare(self, table: Table, time_column: str) -> None:
        table.dialect_options["postgresql"]["partition_by"] = f"RANGE ({time_column})"
        Index(f"brin_{table.name}_{time_column}", table.c[time_column], postgresql_using="brin")

    def after_create(self, conn: Connection, table: Table, time_column: str) -> None:
        pass

    def partitions(self) -> MonthlyPartitions:
        return MonthlyPartitions()

    def bucket(self, width: str, column: Any) -> ColumnElement[Any]:
        return func.date_bin(_interval(width), column, literal_column("TIMESTAMPTZ '2000-01-01 00:00:00+00'"))


class PlainTables:
    """SQLite: plain tables with an index on the time column, bucketed with ``strftime``."""

    kind = "sqlite"

    def prepare(self, table: Table, time_column: str) -> None:
        Index(f"ix_{table.name}_{time_column}", table.c[time_column])

    def after_create(self, conn: Connection, table: Table, time_column: str) -> None:
        pass

    def partitions(self) -> NoPartitions:
        return NoPartitions()

    def bucket(self, width: str, column: Any) -> ColumnElement[Any]:
        if width not in BUCKETS:
            raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}")
        return func.strftime(_SQLITE_BUCKETS[width], column)


TIMESCALEDB = TimescaleTables()
POSTGRES_PARTITIONS = PartitionedTables()
SQLITE = PlainTables()
TimeSeriesBackend = TimescaleTables | PartitionedTables | PlainTables


def detect(conn: Connection) -> TimeSeriesBackend:
    """TimescaleDB when the extension is installed in the database, or can be."""
    if conn.dialect.name == "sqlite":
        return SQLITE
    installed = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")).first()
    if installed:
        return TIMESCALEDB
    available = conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")).first()
    if available:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
        return TIMESCALEDB
    return POSTGRES_PARTITIONS
